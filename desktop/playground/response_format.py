"""The reply's format for the Playground: text, any JSON object, or JSON matching a schema.

A JSON reply is shown formatted in the output once it is complete.
"""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout,
                               QWidget)

KINDS = (("text", "Text"), ("json_object", "JSON object"), ("json_schema", "JSON schema"))
EXAMPLE_SCHEMA = ('{\n  "type": "object",\n  "properties": {\n    "answer": {"type": "string"},\n'
                  '    "confidence": {"type": "number"}\n  },\n  "required": ["answer", "confidence"],\n'
                  '  "additionalProperties": false\n}')
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ResponseFormatEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = QComboBox(toolTip="response_format: free text, any JSON object, or JSON matching your schema")
        for value, label in KINDS:
            self.kind.addItem(label, value)
        self.name = QLineEdit("answer", placeholderText="schema name")
        self.strict = QCheckBox("strict", checked=True, toolTip="The reply must match the schema exactly")
        self.schema = QPlainTextEdit(EXAMPLE_SCHEMA)
        self.schema.setTabChangesFocus(True)
        self.schema.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))   # JSON reads in columns
        self.error = QLabel(wordWrap=True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color:#8c1d18;")
        self.hint = QLabel(wordWrap=True)
        self.hint.setStyleSheet("color: palette(placeholder-text);")
        top = QHBoxLayout()
        top.addWidget(self.kind)
        top.addWidget(self.name, 1)
        top.addWidget(self.strict)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.schema, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.hint)
        layout.addStretch(0)
        self.kind.currentIndexChanged.connect(self._on_edited)
        for signal in (self.name.textChanged, self.schema.textChanged, self.strict.toggled):
            signal.connect(self._on_edited)
        self._on_edited()

    def response_format(self) -> dict | None:
        """What to send as response_format (None for text), or ValueError with a one-line reason."""
        kind = self.kind.currentData()
        if kind == "text":
            return None
        if kind == "json_object":
            return {"type": "json_object"}
        name = self.name.text().strip()
        if not _NAME.match(name):
            raise ValueError("Response format: the schema name is 1–64 letters, digits, _ or -.")
        try:
            schema = json.loads(self.schema.toPlainText())
        except ValueError as exc:
            raise ValueError(f"Response format: the schema is not valid JSON (line {exc.lineno}, column "
                             f"{exc.colno}: {exc.msg}).") from None
        if not isinstance(schema, dict):
            raise ValueError("Response format: the schema must be a JSON object.")
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"Response format: not a valid JSON schema: {exc.message.splitlines()[0][:160]}.") from None
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema,
                                                       "strict": self.strict.isChecked()}}

    def set_response_format(self, fmt: Any) -> None:
        fmt = fmt if isinstance(fmt, dict) else {}
        kind = fmt.get("type") if fmt.get("type") in ("json_object", "json_schema") else "text"
        self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))
        spec = fmt.get("json_schema") or {}
        if kind == "json_schema":
            self.name.setText(str(spec.get("name") or "answer"))
            self.strict.setChecked(bool(spec.get("strict")))
            self.schema.setPlainText(json.dumps(spec.get("schema") or {}, indent=2, ensure_ascii=False))

    def wants_json(self) -> bool:
        return self.kind.currentData() != "text"

    def _on_edited(self, *_: Any) -> None:
        kind = self.kind.currentData()
        for widget in (self.name, self.strict, self.schema):
            widget.setVisible(kind == "json_schema")
        try:
            self.response_format()
            self.error.setText("")
        except ValueError as exc:
            self.error.setText(str(exc))
        self.error.setVisible(bool(self.error.text()))
        self.hint.setText({"text": "The model answers in free text.",
                           "json_object": "The model answers with a JSON object (say “JSON” in a message). "
                                          "It is shown formatted.",
                           "json_schema": "The reply matches this schema; it is shown formatted."}[kind])
        self.changed.emit()


def format_json_reply(text: str) -> str | None:
    """A JSON reply indented for reading; None when it is not JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return None
