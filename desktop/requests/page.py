"""The Requests page: the selected stream's calls, newest first, live, with the selected call in detail."""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QSplitter, QStackedWidget, QTableView, QVBoxLayout, QWidget)

from monitor.conversations import has_links, thread_for
from monitor.queries import stream_models
from monitor.record import STATUSES, Record

from .. import formatting as fmt
from .. import tasks
from ..context import AppContext
from .record_detail import COPY_AS_PYTHON_SHORTCUT, OPEN_IN_PLAYGROUND_SHORTCUT, RecordDetail
from .model import RequestFilter, RequestsModel
from .conversation_view import thread_view
from . import scores_adapter
from .snippet import python_snippet

_COLUMN_WIDTHS = (112, 150, 118, 86, 92, 96, 88, 80, 70, 150)
_EMPTY_HINT = ("<p style='font-size:14px'><b>No calls in this stream yet.</b></p>"
               "<p>Log calls from any Python program — they appear here as they land:</p>"
               "<pre style='background:#f6f8fa; padding:8px'>"
               "import openai\nfrom monitor import init_monitor\n\n"
               "m = init_monitor(\"{stream}\")\n"
               "client = m.wrap(openai.OpenAI())\n"
               "client.chat.completions.create(model=\"gpt-4o-mini\", messages=[...])</pre>"
               "<p>Or try a prompt in the Playground (Ctrl+1).</p>")


class RequestsPage(QWidget):
    openInPlaygroundRequested = Signal(object)     # Record
    message = Signal(str)                          # a short note for the status bar

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.stream = ""
        self.model = RequestsModel(ctx.db, self)
        self._selected_id: int | None = None
        self._build()
        self._build_actions()
        self.model.totalChanged.connect(self._on_model_total_changed)
        self.model.firstPageLoaded.connect(self._on_model_first_page_loaded)
        self.model.loadFailed.connect(self._on_model_load_failed)
        self.model.rowsInserted.connect(self._on_model_rows_inserted)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        ctx.recordsChanged.connect(self._on_records_changed)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel("Requests", objectName="pageTitle")
        self.total_label = QLabel(objectName="mutedLabel")
        # Narrow windows: the combo is as wide as 14 characters (not its longest model), the title may clip.
        self.model_filter = QComboBox(objectName="modelFilter", minimumContentsLength=14,
                                      sizeAdjustPolicy=QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_filter.addItem("All models", "")
        self.status_filter = QComboBox(objectName="statusFilter")
        self.status_filter.addItem("Any status", "")
        for status in STATUSES:
            self.status_filter.addItem(status.capitalize(), status)
        self.search = QLineEdit(objectName="searchBox", placeholderText="Search prompts, outputs, attributes…",
                                clearButtonEnabled=True)
        self.search.setMinimumWidth(180)
        self._search_timer = QTimer(self, singleShot=True, interval=300)   # type, pause, then query
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        self.model_filter.currentIndexChanged.connect(self._apply_filter)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)

        self.title.setMinimumWidth(140)
        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addWidget(self.total_label)
        bar.addStretch(1)
        bar.addWidget(self.model_filter)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.search)

        self.table = QTableView(objectName="requestsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)   # no per-row size pass
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        for col, width in enumerate(_COLUMN_WIDTHS):
            header.resizeSection(col, width)
        self.table.doubleClicked.connect(self._on_table_double_clicked)

        self.empty = QLabel(objectName="emptyRequests", alignment=Qt.AlignTop | Qt.AlignLeft, wordWrap=True,
                            textFormat=Qt.RichText)
        self.empty.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.empty.setContentsMargins(24, 24, 24, 24)
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty)

        self.detail = RecordDetail()
        self.detail.openInPlaygroundRequested.connect(self.openInPlaygroundRequested)
        self.detail.copyAsPythonRequested.connect(self._copy_as_python)
        self.detail.enable_rating(scores_adapter.AVAILABLE)
        self.detail.ratingGiven.connect(self._on_rating_given)

        self.splitter = QSplitter(Qt.Vertical, objectName="requestsSplitter")
        self.splitter.addWidget(self.table_stack)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

    def _build_actions(self) -> None:
        # Page-scoped: Ctrl+P means "open the selected call" only while this page has focus.
        self.open_in_playground_action = QAction("Open in Playground", self, shortcut=OPEN_IN_PLAYGROUND_SHORTCUT,
                                                 shortcutContext=Qt.WidgetWithChildrenShortcut)
        self.open_in_playground_action.triggered.connect(self._on_open_in_playground_triggered)
        self.copy_action = QAction("Copy as Python", self, shortcut=COPY_AS_PYTHON_SHORTCUT,
                                   shortcutContext=Qt.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self._on_copy_triggered)
        self.addAction(self.open_in_playground_action)
        self.addAction(self.copy_action)
        self._update_actions()

    def set_playground_available(self, available: bool) -> None:
        self.detail.playground_button.setVisible(available)
        self.open_in_playground_action.setVisible(available)

    # -- stream and filters ---------------------------------------------------------------------------
    def set_stream(self, name: str) -> None:
        if name == self.stream:
            return
        self.stream = name
        self.title.setText(f"Requests — {name}" if name else "Requests")
        self.title.setToolTip(self.title.text())
        self.model_filter.blockSignals(True)
        self.model_filter.clear()
        self.model_filter.addItem("All models", "")
        self.model_filter.blockSignals(False)
        if name:
            tasks.QueryOp(self.ctx.db, lambda s: stream_models(s, name), parent=self,
                          success=lambda models: self._on_models_loaded(name, models)).latest("models").run_in_background()
        self._apply_filter()

    def current_filter(self) -> RequestFilter:
        return RequestFilter(stream=self.stream, model=self.model_filter.currentData() or "",
                             status=self.status_filter.currentData() or "", text=self.search.text().strip())

    def _apply_filter(self) -> None:
        self._selected_id = None
        self.detail.set_record(None)
        self.model.set_filter(self.current_filter())
        self._update_actions()

    def refresh(self) -> None:
        self.model.reload()

    def _on_models_loaded(self, stream: str, models: list[str]) -> None:
        if stream != self.stream:
            return
        for name in models:
            self._add_model_choice(name)

    def _add_model_choice(self, name: str) -> None:
        if name and name != fmt.UNKNOWN and self.model_filter.findData(name) < 0:
            self.model_filter.addItem(name, name)

    # -- live ---------------------------------------------------------------------------------------
    def _on_records_changed(self, _max_id: int) -> None:
        self.model.refresh_new()

    def _on_model_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in self.model.rows[first:last + 1]:
            self._add_model_choice(row.model)
        self._show_table_or_hint()
        if first == 0 and not self.table.currentIndex().isValid():
            self.select_row(0)               # the first calls of an empty stream: show one, not a blank pane

    def _on_model_total_changed(self, total: int) -> None:
        shown = self.model.rowCount()
        text = f"{fmt.count(total)} calls" if total != 1 else "1 call"
        if self.model.filter.model or self.model.filter.status or self.model.filter.text:
            text += " match"
        self.total_label.setText(text if shown or total else "")

    def _on_model_first_page_loaded(self) -> None:
        self._show_table_or_hint()
        if self.model.rowCount() and not self.table.currentIndex().isValid():
            self.select_row(0)

    def _on_model_load_failed(self, message: str) -> None:
        self.message.emit(f"Could not read the requests: {message}")

    def _show_table_or_hint(self) -> None:
        filtered = self.model.filter.model or self.model.filter.status or self.model.filter.text
        if self.model.rowCount() or filtered or not self.stream:
            self.table_stack.setCurrentIndex(0)
        else:
            self.empty.setText(_EMPTY_HINT.replace("{stream}", self.stream))
            self.table_stack.setCurrentIndex(1)

    # -- selection and detail ---------------------------------------------------------------------------
    def select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)

    def _on_table_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        record_id = self.model.record_id(current.row()) if current.isValid() else None
        if record_id == self._selected_id:
            return
        self._selected_id = record_id
        self._update_actions()
        if record_id is None:
            self.detail.set_record(None)
            return
        tasks.QueryOp(self.ctx.db, lambda s: s.record(record_id), parent=self,
                      success=self._on_record_loaded).failure(self._on_detail_failed).latest("detail").run_in_background()

    def _on_record_loaded(self, record: Record | None) -> None:
        self.detail.set_record(record)
        self._update_actions()
        if record is not None and has_links(record):
            # The thread's lookups and its HTML both run on the DB lane; the GUI thread only shows it.
            tasks.QueryOp(self.ctx.db, lambda s: thread_view(thread_for(s, record.id), record), parent=self,
                          success=self.detail.set_thread_view).failure(self._on_detail_failed) \
                .latest("thread").run_in_background()
        if record is not None and scores_adapter.AVAILABLE:
            record_id = record.id
            tasks.QueryOp(self.ctx.db, lambda s: scores_adapter.load(s, record_id), parent=self,
                          success=self._on_scores_loaded).failure(self._on_detail_failed) \
                .latest("scores").run_in_background()

    def _on_rating_given(self, record_id: int, name: str, value: object, passed: object) -> None:
        # A write: never keyed (latest-wins would skip it); the read after it is.
        tasks.QueryOp(self.ctx.db, lambda s: scores_adapter.rate(s, record_id, name, value=value, passed=passed),
                      parent=self).failure(self._on_detail_failed).run_in_background()
        tasks.QueryOp(self.ctx.db, lambda s: scores_adapter.load(s, record_id), parent=self,
                      success=self._on_scores_loaded).failure(self._on_detail_failed) \
            .latest("scores").run_in_background()
        self.message.emit(f"Rated call #{record_id}.")

    def _on_scores_loaded(self, scores: list[dict]) -> None:
        self.detail.set_scores([scores_adapter.describe(s) for s in scores])

    def _on_detail_failed(self, exc: BaseException) -> None:
        self.message.emit(f"Could not read the call: {type(exc).__name__}: {exc}")

    def _update_actions(self) -> None:
        has = self.detail.record is not None
        self.open_in_playground_action.setEnabled(has)
        self.copy_action.setEnabled(has)

    def _on_table_double_clicked(self, _index: QModelIndex) -> None:
        self._on_open_in_playground_triggered()

    def _on_open_in_playground_triggered(self) -> None:
        if self.detail.record is not None and self.open_in_playground_action.isVisible():
            self.openInPlaygroundRequested.emit(self.detail.record)

    def _on_copy_triggered(self) -> None:
        if self.detail.record is not None:
            self._copy_as_python(self.detail.record)

    def _copy_as_python(self, record: Record) -> None:
        base_url = None
        try:
            base_url = self.ctx.profiles.get(self.ctx.current_profile).base_url
        except KeyError:
            pass
        QGuiApplication.clipboard().setText(python_snippet(record, base_url))
        self.message.emit(f"Copied a Python script that repeats call #{record.id}.")

    # -- state --------------------------------------------------------------------------------------------
    def save_state(self) -> None:
        s = self.ctx.settings
        s.setValue("requests/splitter", self.splitter.saveState())
        s.setValue("requests/header", self.table.horizontalHeader().saveState())

    def restore_state(self) -> None:
        s = self.ctx.settings
        if (state := s.value("requests/splitter")) is not None:
            self.splitter.restoreState(state)
        if (header := s.value("requests/header")) is not None:
            self.table.horizontalHeader().restoreState(header)
