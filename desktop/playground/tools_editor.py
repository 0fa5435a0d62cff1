"""Function tools for the Playground: each a name, a description and its parameters' JSON schema.

Each tool says what is wrong with it in one line as you type; Run refuses to send until all are valid.
"""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QScrollArea, QToolButton, QVBoxLayout, QWidget)

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")          # what the API accepts as a function name
EXAMPLE_PARAMETERS = ('{\n  "type": "object",\n  "properties": {\n    "city": {"type": "string"}\n  },\n'
                      '  "required": ["city"]\n}')
CHOICES = ("auto", "required", "none")


def parse_parameters(text: str) -> dict:
    """The parameters JSON schema, or ValueError with a one-line reason."""
    if not text.strip():
        return {"type": "object", "properties": {}}
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"parameters are not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(schema, dict):
        raise ValueError("parameters must be a JSON object (a JSON schema)")
    if schema.get("type", "object") != "object":
        raise ValueError('parameters must describe an object ("type": "object")')
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise ValueError(f"parameters are not a valid JSON schema{f' at {where}' if where else ''}: "
                         f"{exc.message.splitlines()[0][:160]}") from None
    return schema


class ToolRow(QFrame):
    changed = Signal()
    removeRequested = Signal(object)

    def __init__(self, tool: dict | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        fn = (tool or {}).get("function") or {}
        self.name = QLineEdit(fn.get("name") or "", placeholderText="name, e.g. get_weather")
        self.description = QLineEdit(fn.get("description") or "", placeholderText="What it does (the model reads this)")
        self.parameters = QPlainTextEdit(placeholderText="Parameters JSON schema (empty: no parameters)")
        self.parameters.setTabChangesFocus(True)
        self.parameters.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))   # JSON reads in columns
        self.parameters.setFixedHeight(96)
        if "parameters" in fn:
            self.parameters.setPlainText(json.dumps(fn["parameters"], indent=2, ensure_ascii=False))
        self.error = QLabel(wordWrap=True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color:#8c1d18;")
        self.remove_button = QToolButton(text="✕", autoRaise=True, toolTip="Remove this tool")
        head = QHBoxLayout()
        head.addWidget(self.name, 1)
        head.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addLayout(head)
        layout.addWidget(self.description)
        layout.addWidget(self.parameters)
        layout.addWidget(self.error)
        for signal in (self.name.textChanged, self.description.textChanged, self.parameters.textChanged):
            signal.connect(self._on_edited)
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        for line in (self.name, self.description):
            line.setCursorPosition(0)            # a long name shows its start, not its end
        self._on_edited()

    def tool(self) -> dict:
        """The tool in the chat shape, or ValueError with a one-line reason."""
        name = self.name.text().strip()
        if not NAME.match(name):
            raise ValueError("a name is 1–64 letters, digits, _ or -" if name else "the tool needs a name")
        function: dict[str, Any] = {"name": name}
        if self.description.text().strip():
            function["description"] = self.description.text().strip()
        function["parameters"] = parse_parameters(self.parameters.toPlainText())
        return {"type": "function", "function": function}

    def _on_edited(self, *_: Any) -> None:
        try:
            self.tool()
            self.error.setText("")
        except ValueError as exc:
            self.error.setText(str(exc))
        self.error.setVisible(bool(self.error.text()))
        self.changed.emit()


class ToolsEditor(QWidget):
    """The tools and tool_choice the next Run sends (none: a plain chat call)."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[ToolRow] = []
        self.add_button = QPushButton("Add tool")
        self.add_button.setToolTip("A function the model may call; you type its result and Continue")
        self.choice = QComboBox(toolTip="tool_choice: auto (the model decides), required (must call one), "
                                        "none (must not), or one tool by name")
        self.hint = QLabel("No tools: the model answers in text. Add one to let it ask for a function call.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        body = QWidget()
        self._column = QVBoxLayout(body)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.addWidget(self.hint)
        self._column.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addStretch(1)
        bar.addWidget(QLabel("Choice"))
        bar.addWidget(self.choice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        self.add_button.clicked.connect(lambda: self.add_tool())
        self.choice.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self._refresh_choices()

    def add_tool(self, tool: dict | None = None) -> ToolRow:
        if tool is None:
            tool = {"function": {"name": f"tool_{len(self.rows) + 1}", "parameters": json.loads(EXAMPLE_PARAMETERS)}}
        row = ToolRow(tool)
        row.changed.connect(self._on_row_changed)
        row.removeRequested.connect(self.remove_tool)
        self._column.insertWidget(len(self.rows) + 1, row)
        self.rows.append(row)
        self._on_row_changed()
        return row

    def remove_tool(self, row: ToolRow) -> None:
        if row in self.rows:
            self.rows.remove(row)
            row.setParent(None)
            row.deleteLater()
            self._on_row_changed()

    def set_tools(self, tools: list[dict] | None, tool_choice: Any = None) -> None:
        for row in list(self.rows):
            self.remove_tool(row)
        for tool in tools or []:
            self.add_tool(tool)
        self.set_choice(tool_choice)

    def set_choice(self, tool_choice: Any) -> None:
        if isinstance(tool_choice, dict):
            tool_choice = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        index = self.choice.findData(tool_choice or "auto")
        self.choice.setCurrentIndex(max(index, 0))

    def tools(self) -> list[dict]:
        """The tools to send, or ValueError naming the first tool that is wrong and why, in one line."""
        tools, names = [], set()
        for i, row in enumerate(self.rows, 1):
            label = f"Tool {i}" + (f" “{row.name.text().strip()}”" if row.name.text().strip() else "")
            try:
                tool = row.tool()
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}.") from None
            if tool["function"]["name"] in names:
                raise ValueError(f"{label}: another tool has this name.")
            names.add(tool["function"]["name"])
            tools.append(tool)
        return tools

    def tool_choice(self) -> Any:
        data = self.choice.currentData()
        if data in CHOICES:
            return None if data == "auto" else data          # auto is the API's default: not sent
        return {"type": "function", "function": {"name": data}}

    def _on_row_changed(self) -> None:
        self.hint.setVisible(not self.rows)
        self._refresh_choices()
        self.changed.emit()

    def _refresh_choices(self) -> None:
        current = self.choice.currentData()
        self.choice.blockSignals(True)
        self.choice.clear()
        for choice in CHOICES:
            self.choice.addItem(choice, choice)
        for row in self.rows:
            name = row.name.text().strip()
            if name and self.choice.findData(name) < 0:
                self.choice.addItem(f"only {name}", name)
        self.choice.setCurrentIndex(max(self.choice.findData(current), 0))
        self.choice.blockSignals(False)
