"""The playground's conversation: a column of messages, each with a role and its text."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QPlainTextEdit, QScrollArea, QToolButton,
                               QVBoxLayout, QWidget)

ROLES = ("system", "user", "assistant", "developer")
_PLACEHOLDERS = {
    "system": "System message — how the assistant should behave, e.g. “you always write in bullet points”",
    "user": "User message — {variables} in braces are filled from the values table; {{ and }} are literal braces",
    "assistant": "An earlier assistant reply (for few-shot examples or a conversation)",
    "developer": "Developer message (newer models' name for the system message)",
}


class _GrowingTextEdit(QPlainTextEdit):
    """Grows with its text between min_lines and max_lines, then scrolls."""

    def __init__(self, min_lines: int, max_lines: int, parent: QWidget | None = None):
        super().__init__(parent)
        self._min_lines, self._max_lines = min_lines, max_lines
        self.setTabChangesFocus(True)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def _fit(self) -> None:
        # A plain-text document's height is counted in lines, wrapped lines included.
        lines = max(self._min_lines, min(self._max_lines, int(self.document().size().height())))
        line = QFontMetrics(self.font()).lineSpacing()
        frame = 2 * self.frameWidth() + 2 * int(self.document().documentMargin())
        self.setFixedHeight(lines * line + frame + 2)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit()


class MessageEditor(QFrame):
    changed = Signal()
    removeRequested = Signal(object)

    def __init__(self, role: str = "user", content: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.role_combo = QComboBox()
        self.role_combo.addItems(ROLES)
        self.role_combo.setFixedWidth(104)
        self.text = _GrowingTextEdit(2 if role == "system" else 3, 12)
        self.text.setPlainText(content)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this message")
        self.remove_button.setAutoRaise(True)

        side = QVBoxLayout()
        side.addWidget(self.role_combo)
        side.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 6, 6, 6)
        row.addLayout(side)
        row.addWidget(self.text, 1)
        row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)

        self.set_role(role)
        self.role_combo.currentTextChanged.connect(self._on_role_changed)
        self.text.textChanged.connect(self.changed)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))

    def role(self) -> str:
        return self.role_combo.currentText()

    def set_role(self, role: str) -> None:
        if self.role_combo.findText(role) < 0:
            self.role_combo.addItem(role)
        self.role_combo.setCurrentText(role)
        self.text.setPlaceholderText(_PLACEHOLDERS.get(role, ""))

    def content(self) -> str:
        return self.text.toPlainText()

    def _on_role_changed(self, role: str) -> None:
        self.text.setPlaceholderText(_PLACEHOLDERS.get(role, ""))
        self.changed.emit()


class MessageList(QScrollArea):
    """Messages top to bottom; at least one always stays."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        self._column = QVBoxLayout(body)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(6)
        self._column.addStretch(1)
        self.setWidget(body)
        self.editors: list[MessageEditor] = []

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Tall enough for the first two editors (system and user), so a squeezed layout never hides the prompt."""
        shown = self.editors[:2]
        height = sum(e.sizeHint().height() for e in shown) + self._column.spacing() * max(0, len(shown) - 1)
        return QSize(super().minimumSizeHint().width(), height + 2 * self.frameWidth())

    def add_message(self, role: str = "user", content: str = "") -> MessageEditor:
        editor = MessageEditor(role, content)
        editor.changed.connect(self.changed)
        editor.removeRequested.connect(self._on_editor_remove_requested)
        self._column.insertWidget(len(self.editors), editor)
        self.editors.append(editor)
        self._update_remove_buttons()
        self.updateGeometry()                       # the minimum height follows the first two editors
        self.changed.emit()
        return editor

    def remove_message(self, editor: MessageEditor) -> None:
        if editor not in self.editors or len(self.editors) <= 1:
            return
        self.editors.remove(editor)
        editor.setParent(None)
        editor.deleteLater()
        self._update_remove_buttons()
        self.updateGeometry()
        self.changed.emit()

    def messages(self) -> list[dict]:
        """As typed (templates unrendered); messages left empty are not sent."""
        return [{"role": e.role(), "content": e.content()} for e in self.editors if e.content().strip()]

    def set_messages(self, messages: list[dict]) -> None:
        self.blockSignals(True)
        try:
            for editor in list(self.editors):
                self.editors.remove(editor)
                editor.setParent(None)
                editor.deleteLater()
            for m in messages or [{"role": "user", "content": ""}]:
                self.add_message(m.get("role") or "user", m.get("content") or "")
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def _on_editor_remove_requested(self, editor: MessageEditor) -> None:
        self.remove_message(editor)

    def _update_remove_buttons(self) -> None:
        for e in self.editors:
            e.remove_button.setEnabled(len(self.editors) > 1)
