"""The Boards page: the selected stream's board, live.

Public API (the main window wires it):
    page = BoardsPage(ctx)
    page.set_stream(name)            # that stream's last-opened (else first) board, or the "create" offer
    page.open_board(name)            # a saved board by name
    page.import_board_file(path)     # also open_board_file(path); a bad file: a message box with the reason
    page.export_board_file(path, include_content)
    page.save_png(path); page.export_csv(path)
    page.current_board()             # BoardSpec | None
    page.actions()                   # [Export board…, Open board file…, Export PNG…, Export CSV…]
    page.boardsChanged               # after create / rename / duplicate / delete / import
    page.boardOpened(str)            # the board now shown

All store work (computing, saving, files) runs on the DB worker (`ctx.db`); see jobs.py.  Every edit
makes a new spec with `spec.updated(...)`, saves it and recomputes.
"""
from __future__ import annotations

import hashlib
import html
import time
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QLabel, QMessageBox, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from monitor.boards import (BoardData, BoardError, BoardSpec, Measure, Panel, delete_board, duplicate_board,
                            rename_board, save_board)
from monitor.boards.repository import first_error

from .. import formatting as fmt
from ..context import AppContext
from ..throttle import Throttle
from . import jobs
from . import layout as panel_layout
from .board_view import BoardView
from .budgets_ui import BoardBudgets
from .file_actions import FileActions, captioned
from .header import BoardHeader
from .live import RefreshCoalescer
from .panel_editor import PanelEditor
from .toolbar import BoardToolbar

TICK_MS = 5000          # a relative range ("last hour") slides even when no call lands
TABLE_RELOAD_MS = 1000  # live calls re-read the requests table at most this often

EMPTY_TEXT = ("<h3>No board for <i>{stream}</i> yet</h3>"
              "<p>The OpenAI Monitor Board shows requests, cost (per bucket and cumulative), latency p50/p95/p99, "
              "time to first token, throughput, tokens by type and errors over time, the per-request averages, "
              "and a table of the calls with their messages and output. It updates live as calls land.</p>")


class BoardsPage(QWidget):
    boardsChanged = Signal()
    boardOpened = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.view_key = f"boards-page-{id(self)}"
        self.stream = ""
        self.spec: BoardSpec | None = None
        self.origin = ""
        self.data: BoardData | None = None
        self._token = 0                 # which set_stream/open_board answer is still wanted
        self.drawn_spec: BoardSpec | None = None     # the spec the charts were last drawn for
        self._stale = False
        self._message_after_open: tuple[str, bool] | None = None    # said once the board it is about shows
        self.files = FileActions(self)
        self._build()
        self.header.export_button.setMenu(self.files.menu)
        self.live = RefreshCoalescer(self._start_refresh, self)
        self._reload_tables = Throttle(TABLE_RELOAD_MS, self.view.reload_tables, self)
        self._ticker = QTimer(self, interval=TICK_MS)
        self._ticker.timeout.connect(self._on_ticker_timeout)
        self._ticker.start()
        ctx.recordsChanged.connect(self._on_records_changed)

    def _build(self) -> None:
        self.header = BoardHeader()
        self.header.title.renameRequested.connect(self._on_title_rename_requested)
        self.header.duplicateRequested.connect(self._on_duplicate_requested)
        self.header.deleteRequested.connect(self._on_delete_requested)
        self.header.addPanelRequested.connect(self._on_add_panel_requested)
        self.header.boardChosen.connect(self.open_board)
        self.header.newBoardRequested.connect(self.create_template_board)
        self.toolbar = BoardToolbar()
        self.toolbar.changed.connect(self._on_toolbar_changed)
        self.view = BoardView(self._fetch_page, self._fetch_record)
        self.view.editPanelRequested.connect(self._on_edit_panel_requested)
        self.view.removePanelRequested.connect(self._on_remove_panel_requested)
        self.view.movePanelRequested.connect(self._on_move_panel_requested)
        self.budgets = BoardBudgets(self)                # budget cards, threshold lines, Budgets… (budgets_ui.py)
        self.view.drillChanged.connect(self.toolbar.set_drill)
        self.toolbar.drill_chip.clicked.connect(self.view.clear_drill)
        board = QWidget()
        column = QVBoxLayout(board)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.header)
        column.addWidget(self.toolbar)
        column.addWidget(self.budgets.cards)
        column.addWidget(self.view, 1)

        self.empty_text = QLabel("", wordWrap=True, textFormat=Qt.RichText)
        self.empty_text.setMaximumWidth(620)
        self.create_button = QPushButton("Create OpenAI Monitor Board")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.create_template_board)
        empty = QWidget()
        col = QVBoxLayout(empty)
        col.setContentsMargins(32, 32, 32, 32)
        col.addWidget(self.empty_text)
        col.addWidget(self.create_button, 0, Qt.AlignLeft)
        col.addStretch(1)

        self.stack = QStackedWidget()
        self.stack.addWidget(empty)
        self.stack.addWidget(board)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)
        self._show_empty()

    # -- public API ----------------------------------------------------------------------------------------
    def actions(self) -> list[QAction]:        # noqa: D401 (QWidget.actions is shadowed on purpose)
        return self.files.file_menu_actions()

    def current_board(self) -> BoardSpec | None:
        return self.spec

    def set_stream(self, name: str) -> None:
        if name == self.stream and self.spec is not None and self.spec.stream == name:
            return
        self.stream = name
        token = self._next_token()
        if not name:
            self._show_empty()
            return
        self.ctx.db.submit(lambda store: jobs.stream_boards(store, name),
                           lambda found: self._on_stream_boards_loaded(token, found), self._on_db_error)

    def open_board(self, name: str) -> None:
        token = self._next_token()
        self.ctx.db.submit(lambda store: jobs.open_board(store, name),
                           lambda answer: self._on_board_loaded(token, *answer), self._on_open_failed)

    def create_template_board(self) -> None:
        stream = self.spec.stream if self.spec is not None and self.stack.currentIndex() == 1 else self.stream
        if not stream:
            return
        token = self._next_token()
        self.create_button.setEnabled(False)
        self.ctx.db.submit(lambda store: jobs.create_template(store, stream),
                           lambda spec: self._on_board_created(token, spec), self._on_db_error)

    def import_board_file(self, path) -> None:
        path = str(path)
        self.ctx.db.submit(lambda store: jobs.import_file(store, path), self._on_imported, self._on_file_failed)

    open_board_file = import_board_file            # the main window's File > Open board file… calls this

    def export_board_file(self, path, include_content: bool = True) -> None:
        if self.spec is None:
            return
        name, path = self.spec.name, str(path)
        self.ctx.db.submit(lambda store: jobs.export_file(store, name, path, include_content),
                           lambda r: self._say(f"Exported {fmt.plural(r.count, 'call')} to {Path(path).name}"
                                               + ("" if include_content else " (no prompts or outputs)"), ok=True),
                           self._on_file_failed)

    def export_csv(self, path) -> None:
        if self.spec is None:
            return
        spec, path = self.spec, str(path)
        self.ctx.db.submit(lambda store: jobs.export_records_csv(store, spec, path),
                           lambda r: self._say(f"Wrote {fmt.plural(r.count, 'call')} to {Path(path).name}", ok=True),
                           self._on_file_failed)

    def save_png(self, path) -> bool:
        if self.spec is None:
            return False
        image = captioned(self.view.grab_board(), self.spec.name, self._caption())
        ok = image.save(str(path), "PNG")
        self._say(f"Saved {Path(path).name}" if ok else f"Could not write {path}", ok=ok)
        return ok

    # -- opening ---------------------------------------------------------------------------------------------
    def _next_token(self) -> int:
        self._token += 1
        return self._token

    def _last_board_key(self, stream: str) -> str:
        digest = hashlib.sha1(f"{self.ctx.store_id}|{stream}".encode()).hexdigest()[:12]
        return f"boards/last-{digest}"

    def _on_stream_boards_loaded(self, token: int, found: jobs.StreamBoards) -> None:
        if token != self._token:
            return
        if not found.boards:
            self._show_empty(found.stream)
            return
        last = str(self.ctx.settings.value(self._last_board_key(found.stream), "") or "")
        self.open_board(last if last in found.boards else found.boards[0])

    def _on_board_loaded(self, token: int, spec: BoardSpec, origin: str) -> None:
        if token == self._token:
            self._show_board(spec, origin)

    def _on_board_created(self, token: int, spec: BoardSpec) -> None:
        self.create_button.setEnabled(True)
        self.boardsChanged.emit()
        if token == self._token:
            self._show_board(spec, self.origin if self.spec and self.spec.stream == spec.stream else "local")

    def _on_open_failed(self, message: str) -> None:
        self._say(message.split(": ", 1)[-1])

    def _show_empty(self, stream: str = "") -> None:
        self.spec, self.data = None, None
        self.files.set_board_open(False)
        self.create_button.setVisible(bool(stream or self.stream))
        self.create_button.setEnabled(True)
        if stream or self.stream:
            self.empty_text.setText(EMPTY_TEXT.format(stream=html.escape(stream or self.stream)))
        else:
            self.empty_text.setText("<h3>No stream selected</h3><p>Pick a stream in the sidebar to see its board.</p>")
        self.stack.setCurrentIndex(0)

    def _show_board(self, spec: BoardSpec, origin: str) -> None:
        self.origin = origin
        self.data = None
        self.stack.setCurrentIndex(1)
        self.files.set_board_open(True)
        self.header.set_board(spec.name, spec.stream, origin == "imported")      # clears the last board's message
        self.view.clear_drill()
        self.toolbar.set_drill("")
        if self._message_after_open is not None:
            self._say(*self._message_after_open)
            self._message_after_open = None
        self._set_spec(spec, save=False)
        self.ctx.settings.setValue(self._last_board_key(spec.stream), spec.name)
        stream = spec.stream
        self.ctx.db.submit(lambda store: jobs.stream_facets(store, stream), self._on_facets_loaded, self._on_db_error,
                           key=f"{self.view_key}-facets")
        self.ctx.db.submit(lambda store: jobs.stream_boards(store, stream), self._on_header_boards_loaded,
                           self._on_db_error, key=f"{self.view_key}-boards")
        self.boardOpened.emit(spec.name)

    def _on_facets_loaded(self, facets: jobs.Facets) -> None:
        if self.spec is not None and facets.stream == self.spec.stream:
            self.toolbar.set_facets(facets)

    def _on_header_boards_loaded(self, found: jobs.StreamBoards) -> None:
        if self.spec is not None and found.stream == self.spec.stream:
            self.header.set_boards(found.boards, self.spec.name)
            self.budgets.add_to_menu(self.header.boards_menu)

    # -- changing the board ------------------------------------------------------------------------------
    def update_board(self, **fields) -> bool:
        """Apply spec fields (validated), save, recompute; False (and a message) if they are not valid."""
        if self.spec is None:
            return False
        try:
            spec = self.spec.updated(**fields)
        except ValidationError as exc:
            self._say(f"Not changed: {first_error(exc)}")
            self.toolbar.set_spec(self.spec)
            return False
        self._set_spec(spec, save=True)
        return True

    def _set_spec(self, spec: BoardSpec, save: bool) -> None:
        self.spec = spec
        self.toolbar.set_spec(spec)
        self.view.set_spec(spec)
        self.budgets.on_spec(spec)
        for table in self.view.tables():
            table.set_grouped(bool(spec.group_by))
        if save:
            self.ctx.db.submit(lambda store: save_board(store, spec), None, self._on_db_error,
                               key=f"{self.view_key}-save")
        self.live.request()

    def _on_toolbar_changed(self, fields: dict) -> None:
        self.update_board(**fields)

    def _on_title_rename_requested(self, old: str, new: str) -> None:
        def rename(store):
            try:
                return rename_board(store, old, new)
            except (BoardError, ValidationError) as exc:
                return exc.args[0] if isinstance(exc, BoardError) else f"can't rename: {first_error(exc)}"
        self.ctx.db.submit(rename, lambda answer: self._on_renamed(old, answer), self._on_db_error)

    def _on_renamed(self, old: str, answer) -> None:
        if isinstance(answer, str):
            self.header.title.restore()
            self._say(answer)
            return
        if self.spec is not None and self.spec.name == old:
            self._set_spec(self.spec.updated(name=answer.name), save=False)
            self.header.title.set_name(answer.name)
            self.ctx.settings.setValue(self._last_board_key(answer.stream), answer.name)
        self._say(f"Renamed to “{answer.name}”", ok=True)
        self.boardsChanged.emit()

    def _on_duplicate_requested(self) -> None:
        if self.spec is None:
            return
        name = self.spec.name
        token = self._next_token()
        self.ctx.db.submit(lambda store: duplicate_board(store, name),
                           lambda spec: self._on_board_created(token, spec), self._on_db_error)

    def _on_delete_requested(self) -> None:
        if self.spec is None:
            return
        name, stream = self.spec.name, self.spec.stream
        answer = QMessageBox.question(self, "Delete board", f"Delete the board “{name}”?\n\nIts calls stay in the "
                                      "store; only the board (its panels, grouping and filters) goes.",
                                      QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        self.ctx.db.submit(lambda store: delete_board(store, name), lambda _: self._on_deleted(stream),
                           self._on_db_error)

    def _on_deleted(self, stream: str) -> None:
        self.boardsChanged.emit()
        self.spec = None
        self.stream = stream
        token = self._next_token()
        self.ctx.db.submit(lambda store: jobs.stream_boards(store, stream),
                           lambda found: self._on_stream_boards_loaded(token, found), self._on_db_error)

    # -- panels -------------------------------------------------------------------------------------------------
    def _on_add_panel_requested(self) -> None:
        if self.spec is None:
            return
        panel = Panel(id=panel_layout.new_panel_id(self.spec.panels), title="New panel",
                      measures=[Measure(metric="requests", agg="count")], width=6, height=4)
        dialog = PanelEditor(panel, self, new=True)
        if dialog.exec() and dialog.result_panel is not None:
            self.add_panel(dialog.result_panel)
        dialog.deleteLater()

    def _on_edit_panel_requested(self, panel_id: str) -> None:
        if self.spec is None:
            return
        dialog = PanelEditor(self.spec.panel(panel_id), self)
        if dialog.exec() and dialog.result_panel is not None:
            self.replace_panel(dialog.result_panel)
        dialog.deleteLater()

    def add_panel(self, panel: Panel) -> bool:
        return self.update_board(panels=panel_layout.add(self.spec.panels, panel))

    def replace_panel(self, panel: Panel) -> bool:
        return self.update_board(panels=panel_layout.replace(self.spec.panels, panel))

    def _on_remove_panel_requested(self, panel_id: str) -> None:
        title = self.spec.panel(panel_id).title or panel_id
        if self.update_board(panels=panel_layout.remove(self.spec.panels, panel_id)):
            self._say(f"Removed the panel “{title}”", ok=True)

    def _on_move_panel_requested(self, panel_id: str, direction: str) -> None:
        self.update_board(panels=panel_layout.move(self.spec.panels, panel_id, direction))

    # -- live --------------------------------------------------------------------------------------------------
    def _on_records_changed(self, _max_id: int) -> None:
        if self.spec is None:
            return
        if self.isVisible():
            self.live.request()
        else:
            self._stale = True

    def _on_ticker_timeout(self) -> None:
        if self.spec is not None and self.isVisible() and self.spec.time_range.kind != "custom":
            self.live.request()

    def showEvent(self, event) -> None:        # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale and self.spec is not None:
            self._stale = False
            self.live.request()

    def _start_refresh(self, done) -> None:
        spec, view = self.spec, self.view_key
        if spec is None:
            done()
            return

        def on_done(data: BoardData) -> None:
            done()
            self._on_refreshed(spec, data)

        def on_error(message: str) -> None:
            done()
            self._on_db_error(message)

        self.ctx.db.submit(lambda store: jobs.refresh(store, view, spec), on_done, on_error,
                           key=f"{self.view_key}-refresh")

    def _on_refreshed(self, spec: BoardSpec, data: BoardData) -> None:
        if spec is not self.spec:
            return                                   # the board changed since: a newer refresh is coming
        new_calls = self.data is None or data.last_id != self.data.last_id
        first = self.drawn_spec is not spec
        self.data = data
        self.drawn_spec = spec
        self.view.apply(data)
        if first:
            self.view.reload_tables()
        elif new_calls:
            self._reload_tables()                    # throttled: a busy stream re-reads the table 1/s
        self.toolbar.set_live_text(self._live_text(data))
        self.toolbar.set_auto_bucket(data.bucket_s if self.spec.bucket_s is None else None)
        self.budgets.on_refreshed(self.spec, data)

    def _live_text(self, data: BoardData) -> str:
        s = data.summary
        what = "snapshot" if self.origin == "imported" else "● live"
        when = time.strftime('%H:%M:%S', time.localtime(data.computed_at))
        return f"{what} · {fmt.plural(s.requests, 'call')} · {when}"

    # -- fetching for the requests table ---------------------------------------------------------------------------
    def _fetch_page(self, offset, limit, bucket, group, on_done) -> None:
        """on_done is a table's bound method: the table is the op's parent (no answer once it is gone) and
        its newest read wins (a reload drops a page still on its way)."""
        spec, view = self.spec, self.view_key
        if spec is None:
            return
        self.ctx.db.submit(lambda store: jobs.requests(store, view, spec, offset, limit, bucket, group), on_done,
                           self._on_db_error, key="rows")

    def _fetch_record(self, record_id: int, on_done) -> None:
        self.ctx.db.submit(lambda store: jobs.record(store, record_id), on_done, self._on_db_error,
                           key=f"{self.view_key}-record")

    # -- files and messages ---------------------------------------------------------------------------------------
    def _on_imported(self, result: jobs.FileResult) -> None:
        if not result.ok:
            QMessageBox.warning(self, "Can't open this board file", result.message)
            return
        self.boardsChanged.emit()
        self._message_after_open = (f"Opened “{result.board}” (an imported copy in stream “{result.stream}”)", True)
        self.open_board(result.board)

    def _on_file_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Board file", message)

    def _on_db_error(self, message: str) -> None:
        self._say(f"Store error: {message}")

    def _say(self, text: str, ok: bool = False) -> None:
        self.header.show_message(text, ok)

    def _caption(self) -> str:
        parts = [f"stream {self.spec.stream}"]
        if self.data is not None:
            start = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.data.start))
            end = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.data.end))
            parts.append(f"{start} – {end}")
            if self.spec.group_by:
                parts.append(f"grouped by {self.spec.group_by}")
        return "  ·  ".join(parts)
