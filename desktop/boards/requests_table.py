"""The board's requests table: the calls the board counts, newest first, loaded a page at a time on the
DB worker (engine.requests_page), with the selected call's messages and output beside it.  A click on a
chart bucket narrows it to that bucket (and group); the chip above the table clears that."""
from __future__ import annotations

from typing import Callable

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSplitter, QTableView,
                               QToolButton, QVBoxLayout, QWidget)

from monitor.boards import Panel, RequestRow, RequestsPage
from monitor.record import Record

from .. import formatting as fmt
from ..item_models import OneCallPerCell
from ..requests.record_detail import RecordDetail
from ..style import status_color
from .units import bucket_text

PAGE_SIZE = 200
MAX_RELOAD = 2000          # a live reload re-reads at most this many of the rows already shown
HEADERS = {"ts": "Time", "model": "Model", "status": "Status", "api": "API", "prompt_tokens": "Prompt",
           "completion_tokens": "Output", "total_tokens": "Total", "cost_usd": "Cost",
           "latency_ms": "Latency", "ttft_ms": "TTFT", "group": "Group"}
# the widest usual text of each column: widths come from the font, not from pixels guessed on one screen
SAMPLES = {"ts": "Nov 26 18:32:14", "model": "gpt-4o-mini-2024", "status": "cancelled", "api": "chat.completions",
           "prompt_tokens": "Prompt", "completion_tokens": "12,345", "total_tokens": "12,345",
           "cost_usd": "$0.00000002", "latency_ms": "1,050 ms", "ttft_ms": "1,050 ms", "group": "summarize-v2"}
NUMERIC = {"prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "latency_ms", "ttft_ms"}

# fetch_page(offset, limit, bucket, group, on_done(RequestsPage)); fetch_record(id, on_done(Record | None)).
# on_done is the table's bound method: the fetcher makes the table the op's parent and its newest read win
# (tasks.py's `.latest`), so a removed panel or a superseded read is never called back.
PageFetcher = Callable[[int, int, "float | None", "str | None", Callable[[RequestsPage], None]], None]
RecordFetcher = Callable[[int, Callable[[Record | None], None]], None]


def cell_text(row: RequestRow, column: str) -> str:
    if column == "ts":
        return fmt.when(row.ts)
    if column in ("prompt_tokens", "completion_tokens", "total_tokens"):
        return fmt.tokens(getattr(row, column))
    if column == "cost_usd":
        return fmt.cost(row.cost_usd)
    if column in ("latency_ms", "ttft_ms"):
        return fmt.ms(getattr(row, column))
    value = getattr(row, column)
    return fmt.UNKNOWN if value is None else str(value)


class BoardRequestsModel(OneCallPerCell, QAbstractTableModel):
    moreWanted = Signal()

    def __init__(self, columns: list[str], parent=None):
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[RequestRow] = []
        self.total = 0
        self.loading = False

    def rowCount(self, parent=QModelIndex()) -> int:       # noqa: N802 (Qt's names)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:    # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return HEADERS.get(self.columns[section], self.columns[section])
        if orientation == Qt.Horizontal and role == Qt.TextAlignmentRole and self.columns[section] in NUMERIC:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role == Qt.DisplayRole:
            return cell_text(row, column)
        if role == Qt.TextAlignmentRole and column in NUMERIC:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ForegroundRole:
            if column == "status":
                return status_color(row.status)
            if column == "cost_usd" and row.cost_usd is None:
                return status_color("")
        if role == Qt.ToolTipRole and column == "ts":
            return fmt.full_time(row.ts)
        if role == Qt.ToolTipRole and column == "cost_usd" and row.cost_usd is None:
            return fmt.NO_PRICE_TIP
        return None

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and not self.loading and len(self.rows) < self.total

    def fetchMore(self, parent=QModelIndex()) -> None:     # noqa: N802
        if self.canFetchMore(parent):
            self.loading = True
            self.moreWanted.emit()

    def replace(self, page: RequestsPage) -> None:
        self.beginResetModel()
        self.rows, self.total = list(page.rows), page.total
        self.endResetModel()

    def append(self, page: RequestsPage) -> None:
        known = {r.id for r in self.rows}
        new = [r for r in page.rows if r.id not in known]
        self.total = page.total
        if new:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(new) - 1)
            self.rows.extend(new)
            self.endInsertRows()

    def row_of(self, record_id: int) -> int:
        for i, r in enumerate(self.rows):
            if r.id == record_id:
                return i
        return -1


class RequestsTablePanel(QWidget):
    filterChanged = Signal(str)                 # what a chart click narrowed the table to ("" = every call)
    selectionShown = Signal(object)        # the Record now in the detail pane (or None)

    def __init__(self, panel: Panel, fetch_page: PageFetcher, fetch_record: RecordFetcher,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self._fetch_page, self._fetch_record = fetch_page, fetch_record
        self.bucket: float | None = None
        self.bucket_s = 0
        self.group: str | None = None
        self._selected_id: int | None = None
        self.model = BoardRequestsModel(panel.columns, self)
        self.model.moreWanted.connect(self._on_model_more_wanted)

        self.count_label = QLabel("", objectName="mutedLabel")
        self.chip = QLabel("", objectName="bucketChip")
        self.chip.setStyleSheet("#bucketChip { background: #ddf4ff; color: #0550ae; border-radius: 9px; "
                                "padding: 1px 8px; }")
        self.clear_button = QToolButton(text="✕", toolTip="Show every call of the board again", autoRaise=True)
        self.clear_button.clicked.connect(self.clear_bucket)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.count_label)
        bar.addWidget(self.chip)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)

        self.table = QTableView(objectName="requestsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        cells = self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)                       # the stylesheet sets headers in bold
        heads = QFontMetrics(bold)
        for i, column in enumerate(self.model.columns):
            width = max(cells.horizontalAdvance(SAMPLES.get(column, "12,345")),
                        heads.horizontalAdvance(HEADERS.get(column, column)))
            header.resizeSection(i, width + 18)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)

        self.detail = RecordDetail()
        self.detail.playground_button.hide()          # the Requests page offers these; here: read
        self.detail.copy_button.hide()
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        self._show_filter()

    # -- what the table shows -----------------------------------------------------------------------------
    def set_grouped(self, grouped: bool) -> None:
        if "group" in self.model.columns:
            self.table.setColumnHidden(self.model.columns.index("group"), not grouped)

    def set_bucket(self, bucket: float | None, bucket_s: int = 0, group: str | None = None) -> None:
        """Only the calls of one bucket (and group); None = all the board's calls."""
        self.bucket, self.bucket_s, self.group = bucket, bucket_s, group if bucket is not None else None
        self._show_filter()
        self.reload(fresh=True)

    def clear_bucket(self) -> None:
        self.set_bucket(None)

    def _show_filter(self) -> None:
        on = self.bucket is not None
        text = bucket_text(self.bucket, self.bucket_s) if on else ""
        if on and self.group is not None:
            text += f" · {self.group}"
        self.chip.setText(f"Filtered to {text}" if on else "")
        self.chip.setVisible(on)
        self.clear_button.setVisible(on)
        self.filterChanged.emit(text)

    def reload(self, fresh: bool = False) -> None:
        """Read the rows again (after a refresh: new calls on top); keeps the selection by id."""
        limit = PAGE_SIZE if fresh else min(max(len(self.model.rows), PAGE_SIZE), MAX_RELOAD)
        self.model.loading = True
        self._fetch_page(0, limit, self.bucket, self.group, self._on_page_loaded)

    def _on_page_loaded(self, page: RequestsPage) -> None:
        self.model.loading = False
        selected = self._selected_id
        self.model.replace(page)
        self._update_count()
        row = self.model.row_of(selected) if selected is not None else -1
        if row < 0 and self.model.rows:
            row = 0
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(self.model.index(row, 0),
                                                        QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        else:
            self._show_record(None)

    def _on_model_more_wanted(self) -> None:
        self._fetch_page(len(self.model.rows), PAGE_SIZE, self.bucket, self.group, self._on_more_loaded)

    def _on_more_loaded(self, page: RequestsPage) -> None:
        self.model.loading = False
        self.model.append(page)
        self._update_count()

    def _update_count(self) -> None:
        n = self.model.total
        self.count_label.setText(f"{fmt.count(n)} call{'s' if n != 1 else ''}, newest first")

    # -- the selected call ----------------------------------------------------------------------------------
    def _on_table_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or current.row() >= len(self.model.rows):
            return
        record_id = self.model.rows[current.row()].id
        if record_id == self._selected_id and self.detail.record is not None:
            return
        self._selected_id = record_id
        self._fetch_record(record_id, lambda record: self._on_record_loaded(record_id, record))

    def _on_record_loaded(self, record_id: int, record: Record | None) -> None:
        if record_id == self._selected_id and shiboken6.isValid(self.detail):
            self._show_record(record)

    def _show_record(self, record: Record | None) -> None:
        if record is None:
            self._selected_id = None
        self.detail.set_record(record)
        self.selectionShown.emit(record)
