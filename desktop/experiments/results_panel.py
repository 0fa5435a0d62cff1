"""The experiment's results: the matrix (a tab) and the flat table (a second tab), a detail pane that shows
the clicked cell in full with its scores, and a human rating (thumbs or 1–5) stored as a score."""
from __future__ import annotations


from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit,
                               QPushButton, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from monitor.experiments import CallResult, ExperimentCall

from ..call_stats import format_ms, format_usd
from .matrix_view import MatrixModel, MatrixView
from .table import SORT_ROLE, ExperimentResultsModel


class ResultsPanel(QWidget):
    ratingRequested = Signal(int, float, str)     # record id, value, scale ("thumbs" | "1-5")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix_model = MatrixModel(self)
        self.matrix = MatrixView()
        self.matrix.setModel(self.matrix_model)
        self.table_model = ExperimentResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.matrix, "Matrix")
        self.tabs.addTab(self.table, "Table")

        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Click a cell to read its whole output and its scores.")
        self.detail.setMinimumHeight(56)              # three lines; a short window gives the rest to the matrix
        self.thumbs_up = QPushButton("✓ Good")        # plain symbols: emoji fonts are often missing on Linux
        self.thumbs_down = QPushButton("✗ Bad")
        self.stars = QComboBox()
        self.stars.addItems(["Rate 1–5…", "1", "2", "3", "4", "5"])
        for w, tip in ((self.thumbs_up, "Good: stored as a human score (1) on this call"),
                       (self.thumbs_down, "Bad: stored as a human score (0) on this call"),
                       (self.stars, "A 1–5 rating, stored as a human score on this call")):
            w.setToolTip(tip)
        self.rating_label = QLabel()
        rating = QHBoxLayout()
        rating.addWidget(QLabel("Your rating:"))
        for w in (self.thumbs_up, self.thumbs_down, self.stars):
            rating.addWidget(w)
        rating.addWidget(self.rating_label, 1)
        detail_box = QWidget()
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail, 1)
        detail_layout.addLayout(rating)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tabs)
        split.addWidget(detail_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 90])
        QVBoxLayout(self).addWidget(split)
        self.setContentsMargins(0, 0, 0, 0)
        self.layout().setContentsMargins(0, 0, 0, 0)

        self.current: tuple[ExperimentCall, CallResult | None] | None = None
        self._set_rating_enabled(False)
        self.matrix.clicked.connect(self._on_matrix_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row_changed)
        self.thumbs_up.clicked.connect(lambda: self._rate(1, "thumbs"))
        self.thumbs_down.clicked.connect(lambda: self._rate(0, "thumbs"))
        self.stars.activated.connect(lambda i: i > 0 and self._rate(i, "1-5"))

    # -- filling ----------------------------------------------------------------------------------
    def reset(self, calls: list[ExperimentCall], variables: list[str], asserts: list[dict],
              kept: dict[int, CallResult] | None = None) -> None:
        self.table_model.reset(calls, variables, asserts)
        self.matrix_model.reset(calls, asserts, kept)
        for result in (kept or {}).values():
            self.table_model.set_result(result, from_store=True)
        self.current = None
        self.detail.clear()
        self._set_rating_enabled(False)

    def add_results(self, results: list[CallResult], *, from_store: bool = False) -> None:
        for r in results:
            self.table_model.set_result(r, from_store=from_store)
        self.matrix_model.set_results(results)
        if self.current is not None:
            call = self.current[0]
            fresh = next((r for r in results if r.index == call.index), None)
            if fresh is not None:
                self.show_cell(call, fresh)

    def mark_not_run(self, indexes: set[int]) -> None:
        self.table_model.mark_not_run(indexes)
        self.matrix_model.mark_not_run(indexes)

    # -- the clicked cell ---------------------------------------------------------------------------
    def show_cell(self, call: ExperimentCall, result: CallResult | None) -> None:
        self.current = (call, result)
        head = [f"#{call.index + 1} · {call.model} · repeat {call.repeat + 1} · "
                f"{self.table_model.status_of(call.index)}"]
        if result is not None:
            head.append(f"cost {format_usd(result.cost_usd)} · latency {format_ms(result.latency_ms)}"
                        + (f" · judges {format_usd(result.judge_cost_usd)}" if result.judge_cost_usd else ""))
        if call.system_prompt:
            head.append(f"system: {call.system_prompt}")
        head.append(f"user: {call.messages[-1]['content']}")
        body = ((result.error or result.output) if result else "") or ""
        scores = [f"{'✓' if s.passed else '✗'} {s.name}"
                  f"{'' if s.value is None or s.source == 'assert' else f' = {s.value:g}'}: {s.reason}"
                  for s in (result.scores.values() if result else [])]
        tail = "\n\nScores:\n" + "\n".join(scores) if scores else ""
        self.detail.setPlainText("\n".join(head) + "\n\n" + body + tail)
        self._set_rating_enabled(bool(result and result.record_id))
        human = next((s for s in (result.scores.values() if result else []) if s.source == "human"), None)
        self.rating_label.setText("" if human is None else f"rated {human.value:g}")

    def _on_matrix_clicked(self, index) -> None:
        found = self.matrix_model.cell(index.row(), index.column())
        if found is not None:
            self.show_cell(*found)

    def _on_table_row_changed(self, current, _previous) -> None:
        if current.isValid():
            row = self.proxy.mapToSource(current).row()
            self.show_cell(self.table_model.calls[row], self.table_model.results.get(row))

    def _rate(self, value: float, scale: str) -> None:
        if self.current and self.current[1] is not None and self.current[1].record_id:
            self.rating_label.setText("saving…")
            self.ratingRequested.emit(self.current[1].record_id, float(value), scale)

    def _set_rating_enabled(self, enabled: bool) -> None:
        for w in (self.thumbs_up, self.thumbs_down, self.stars):
            w.setEnabled(enabled)
        if not enabled:
            self.stars.setCurrentIndex(0)
