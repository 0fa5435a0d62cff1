"""The values table: one row per `{variable}` found in the messages, its value typed next to it."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

UNFILLED = QColor("#b3261e")


class VariablesTable(QTableWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Variable", "Value"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setVisible(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self._values: dict[str, str] = {}        # remembered even while a variable is out of the text
        self.itemChanged.connect(self._on_item_changed)

    def names(self) -> list[str]:
        return [self.item(r, 0).text() for r in range(self.rowCount())]

    def set_variables(self, names: list[str]) -> None:
        """Show exactly `names` (in order); values typed earlier for a name come back with it."""
        if names == self.names():
            return
        self.blockSignals(True)
        try:
            self.setRowCount(len(names))
            for row, name in enumerate(names):
                label = QTableWidgetItem(name)
                label.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.setItem(row, 0, label)
                self.setItem(row, 1, QTableWidgetItem(self._values.get(name, "")))
                self._style_row(row)
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def values(self) -> dict[str, str]:
        """Values of the variables shown (empty cells are left out: they count as unfilled)."""
        out = {}
        for row, name in enumerate(self.names()):
            value = self.item(row, 1).text()
            if value:
                out[name] = value
        return out

    def set_values(self, values: dict[str, str]) -> None:
        self._values.update({k: "" if v is None else str(v) for k, v in values.items()})
        self.blockSignals(True)
        try:
            for row, name in enumerate(self.names()):
                self.item(row, 1).setText(self._values.get(name, ""))
                self._style_row(row)
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def set_value(self, name: str, value: str) -> None:
        self.set_values({name: value})

    def _style_row(self, row: int) -> None:
        filled = bool(self.item(row, 1).text())
        label = self.item(row, 0)
        label.setForeground(QBrush() if filled else QBrush(UNFILLED))
        label.setToolTip("" if filled else "No value yet: sending is blocked until it has one")

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != 1:
            return
        name = self.item(item.row(), 0).text()
        self._values[name] = item.text()
        self.blockSignals(True)
        self._style_row(item.row())
        self.blockSignals(False)
        self.changed.emit()
