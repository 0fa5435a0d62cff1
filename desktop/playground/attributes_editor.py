"""Key/value attributes sent as `monitor_attributes` (boards group and filter by them)."""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


def parse_value(text: str) -> Any:
    """The typed text as JSON when it is JSON (3, true, null, [..], {..}, "quoted"), else as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def show_value(value: Any) -> str:
    """The inverse of parse_value: plain text stays plain unless it would read back as something else."""
    if isinstance(value, str) and parse_value(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


class AttributesEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Key", "Value"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 110)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("Numbers, true/false, lists and objects are sent as JSON values; anything else as text.")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())

    def attributes(self) -> dict[str, Any]:
        out = {}
        for row in range(self.table.rowCount()):
            key_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            key = key_item.text().strip() if key_item else ""
            if key:
                out[key] = parse_value(value_item.text() if value_item else "")
        return out

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(0)
            for key, value in attributes.items():
                self._append(key, show_value(value))
        finally:
            self.table.blockSignals(False)
        self.changed.emit()

    def _append(self, key: str, value: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(key))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        return row

    def _on_add_clicked(self) -> None:
        row = self._append("", "")
        self.table.editItem(self.table.item(row, 0))

    def _on_remove_clicked(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows or ([self.table.rowCount() - 1] if self.table.rowCount() else []):
            self.table.removeRow(row)
        self.changed.emit()
