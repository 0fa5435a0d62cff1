"""The tool calls the model asked for, each with a box for its result, and Continue.

Also says which tool turns the next request carries after the typed messages (Start over drops them).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from .tool_calls import pretty_arguments


class _CallBox(QFrame):
    def __init__(self, call: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.call = call
        self.setFrameShape(QFrame.Shape.StyledPanel)
        fn = call.get("function") or {}
        title = QLabel(f"{fn.get('name') or '?'}  ·  {call.get('id') or ''}")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setStyleSheet("font-weight:600;")
        arguments = QLabel(pretty_arguments(fn.get("arguments") or ""))
        arguments.setTextFormat(Qt.TextFormat.PlainText)
        arguments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        arguments.setStyleSheet("font-family: monospace; color:#333;")
        arguments.setWordWrap(True)
        self.result = QPlainTextEdit(placeholderText=f"The result of {fn.get('name') or 'this call'} "
                                                     "(text or JSON), sent back as the tool message")
        self.result.setTabChangesFocus(True)
        self.result.setFixedHeight(52)
        side = QVBoxLayout()
        side.addWidget(title)
        side.addWidget(arguments)
        side.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addLayout(side, 2)
        row.addWidget(self.result, 3)


class PendingToolsPanel(QWidget):
    continueRequested = Signal()
    startOverRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.boxes: list[_CallBox] = []
        self.pending_message: dict | None = None
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.turns_label = QLabel()
        self.turns_label.setTextFormat(Qt.TextFormat.PlainText)
        self.turns_label.setWordWrap(True)
        self.turns_label.setStyleSheet("color: palette(placeholder-text);")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Send the tool call and your results back; the answer streams in")
        self.start_over_button = QPushButton("Start over")
        self.start_over_button.setToolTip("Forget the tool turns: the next Run sends only the typed messages")
        self._calls = QVBoxLayout()
        self._calls.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.turns_label, 1)
        buttons.addWidget(self.start_over_button)
        buttons.addWidget(self.continue_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(self._calls)
        layout.addLayout(buttons)
        self.continue_button.clicked.connect(self.continueRequested)
        self.start_over_button.clicked.connect(self.startOverRequested)
        self.show_state(None, [])

    def show_state(self, pending_message: dict | None, turns: list[dict]) -> None:
        """The assistant turn waiting for results (or None) and the tool turns already in the conversation."""
        for box in self.boxes:
            box.setParent(None)
            box.deleteLater()
        self.boxes = []
        self.pending_message = pending_message
        for call in (pending_message or {}).get("tool_calls") or []:
            box = _CallBox(call)
            self._calls.addWidget(box)
            self.boxes.append(box)
        n = len(self.boxes)
        self.heading.setText(f"The model asked for {n} tool call{'s' if n != 1 else ''}: type "
                             f"{'each' if n != 1 else 'its'} result and press Continue." if n else "")
        self.heading.setVisible(bool(n))
        calls = sum(len(m.get("tool_calls") or []) for m in turns)
        results = sum(1 for m in turns if m.get("role") == "tool")
        self.turns_label.setText(f"Sent after your messages: {calls} earlier tool call{'s' if calls != 1 else ''} "
                                 f"and {results} result{'s' if results != 1 else ''}." if turns else "")
        self.continue_button.setVisible(bool(n))
        self.start_over_button.setVisible(bool(n or turns))
        self.setVisible(bool(n or turns))

    def results(self) -> list[tuple[dict, str]]:
        return [(box.call, box.result.toPlainText()) for box in self.boxes]

    def set_result(self, index: int, text: str) -> None:
        self.boxes[index].result.setPlainText(text)
