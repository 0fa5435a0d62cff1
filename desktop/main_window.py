"""The main window: sidebar, page stack, menus and status bar — and the place other pages plug in.

Integration API (for the Playground, Experiments and Boards pages):
    window.add_page(key, title, widget, shortcut=None, icon=None, follows_stream=False)
        # a new page, or a new widget for an existing key
    window.show_page(key); window.page(key); window.current_page     # "playground", "boards", "requests", ...
    window.streamSelected(str); window.current_stream; window.select_stream(name)
    window.pageChanged(str); window.boardSelected(str)
A page added with follows_stream=True gets `set_stream(name)` whenever the sidebar's stream changes (the
Requests and Boards pages view that stream; the Playground and Experiments keep their own target stream,
so a click in the sidebar never redirects where they log).  Any page may define `save_state()`, called
when the window closes.

The Boards page's file actions (Open board file…, Export board…, PNG, CSV) sit in the File menu; its
`boardsChanged` refreshes the sidebar's saved boards and a click on a saved board calls `open_board(name)`.
The Playground's `load_record(record)` receives "Open in Playground" from the Requests page.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QFrame, QMainWindow, QMessageBox, QScrollArea, QSplitter, QStackedWidget,
                               QVBoxLayout, QWidget)

from monitor.boards.repository import list_boards
from monitor.store import StreamInfo

from .boards import BoardsPage
from .context import AppContext
from .experiments import ExperimentsPage
from .playground import PlaygroundPage
from .requests_page import RequestsPage
from .settings_dialog import SettingsDialog
from .sidebar import Sidebar
from .statusbar import StatusBar
from .style import icon as named_icon
from .throttle import Throttle

APP_TITLE = "OpenAI Monitor"


@dataclass
class _Page:
    key: str
    title: str
    widget: QWidget
    action: QAction
    follows_stream: bool
    frame: QScrollArea


class MainWindow(QMainWindow):
    streamSelected = Signal(str)
    pageChanged = Signal(str)
    boardSelected = Signal(str)
    openStoreRequested = Signal(object)          # Path; the app swaps stores (see app.py)

    def __init__(self, ctx: AppContext, *, stream: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._pages: dict[str, _Page] = {}
        self._current_stream = ""
        self._current_page = ""
        self._initial_stream = stream
        self._streams_loaded = False
        self.setWindowTitle(APP_TITLE)
        self.resize(1360, 860)
        self._build()
        self._build_menus()
        self._add_default_pages()
        self._refresh_live = Throttle(500, self._refresh_live_now, self)     # at most ~2 queries/s
        ctx.recordsChanged.connect(self._on_records_changed)
        self._restore_state()
        if stream:
            self.select_stream(stream)
        ctx.start_watching()
        self.refresh()

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.sidebar = Sidebar()
        self.sidebar.pageActivated.connect(self.show_page)
        self.sidebar.streamActivated.connect(self.select_stream)
        self.sidebar.boardActivated.connect(self._on_sidebar_board_activated)
        self.stack = QStackedWidget(objectName="pageStack")
        self.banner_area = QVBoxLayout()
        self.banner_area.setContentsMargins(0, 0, 0, 0)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addLayout(self.banner_area)
        right_layout.addWidget(self.stack, 1)
        self.splitter = QSplitter(Qt.Horizontal, objectName="mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([230, 1130])
        self.setCentralWidget(self.splitter)
        self.status = StatusBar(self.ctx)
        self.setStatusBar(self.status)

    def set_banner(self, widget: QWidget) -> None:
        """A strip above every page (the demo says what it is there)."""
        self.banner_area.addWidget(widget)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.file_menu = bar.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        self.open_store_action = file_menu.addAction("&Open store…", self._on_open_store_triggered)
        self.open_store_action.setShortcut(QKeySequence.Open)
        file_menu.addSeparator()
        self._file_menu_tail = file_menu.addSeparator()     # the Boards page's actions go before this
        self.quit_action = file_menu.addAction("&Quit", self.close)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.QuitRole)

        self.edit_menu = bar.addMenu("&Edit")
        self.settings_action = self.edit_menu.addAction("&Settings…", self._on_settings_triggered)
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QAction.PreferencesRole)
        self.edit_menu.addSeparator()

        self.view_menu = bar.addMenu("&View")
        self.page_group = QActionGroup(self)
        self.page_group.setExclusive(True)
        self._view_separator = self.view_menu.addSeparator()
        self.refresh_action = self.view_menu.addAction("&Refresh", self.refresh)
        self.refresh_action.setShortcut(QKeySequence.Refresh)

        help_menu = bar.addMenu("&Help")
        self.about_action = help_menu.addAction("&About OpenAI Monitor", self._on_about_triggered)
        self.about_action.setMenuRole(QAction.AboutRole)

    def _add_default_pages(self) -> None:
        self.add_page("playground", "Playground", PlaygroundPage(self.ctx), "Ctrl+1")
        self.boards_page = BoardsPage(self.ctx)
        self.add_page("boards", "Boards", self.boards_page, "Ctrl+2", follows_stream=True)
        self.requests_page = RequestsPage(self.ctx)
        self.requests_page.openInPlaygroundRequested.connect(self._on_requests_open_in_playground)
        self.requests_page.message.connect(lambda text: self.status.showMessage(text, 5000))
        self.requests_page.set_playground_available(True)
        self.add_page("requests", "Requests", self.requests_page, "Ctrl+3", follows_stream=True)
        self.edit_menu.addAction(self.requests_page.open_in_playground_action)
        self.edit_menu.addAction(self.requests_page.copy_action)
        self.add_page("experiments", "Experiments", ExperimentsPage(self.ctx), "Ctrl+4")
        # The board's file actions (open, export as file/PNG/CSV) live in the File menu.
        board_actions = self.boards_page.actions()
        self.file_menu.insertActions(self._file_menu_tail, board_actions)
        self.open_board_file_action = next(a for a in board_actions if "Open" in a.text())
        self.open_board_file_action.triggered.connect(lambda: self.show_page("boards"))

    # -- pages --------------------------------------------------------------------------------------
    def add_page(self, key: str, title: str, widget: QWidget, shortcut: str | None = None,
                 icon: QIcon | None = None, follows_stream: bool = False) -> None:
        """Add a page (sidebar entry, View menu entry, shortcut), or replace the widget of an existing key."""
        old = self._pages.get(key)
        if old is not None:
            frame = old.frame
            old.widget.deleteLater()
            frame.takeWidget()
            action = old.action
        else:
            # A page wider than the window scrolls instead of forcing the whole window to its minimum size.
            frame = QScrollArea(widgetResizable=True, frameShape=QFrame.NoFrame)
            self.stack.addWidget(frame)
            action = QAction(self, checkable=True)
            action.triggered.connect(lambda _=False, k=key: self.show_page(k))
            self.page_group.addAction(action)
            self.view_menu.insertAction(self._view_separator, action)
        frame.setWidget(widget)
        action.setText(title)
        action.setIcon(icon or named_icon(key))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        self._pages[key] = _Page(key, title, widget, action, follows_stream, frame)
        self.sidebar.add_page(key, title, icon)
        if follows_stream and self._current_stream:
            widget.set_stream(self._current_stream)
        if key == "boards" and hasattr(widget, "boardsChanged"):
            widget.boardsChanged.connect(self.refresh_boards)

    def page(self, key: str) -> QWidget | None:
        page = self._pages.get(key)
        return page.widget if page else None

    @property
    def current_page(self) -> str:
        return self._current_page

    def show_page(self, key: str) -> None:
        page = self._pages.get(key)
        if page is None:
            return
        self.stack.setCurrentWidget(page.frame)
        self.sidebar.select_page(key)
        page.action.setChecked(True)
        if key != self._current_page:
            self._current_page = key
            self.ctx.settings.setValue("window/page", key)
            self.pageChanged.emit(key)

    # -- streams ------------------------------------------------------------------------------------
    @property
    def current_stream(self) -> str:
        return self._current_stream

    def select_stream(self, name: str) -> None:
        if not name or name == self._current_stream:
            return
        self._current_stream = name
        self.sidebar.select_stream(name)
        for page in self._pages.values():
            if page.follows_stream:
                page.widget.set_stream(name)
        self.ctx.settings.setValue(self._last_stream_key(), name)
        self.setWindowTitle(f"{name} — {APP_TITLE}" + (" (demo)" if self.ctx.demo else ""))
        self.streamSelected.emit(name)

    def _last_stream_key(self) -> str:
        digest = hashlib.sha1(str(self.ctx.db_path.resolve()).encode()).hexdigest()[:12]
        return f"streams/last-{digest}"           # per store: a stream name means nothing in another file

    def _on_streams_loaded(self, streams: list[StreamInfo]) -> None:
        self.sidebar.set_streams(streams, self._current_stream)
        self._streams_loaded = True
        if not self._current_stream and streams:          # at start, or the first stream of an empty store
            names = [s.name for s in streams]
            last = str(self.ctx.settings.value(self._last_stream_key(), "") or "")
            newest = max(streams, key=lambda s: s.last_ts or 0).name
            self.select_stream(last if last in names else newest)

    # -- live updates ----------------------------------------------------------------------------------
    def _on_records_changed(self, _max_id: int) -> None:
        self._refresh_live()

    def _refresh_live_now(self) -> None:
        self.ctx.db.submit(lambda s: s.streams(), self._on_streams_loaded, self._on_db_error,
                           key=f"sidebar-streams-{id(self)}")
        self.status.refresh_today()

    def refresh(self) -> None:
        """F5: everything read again from the store."""
        self._refresh_live_now()
        self.refresh_boards()
        if self._streams_loaded:
            self.requests_page.refresh()

    def refresh_boards(self) -> None:
        def saved_boards(store):
            return [(b.name, b.stream) for b in list_boards(store)]
        self.ctx.db.submit(saved_boards, self.sidebar.set_boards, self._on_db_error, key=f"sidebar-boards-{id(self)}")

    def _on_db_error(self, message: str) -> None:
        self.status.showMessage(f"Store error: {message}", 10000)

    # -- actions ------------------------------------------------------------------------------------
    def _on_sidebar_board_activated(self, name: str, stream: str) -> None:
        self.select_stream(stream)
        self.show_page("boards")
        boards = self.page("boards")
        if hasattr(boards, "open_board"):
            boards.open_board(name)
        self.boardSelected.emit(name)

    def _on_requests_open_in_playground(self, record) -> None:
        playground = self.page("playground")
        if hasattr(playground, "load_record"):
            playground.load_record(record)
            self.show_page("playground")

    def _on_open_store_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open store", str(self.ctx.db_path.parent),
                                              "OpenAI Monitor stores (*.db *.sqlite *.sqlite3);;All files (*)")
        if path:
            self.openStoreRequested.emit(Path(path))

    def _on_settings_triggered(self) -> None:
        dialog = SettingsDialog(self.ctx.profiles, self)
        dialog.profilesChanged.connect(self._on_settings_profiles_changed)
        dialog.exec()
        dialog.deleteLater()

    def _on_settings_profiles_changed(self) -> None:
        self.ctx.forget_clients()
        self.ctx.profilesChanged.emit()

    def _on_about_triggered(self) -> None:
        # Asking the keyring is a D-Bus round trip (or an unlock prompt): never on the GUI thread.
        from superqt.utils import create_worker

        from monitor.profiles import keyring_status

        worker = create_worker(keyring_status, _start_thread=False)
        worker.returned.connect(lambda status: self._show_about(status[1]))
        worker.errored.connect(lambda exc: self._show_about(f"could not ask the keyring ({type(exc).__name__})"))
        worker.start()
        self._about_worker = worker          # keep it alive until it answers

    def _show_about(self, keyring_text: str) -> None:
        QMessageBox.about(self, "About OpenAI Monitor", (
            f"<h3>{APP_TITLE}</h3><p>Every OpenAI API call your programs make — prompt, output, tokens, "
            "cost, latency, errors — kept in one SQLite file on this machine.</p>"
            f"<p><b>Store:</b> {self.ctx.db_path}</p><p><b>Keys:</b> {keyring_text}</p>"
            + ("<p><b>Demo mode:</b> calls go to the built-in simulator on "
               f"{self.ctx.simulator.base_url}.</p>" if self.ctx.demo and self.ctx.simulator else "")))

    # -- state --------------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = self.ctx.settings
        if (geometry := s.value("window/geometry")) is not None:
            self.restoreGeometry(geometry)
        if (sizes := s.value("window/splitter")) is not None:
            self.splitter.restoreState(sizes)
        self.requests_page.restore_state()
        page = str(s.value("window/page", "requests") or "requests")
        self.show_page(page if page in self._pages else "requests")

    def save_state(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/page", self._current_page)
        for page in self._pages.values():
            if hasattr(page.widget, "save_state"):
                page.widget.save_state()
        s.sync()

    def closeEvent(self, event) -> None:
        self.save_state()
        super().closeEvent(event)
