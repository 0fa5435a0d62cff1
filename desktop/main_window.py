"""The main window: sidebar, page stack, menus and status bar — and the place other pages plug in.

Integration API (for the Playground, Experiments and Boards pages):
    window.add_page(key, title, widget, shortcut=None, icon=None, follows_stream=False)
        # a new page, or a new widget for an existing key; `widget` may be a zero-argument factory, called
        # the first time the page is shown or asked for (the built-in pages, listed in pages.py, are made that way)
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

Startup (issue 10): a page's module is imported and its widget built only when the page is first shown, so
the window paints after importing Qt and this frame alone.  Made with `open_store=True` (the app does),
the window paints first with "Opening store…", the DB worker opens (creates, migrates) the store off the
GUI thread, and only then are the first page built and live updates started; `ready` / `storeFailed(message)`
say how it went.
"""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import (QFrame, QLabel, QMainWindow, QMessageBox, QScrollArea,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from monitor.paths import is_store_url, store_location, url_to_remember

from . import file_dialogs
from .context import AppContext
from .pages import PAGES, START_PAGE, make_page
from .sidebar import Sidebar
from .statusbar import StatusBar
from .style import icon as named_icon
from .throttle import Throttle

WARM_UP_SDK_MS = 500

if TYPE_CHECKING:
    from monitor.store import StreamInfo

APP_TITLE = "OpenAI Monitor"
LAST_TEAM_URL_KEY = "store/last-team-url"      # without its password (PGPASSWORD, ~/.pgpass or the keyring)


@dataclass
class _Page:
    key: str
    title: str
    widget: QWidget | None           # None until the factory has built it
    factory: Callable[[], QWidget] | None
    action: QAction
    follows_stream: bool
    frame: QScrollArea


def default_size(available: QSize) -> tuple[int, int]:
    """1360×860, or the screen's room when it is smaller (a 1024×768 laptop must see the whole window)."""
    return min(1360, available.width()), min(860, available.height())


class MainWindow(QMainWindow):
    streamSelected = Signal(str)
    pageChanged = Signal(str)
    boardSelected = Signal(str)
    openStoreRequested = Signal(object)          # Path; the app swaps stores (see app.py)
    ready = Signal()                             # store open, first page shown, live updates on (open_store=True)
    storeFailed = Signal(str)                    # the store could not be opened (open_store=True only)

    def __init__(self, ctx: AppContext, *, stream: str | None = None, open_store: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._pages: dict[str, _Page] = {}
        self._current_stream = ""
        self._current_page = ""
        self._initial_stream = stream
        self._streams_loaded = False
        self._shown_boards: list[tuple[str, str]] | None = None
        self._started = False
        self._store_open = not open_store
        self._painted = False
        self._closed = False
        self.setWindowTitle(APP_TITLE)
        self.resize(*default_size(self.screen().availableGeometry().size()))
        self._build()
        self._build_menus()
        self._add_default_pages()
        self._refresh_live = Throttle(500, self._refresh_live_now, self)     # at most ~2 queries/s
        ctx.recordsChanged.connect(self._on_records_changed)
        self._restore_state()
        if stream:
            self.select_stream(stream)
        page = str(ctx.settings.value("window/page", START_PAGE) or START_PAGE)
        self._start_page = page if page in self._pages else START_PAGE
        if open_store:
            # The first job opens the store on the DB worker's thread, while the window paints.  The
            # sidebar marks the page to come (left unmarked, the list would pick its first row on focus).
            self.stack.setCurrentWidget(self.opening_label)
            self.sidebar.select_page(self._start_page)
            self._pages[self._start_page].action.setChecked(True)
            ctx.db.submit(lambda store: store.max_id(), self._on_store_opened, self._on_store_failed)
        else:
            self._start()

    def _start(self) -> None:
        """The store is open: show the first page, start live updates, read everything."""
        if self._started or self._closed:
            return
        self._started = True
        if not self._current_page:                   # (a click may have chosen one already)
            self.show_page(self._start_page)
        self.ctx.start_watching()
        QTimer.singleShot(WARM_UP_SDK_MS, self.ctx.warm_up_sdk)   # after the first page's reads, before any run
        from .budget_alerts import BudgetAlerts          # imported here: the window never waits for it
        self.budget_alerts = BudgetAlerts(self.ctx, self.status, self.windowIcon(), self)    # budget alerts (tray)
        self._warn_if_prices_are_old()
        self.refresh()
        self.ready.emit()

    def _on_store_opened(self, _max_id: int) -> None:
        self._store_open = True
        self.opening_label.setText("")
        if self._painted or not self.isVisible():
            self._start()
        else:
            QTimer.singleShot(300, self._start)      # painted by then, or never (minimised): start anyway

    def _on_store_failed(self, message: str) -> None:
        self.opening_label.setText(f"The store {self.ctx.db_path} could not be opened.\n\n{message}")
        self.storeFailed.emit(message)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            if self._store_open:
                QTimer.singleShot(0, self._start)        # after this paint reaches the screen

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.sidebar = Sidebar()
        self.sidebar.pageActivated.connect(self.show_page)
        self.sidebar.streamActivated.connect(self.select_stream)
        self.sidebar.boardActivated.connect(self._on_sidebar_board_activated)
        self.stack = QStackedWidget(objectName="pageStack")
        self.opening_label = QLabel("Opening store…", alignment=Qt.AlignCenter, wordWrap=True,
                                    objectName="openingStore")
        self.stack.addWidget(self.opening_label)
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
        file_menu.aboutToShow.connect(lambda: self.page("boards"))     # its file actions join the menu
        self.open_store_action = file_menu.addAction("&Open store…", self._on_open_store_triggered)
        self.open_store_action.setShortcut(QKeySequence.Open)
        self.open_team_store_action = file_menu.addAction("Open &team store (PostgreSQL URL)…",
                                                          self._on_open_team_store_triggered)
        self.open_team_store_action.setToolTip("postgresql://user@host:5432/db — the password comes from "
                                               "PGPASSWORD, ~/.pgpass, the OS keyring or the dialog; never "
                                               "from the settings")
        file_menu.addSeparator()
        self._file_menu_tail = file_menu.addSeparator()     # the Boards page's actions go before this
        self.quit_action = file_menu.addAction("&Quit", self.close)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.QuitRole)

        self.edit_menu = bar.addMenu("&Edit")
        self.edit_menu.aboutToShow.connect(lambda: self.page("requests"))   # Open in Playground, Copy as Python
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
        for entry in PAGES:
            self.add_page(entry.key, entry.title, lambda entry=entry: make_page(entry, self.ctx), entry.shortcut,
                          follows_stream=entry.follows_stream)

    def _on_page_built(self, key: str, widget: QWidget) -> None:
        """Wire a page into the window the moment it exists."""
        if key == "boards" and hasattr(widget, "boardsChanged"):
            widget.boardsChanged.connect(self.refresh_boards)
        if key == "boards" and hasattr(widget, "actions") and widget.actions():
            # The board's file actions (open, export as file/PNG/CSV) live in the File menu.
            board_actions = widget.actions()
            self.file_menu.insertActions(self._file_menu_tail, board_actions)
            opener = next(a for a in board_actions if "Open" in a.text())
            opener.triggered.connect(lambda: self.show_page("boards"))
        if key == "requests" and hasattr(widget, "openInPlaygroundRequested"):
            widget.openInPlaygroundRequested.connect(self._on_requests_open_in_playground)
            widget.message.connect(lambda text: self.status.showMessage(text, 5000))
            widget.set_playground_available(True)
            self.edit_menu.addAction(widget.open_in_playground_action)
            self.edit_menu.addAction(widget.copy_action)
            widget.restore_state()
            if self._streams_loaded:
                widget.refresh()

    @property
    def requests_page(self) -> QWidget:
        return self.page("requests")

    @property
    def boards_page(self) -> QWidget:
        return self.page("boards")

    @property
    def open_board_file_action(self) -> QAction:
        """File ▸ Open board file… (the Boards page's action; asking for it builds that page)."""
        return next(a for a in self.page("boards").actions() if "Open" in a.text())

    # -- pages --------------------------------------------------------------------------------------
    def add_page(self, key: str, title: str, widget: QWidget | Callable[[], QWidget], shortcut: str | None = None,
                 icon: QIcon | None = None, follows_stream: bool = False) -> None:
        """Add a page (sidebar entry, View menu entry, shortcut), or replace the widget of an existing key.

        `widget` may be a factory (any callable that is not a widget): it is called when the page is first
        shown or asked for with page(key)."""
        factory = None if isinstance(widget, QWidget) else widget
        old = self._pages.get(key)
        if old is not None:
            frame = old.frame
            if old.widget is not None:
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
        action.setText(title)
        action.setIcon(icon or named_icon(key))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        page = self._pages[key] = _Page(key, title, None, factory, action, follows_stream, frame)
        self.sidebar.add_page(key, title, icon)
        if factory is None:
            self._install(page, widget)
        elif key == self._current_page:
            self.page(key)                               # a new factory for the page on screen: build it now

    def _install(self, page: _Page, widget: QWidget) -> None:
        page.widget, page.factory = widget, None
        page.frame.setWidget(widget)
        if page.follows_stream and self._current_stream:
            widget.set_stream(self._current_stream)
        self._on_page_built(page.key, widget)

    def page(self, key: str) -> QWidget | None:
        """The page's widget, built now if it was not yet."""
        page = self._pages.get(key)
        if page is None:
            return None
        if page.widget is None:
            self._install(page, page.factory())
        return page.widget

    def built_pages(self) -> dict[str, QWidget]:
        """The pages built so far (the others have not been shown or asked for yet)."""
        return {key: page.widget for key, page in self._pages.items() if page.widget is not None}

    @property
    def current_page(self) -> str:
        return self._current_page

    def show_page(self, key: str) -> None:
        page = self._pages.get(key)
        if page is None:
            return
        self.page(key)
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
            if page.follows_stream and page.widget is not None:
                page.widget.set_stream(name)
        self.ctx.settings.setValue(self._last_stream_key(), name)
        self.setWindowTitle(f"{name} — {APP_TITLE}" + (" (demo)" if self.ctx.demo else ""))
        self.streamSelected.emit(name)

    def _last_stream_key(self) -> str:
        digest = hashlib.sha1(self.ctx.store_id.encode()).hexdigest()[:12]
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
        self.refresh_boards()              # boards saved by another process (a teammate on a team store)
        self.status.refresh_today()

    def refresh(self) -> None:
        """F5: everything read again from the store."""
        self._refresh_live_now()
        self.refresh_boards()
        requests = self.built_pages().get("requests")
        if self._streams_loaded and requests is not None:
            requests.refresh()

    def refresh_boards(self) -> None:
        def saved_boards(store):
            from monitor.boards.repository import list_boards   # on the DB thread, when first needed

            return [(b.name, b.stream) for b in list_boards(store)]
        self.ctx.db.submit(saved_boards, self._on_boards_loaded, self._on_db_error, key=f"sidebar-boards-{id(self)}")

    def _on_boards_loaded(self, boards: list[tuple[str, str]]) -> None:
        if boards != self._shown_boards:        # unchanged: the list keeps its selection and scroll
            self._shown_boards = boards
            self.sidebar.set_boards(boards)

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
        path = file_dialogs.open_file(self, self.ctx.settings, "Open store",
                                      "OpenAI Monitor stores (*.db *.sqlite *.sqlite3);;All files (*)",
                                      folder=self.ctx.store_file.parent if self.ctx.store_file else None)
        if path:
            self.openStoreRequested.emit(Path(path))

    def _on_open_team_store_triggered(self) -> None:
        from .team_store import TeamStoreDialog       # connects off the GUI thread; asks for a password if needed

        dialog = TeamStoreDialog(str(self.ctx.settings.value(LAST_TEAM_URL_KEY, "") or ""), parent=self)
        if dialog.exec() == TeamStoreDialog.Accepted and dialog.location is not None:
            if dialog.warning:
                self.status.showMessage(dialog.warning, 15000)
            self.open_team_store(dialog.location)
        dialog.deleteLater()

    def open_team_store(self, url: str) -> bool:
        """Ask the app to open a postgresql:// store; remembers the URL without its password.  False (and
        one line in the status bar) for text that is not such a URL."""
        if not is_store_url(url):
            self.status.showMessage("Not a PostgreSQL URL: it starts with postgresql://", 10000)
            return False
        self.ctx.settings.setValue(LAST_TEAM_URL_KEY, url_to_remember(getattr(url, "dsn", url)))
        self.openStoreRequested.emit(store_location(url))
        return True

    def _on_settings_triggered(self) -> None:
        from .settings import SettingsDialog

        dialog = SettingsDialog(self.ctx.profiles, self)
        dialog.profilesChanged.connect(self._on_settings_profiles_changed)
        dialog.exec()
        dialog.deleteLater()

    def _on_settings_profiles_changed(self) -> None:
        self.ctx.forget_clients()
        self.ctx.profilesChanged.emit()

    def _on_about_triggered(self) -> None:
        # Asking the keyring is a D-Bus round trip (or an unlock prompt): never on the GUI thread.
        from monitor.profiles import keyring_status

        from .tasks import NetOp

        from monitor.pricing import price_facts

        def facts() -> tuple[str, tuple[str, str | None]]:        # the keyring and the price table: both slow
            return keyring_status()[1], price_facts()

        NetOp(facts, parent=self, success=lambda found: self._show_about(*found)).failure(
            lambda exc: self._show_about(f"could not ask the keyring ({type(exc).__name__})")).run_in_background()

    def about_html(self, keyring_text: str, prices: tuple[str, str | None] | None = None) -> str:
        source, stale = prices or ("unknown", None)
        return (f"<h3>{APP_TITLE}</h3><p>Every OpenAI API call your programs make — prompt, output, tokens, "
                "cost, latency, errors — kept in one SQLite file on this machine.</p>"
                f"<p><b>Store:</b> {html.escape(str(self.ctx.db_path))}"
                + (" (a team store on PostgreSQL)" if self.ctx.is_team_store else "") + "</p>"
                f"<p><b>Keys:</b> {keyring_text}</p><p><b>Keys:</b> {keyring_text}</p>"
                f"<p><b>Prices:</b> {html.escape(source)}</p>"
                + (f"<p style='color:#b45309'><b>⚠</b> {html.escape(stale)}</p>" if stale else "")
                + ("<p><b>Demo mode:</b> calls go to the built-in simulator on "
                   f"{self.ctx.simulator.base_url}.</p>" if self.ctx.demo and self.ctx.simulator else ""))

    def _show_about(self, keyring_text: str, prices: tuple[str, str | None] | None = None) -> None:
        QMessageBox.about(self, "About OpenAI Monitor", self.about_html(keyring_text, prices))

    def _warn_if_prices_are_old(self) -> None:
        """Once at start, off the GUI thread: a price table over six months old is said in the status bar."""
        from monitor.pricing import price_facts

        from .tasks import NetOp

        def say(found: tuple[str, str | None]) -> None:
            if found[1]:
                self.status.showMessage(found[1], 30_000)

        NetOp(price_facts, parent=self, success=say).failure(lambda exc: None).run_in_background()

    # -- state --------------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = self.ctx.settings
        if (geometry := s.value("window/geometry")) is not None:
            self.restoreGeometry(geometry)
        if (sizes := s.value("window/splitter")) is not None:
            self.splitter.restoreState(sizes)
        # The page itself is shown by _start(), once the store is open; pages restore their own state when built.

    def save_state(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/splitter", self.splitter.saveState())
        if self._current_page:                          # closed while the store was opening: keep the last one
            s.setValue("window/page", self._current_page)
        for widget in self.built_pages().values():
            if hasattr(widget, "save_state"):
                widget.save_state()
        s.sync()

    def closeEvent(self, event) -> None:
        self._closed = True
        self.save_state()
        super().closeEvent(event)
