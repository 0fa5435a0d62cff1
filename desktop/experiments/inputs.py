"""Inputs of an experiment that are lists: values per template variable, and the models to compare."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

from ..param_panel import ModelPicker, chat_models


def lines_of(text: str) -> list[str]:
    """One item per non-blank line, surrounding spaces trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when its pane is narrower than its text (the tooltip has it all)."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.fontMetrics().horizontalAdvance("…") * 4, super().minimumSizeHint().height())

    def paintEvent(self, _event: Any) -> None:  # noqa: N802
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())
        QPainter(self).drawText(self.contentsRect(), int(self.alignment()), text)


class ValuesEditor(QScrollArea):
    """A list editor (one value per line) for each variable of the template, in template order."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)   # narrow: labels wrap instead
        body = QWidget()
        self._column = QVBoxLayout(body)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.addStretch(1)
        self.setWidget(body)
        self.hint = QLabel("Write {variables} in the user prompt template; each gets a list of values here.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        self._column.insertWidget(0, self.hint)
        self.editors: dict[str, QPlainTextEdit] = {}
        self._kept: dict[str, str] = {}          # text of variables removed from the template, for undo-by-retyping
        self._boxes: dict[str, QWidget] = {}

    def set_variables(self, names: list[str]) -> None:
        if names == list(self.editors):
            return
        for name in list(self.editors):
            self._kept[name] = self.editors.pop(name).toPlainText()
            self._boxes.pop(name).deleteLater()
        for i, name in enumerate(names):
            box = QWidget()
            layout = QVBoxLayout(box)
            layout.setContentsMargins(0, 0, 0, 4)
            label = ElidedLabel(f"{{{name}}} — one value per line", toolTip=f"Values of {{{name}}}, one per line")
            edit = QPlainTextEdit(self._kept.get(name, ""))
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(64)
            edit.textChanged.connect(self.changed)
            layout.addWidget(label)
            layout.addWidget(edit)
            self._column.insertWidget(1 + i, box)
            self.editors[name], self._boxes[name] = edit, box
        self.hint.setVisible(not names)
        self.changed.emit()

    def values(self) -> dict[str, list[str]]:
        return {name: lines_of(edit.toPlainText()) for name, edit in self.editors.items()}

    def set_values(self, values: dict[str, list[str]]) -> None:
        for name, items in values.items():
            text = "\n".join(items)
            if name in self.editors:
                self.editors[name].setPlainText(text)
            else:
                self._kept[name] = text


class ModelChecklist(QWidget):
    """Tick the models to compare; any other name can be added."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setMinimumHeight(90)
        self.picker = ModelPicker()
        self.picker.setToolTip("Type any model name the server knows, then Add")
        self.add_button = QPushButton("Add")
        row = QHBoxLayout()
        row.addWidget(self.picker, 1)
        row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        for name in chat_models():
            self._item(name, checked=False)
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        self.add_button.clicked.connect(self._on_add_clicked)

    def _item(self, name: str, checked: bool) -> QListWidgetItem:
        items = self.list.findItems(name, Qt.MatchFlag.MatchExactly)
        item = items[0] if items else QListWidgetItem(name)
        if not items:
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.list.addItem(item)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        return item

    def models(self) -> list[str]:
        """Ticked models, checked ones first in list order."""
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_models(self, names: list[str]) -> None:
        self.list.blockSignals(True)
        try:
            for i in range(self.list.count()):
                self.list.item(i).setCheckState(Qt.CheckState.Unchecked)
            for position, name in enumerate(names):
                item = self._item(name, checked=True)
                self.list.takeItem(self.list.row(item))       # ticked models go to the top
                self.list.insertItem(position, item)
        finally:
            self.list.blockSignals(False)
        self.changed.emit()

    def _on_add_clicked(self) -> None:
        name = self.picker.model()
        if name:
            self.set_models([*self.models(), name] if name not in self.models() else self.models())
            self.picker.setCurrentIndex(-1)
