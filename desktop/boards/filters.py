"""The Filters popup: models and statuses (multi-select), attribute key = value conditions.  It edits a
monitor.boards.Filters and emits the new one when applied; the text search lives in the toolbar."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QToolButton, QVBoxLayout, QWidget)

from monitor.boards import AttributeFilter, Filters

from monitor.record import STATUSES  # noqa: E402  (defined once, with the Record)


def _checklist(items: list[str], checked: list[str]) -> QListWidget:
    view = QListWidget()
    for text in items:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        item.setCheckState(Qt.Checked if text in checked else Qt.Unchecked)
        view.addItem(item)
    row = view.sizeHintForRow(0) if items else view.fontMetrics().height() + 4
    view.setFixedHeight(min(max(len(items), 1), 8) * row + 2 * view.frameWidth() + 4)
    return view


def _checked(view: QListWidget) -> list[str]:
    return [view.item(i).text() for i in range(view.count()) if view.item(i).checkState() == Qt.Checked]


def parse_value(text: str):
    """What a typed attribute value means: numbers and true/false/null as JSON, anything else a string
    (the engine compares labels, so "3" and 3 both match an attribute 3)."""
    t = text.strip()
    if t in ("true", "false"):
        return t == "true"
    if t == "null":
        return None
    try:
        return int(t)
    except ValueError:
        pass
    return t


class FiltersPopup(QFrame):
    applied = Signal(object)                     # Filters

    def __init__(self, filters: Filters, models: list[str], keys: list[str], values: dict[str, list[str]],
                 parent: QWidget | None = None):
        super().__init__(parent, Qt.Popup)
        self.setObjectName("filtersPopup")
        self.setStyleSheet("#filtersPopup { background: white; border: 1px solid #d0d7de; }")
        self.filters = filters
        self.values = values
        self.models = _checklist(sorted(set(models) | set(filters.models)), filters.models)
        self.statuses = _checklist(list(STATUSES), filters.statuses)
        self.conditions: list[AttributeFilter] = list(filters.attributes)
        self.conditions_box = QVBoxLayout()
        self.key = QComboBox(editable=True)
        self.key.addItems(keys)
        self.key.setCurrentText("")
        self.key.lineEdit().setPlaceholderText("attribute key")
        self.value = QComboBox(editable=True)
        self.value.lineEdit().setPlaceholderText("value")
        self.key.currentTextChanged.connect(self._on_key_text_changed)
        add = QPushButton("Add")
        add.clicked.connect(self._on_add_clicked)
        new_condition = QHBoxLayout()
        new_condition.addWidget(self.key, 1)
        new_condition.addWidget(QLabel("="))
        new_condition.addWidget(self.value, 1)
        new_condition.addWidget(add)

        clear = QPushButton("Clear all")
        clear.clicked.connect(self._on_clear_clicked)
        apply = QPushButton("Apply", default=True)
        apply.clicked.connect(self._on_apply_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(clear)
        buttons.addStretch(1)
        buttons.addWidget(apply)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(QLabel("<b>Models</b>" if models else "<b>Models</b> (none seen yet)"))
        layout.addWidget(self.models)
        layout.addWidget(QLabel("<b>Status</b>"))
        layout.addWidget(self.statuses)
        layout.addWidget(QLabel("<b>Attributes</b> (all must match)"))
        layout.addLayout(self.conditions_box)
        layout.addLayout(new_condition)
        layout.addLayout(buttons)
        self.setMinimumWidth(380)
        self._show_conditions()

    def _show_conditions(self) -> None:
        while self.conditions_box.count():
            w = self.conditions_box.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for i, cond in enumerate(self.conditions):
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(QLabel(f"{cond.key} = {cond.value!r}" if not isinstance(cond.value, str)
                                  else f"{cond.key} = {cond.value}"), 1)
            remove = QToolButton(text="✕", autoRaise=True, toolTip="Remove this condition")
            remove.clicked.connect(lambda _=False, k=i: self._on_remove_clicked(k))
            line.addWidget(remove)
            self.conditions_box.addWidget(row)

    def _on_key_text_changed(self, key: str) -> None:
        self.value.clear()
        self.value.addItems(self.values.get(key, []))
        self.value.setCurrentText("")

    def _on_add_clicked(self) -> None:
        key = self.key.currentText().strip()
        if not key:
            return
        try:
            self.conditions.append(AttributeFilter(key=key, value=parse_value(self.value.currentText())))
        except ValueError:
            self.key.lineEdit().selectAll()
            return
        self.key.setCurrentText("")
        self._show_conditions()

    def _on_remove_clicked(self, index: int) -> None:
        del self.conditions[index]
        self._show_conditions()

    def _on_clear_clicked(self) -> None:
        for view in (self.models, self.statuses):
            for i in range(view.count()):
                view.item(i).setCheckState(Qt.Unchecked)
        self.conditions = []
        self._show_conditions()

    def current(self) -> Filters:
        if self.key.currentText().strip():            # a condition typed but not added still counts
            self._on_add_clicked()
        return self.filters.model_copy(update={"models": _checked(self.models), "statuses": _checked(self.statuses),
                                               "attributes": list(self.conditions)})

    def _on_apply_clicked(self) -> None:
        self.applied.emit(Filters.model_validate(self.current().model_dump()))
        self.close()
