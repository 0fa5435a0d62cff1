"""A top-N panel: the groups of one key ranked by a measure (computed in monitor/boards/topn.py), as a
small read-only table — group, the measures, calls; long group names are elided with a tooltip."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from monitor.boards import BoardData, Panel, PanelData

from .units import axis_seconds, format_value, is_missing, ms_text

KEY_SHARE = 0.4              # the name column keeps at least this share of the width (numbers scroll instead)
UNITS_SPELLED = ("USD", "ms", "ratio")      # other units (tokens, requests) are in the column's header


def cell_text(value: float | None, unit: str, seconds: bool) -> str:
    if is_missing(value):
        return format_value(value, unit)
    if unit == "ms":
        return ms_text(value, seconds)
    if unit in UNITS_SPELLED or unit.startswith("USD"):
        return format_value(value, unit)
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


class TopPanel(QWidget):
    def __init__(self, panel: Panel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setTextElideMode(Qt.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.note = QLabel("", objectName="mutedLabel")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    def apply(self, data: BoardData, pd: PanelData) -> None:
        # a "calls" column, unless a measure already counts them
        self.show_calls = not any(s.key == "requests.count" for s in pd.stats)
        heads = [pd.top_by or "group", *(s.label if s.unit in UNITS_SPELLED or s.unit in s.label else f"{s.label} ({s.unit})"
                                         for s in pd.stats), *(["calls"] if self.show_calls else [])]
        t = self.table
        t.setColumnCount(len(heads))
        t.setHorizontalHeaderLabels(heads)
        t.setRowCount(len(pd.top))
        seconds = [axis_seconds(max((abs(r.values[i]) for r in pd.top if not is_missing(r.values[i])), default=0))
                   for i in range(len(pd.stats))]
        for row, r in enumerate(pd.top):
            key = QTableWidgetItem(r.key)
            key.setToolTip(r.key)
            t.setItem(row, 0, key)
            for i, (s, v) in enumerate(zip(pd.stats, r.values), start=1):
                item = QTableWidgetItem(cell_text(v, s.unit, seconds[i - 1]))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(row, i, item)
            if self.show_calls:
                calls = QTableWidgetItem(f"{r.calls:,}")
                calls.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(row, len(heads) - 1, calls)
        header = t.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Fixed)         # the name takes the room left, elided in the middle
        for c in range(1, len(heads)):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self._fit_columns()
        empty = not pd.top
        self.note.setText("No calls in this range." if empty else pd.note)
        self.note.setVisible(empty or bool(pd.note))

    def resizeEvent(self, event) -> None:       # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        t = self.table
        if not t.columnCount():
            return
        numbers = sum(t.horizontalHeader().sectionSize(c) for c in range(1, t.columnCount()))
        room = t.viewport().width()
        t.setColumnWidth(0, max(room - numbers, int(room * KEY_SHARE), 40))

    def cell_text(self, row: int, column: int) -> str:
        return self.table.item(row, column).text()
