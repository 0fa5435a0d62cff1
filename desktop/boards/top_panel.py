"""A top-N panel: the groups of one key ranked by a measure (computed in monitor/boards/topn.py), as a
small read-only table — group, the measures, calls; long group names are elided with a tooltip."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from monitor.boards import BoardData, Panel, PanelData

from .units import axis_seconds, format_value, is_missing, ms_text


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
        heads = [pd.top_by or "group", *(s.label for s in pd.stats), "calls"]
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
                text = ms_text(v, seconds[i - 1]) if s.unit == "ms" and not is_missing(v) else format_value(v, s.unit)
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                t.setItem(row, i, item)
            calls = QTableWidgetItem(f"{r.calls:,}")
            calls.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            t.setItem(row, len(heads) - 1, calls)
        header = t.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)       # the name takes the room, elided in the middle
        for c in range(1, len(heads)):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        empty = not pd.top
        self.note.setText("No calls in this range." if empty else pd.note)
        self.note.setVisible(empty or bool(pd.note))

    def cell_text(self, row: int, column: int) -> str:
        return self.table.item(row, column).text()
