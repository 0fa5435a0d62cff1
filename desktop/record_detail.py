"""The selected call, readable: messages by role, the output, usage, attributes, parameters, error."""
from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QStackedWidget, QTabWidget, QTextBrowser, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from monitor.capture import prompt_messages
from monitor.record import Record

from . import formatting as fmt
from .style import MUTED, ROLE_COLORS, STATUS_COLORS

_PROMPT_KEYS = {"messages", "input", "instructions", "prompt"}     # shown as messages, not parameters
OPEN_IN_PLAYGROUND_SHORTCUT = QKeySequence("Ctrl+P")
COPY_AS_PYTHON_SHORTCUT = QKeySequence("Ctrl+Shift+C")


def _content_text(content: Any) -> str:
    """Chat content is a string or a list of parts (text, image, audio...)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, dict):
                kind = part.get("type", "")
                text = part.get("text") or part.get("input_text") or part.get("output_text")
                pieces.append(text if isinstance(text, str) else f"[{kind or 'part'}]")
            else:
                pieces.append(str(part))
        return "\n".join(pieces)
    return json.dumps(content, indent=2, default=str)


def _block(role: str, text: str, color: str, note: str = "") -> str:
    label = html.escape(role)
    if note:
        label += f" <span style='color:{MUTED}; font-weight:normal'>{html.escape(note)}</span>"
    body = html.escape(text) if text else f"<span style='color:{MUTED}'>(empty)</span>"
    return (f"<p style='margin:10px 0 2px 0; color:{color}; font-weight:600'>{label}</p>"
            f"<div style='white-space:pre-wrap; margin:0 0 4px 0; padding-left:10px'>{body}</div>")


def conversation_html(record: Record) -> str:
    parts = []
    if record.error:
        parts.append(_block("Error", record.error, STATUS_COLORS["error"]))
    for message in prompt_messages(record.api, record.request or {}):
        role = str(message.get("role") or "input")
        text = _content_text(message.get("content"))
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {}) if isinstance(call, dict) else {}
            text += f"\n→ {fn.get('name', '?')}({fn.get('arguments', '')})"
        parts.append(_block(role.capitalize(), text, ROLE_COLORS.get(role, MUTED)))
    if record.api == "embeddings":
        parts.append(_block("Output", "embedding vectors are not stored", MUTED))
    elif record.output is None and not prompt_messages(record.api, record.request or {}):
        # a numbers-only board file: no prompt and no output were exported, which is not an empty reply
        parts.append(_block("Content", "not included in this file (a board file exported without prompts "
                                       "and outputs)", MUTED))
    elif record.status != "error" or record.output:
        note = "(partial: the caller stopped the stream)" if record.status == "cancelled" else ""
        parts.append(_block("Output", record.output or "", ROLE_COLORS["assistant"], note))
    return "".join(parts)


def fill_json_tree(tree: QTreeWidget, value: Any) -> None:
    tree.clear()

    def add(parent, key: str, item: Any) -> None:
        node = QTreeWidgetItem(parent, [key, ""])
        if isinstance(item, dict):
            node.setText(1, f"{{{len(item)}}}")
            for k, v in item.items():
                add(node, str(k), v)
        elif isinstance(item, list):
            node.setText(1, f"[{len(item)}]")
            for i, v in enumerate(item):
                add(node, str(i), v)
        else:
            text = item if isinstance(item, str) else json.dumps(item)
            node.setText(1, text.replace("\n", " ⏎ ") if len(text) < 300 else text[:299].replace("\n", " ⏎ ") + "…")
            node.setToolTip(1, text[:2000])

    for key, item in (value or {}).items():
        add(tree, str(key), item)
    tree.expandToDepth(1)
    tree.resizeColumnToContents(0)
    tree.setColumnWidth(0, max(tree.columnWidth(0) + 16, 160))


class _Metric(QFrame):
    def __init__(self, name: str):
        super().__init__(objectName="metricBox")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 5, 10, 5)
        layout.setSpacing(1)
        self.name = QLabel(name, objectName="metricName")
        self.value = QLabel(fmt.UNKNOWN, objectName="metricValue")
        self.value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.name)
        layout.addWidget(self.value)

    def set(self, value: str, tooltip: str = "") -> None:
        self.value.setText(value)
        self.setToolTip(tooltip)


class RecordDetail(QWidget):
    openInPlaygroundRequested = Signal(object)     # Record
    copyAsPythonRequested = Signal(object)         # Record

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: Record | None = None
        self._build()
        self.set_record(None)

    def _build(self) -> None:
        self.empty = QLabel("Select a call to see its messages, output and attributes.", objectName="mutedLabel",
                            alignment=Qt.AlignCenter, wordWrap=True)
        self.header = QLabel(objectName="recordHeader", textFormat=Qt.RichText)
        self.header.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.subheader = QLabel(objectName="mutedLabel", wordWrap=True)
        self.subheader.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.playground_button = QPushButton("Open in Playground")
        self.playground_button.setToolTip(f"Load this call into the Playground "
                                          f"({OPEN_IN_PLAYGROUND_SHORTCUT.toString(QKeySequence.NativeText)})")
        self.copy_button = QPushButton("Copy as Python")
        self.copy_button.setToolTip("Copy a script that makes this call again, logged to the same stream "
                                    f"({COPY_AS_PYTHON_SHORTCUT.toString(QKeySequence.NativeText)})")
        self.playground_button.clicked.connect(self._on_playground_clicked)
        self.copy_button.clicked.connect(self._on_copy_clicked)

        title_row = QHBoxLayout()
        title_row.addWidget(self.header, 1)
        title_row.addWidget(self.playground_button)
        title_row.addWidget(self.copy_button)

        self.metrics = {name: _Metric(name) for name in ("Prompt", "Completion", "Total", "Cost", "Latency", "TTFT")}
        metric_row = QGridLayout()
        metric_row.setHorizontalSpacing(6)
        for i, metric in enumerate(self.metrics.values()):
            metric_row.addWidget(metric, 0, i)

        self.messages = QTextBrowser(objectName="messagesView")
        self.messages.setOpenExternalLinks(False)
        self.attributes = QTreeWidget(objectName="attributesTree", columnCount=2)
        self.attributes.setHeaderLabels(["Attribute", "Value"])
        self.parameters = QTreeWidget(objectName="parametersTree", columnCount=2)
        self.parameters.setHeaderLabels(["Parameter", "Value"])
        self.raw = QPlainTextEdit(objectName="rawJson", readOnly=True)
        self.raw.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.messages, "Messages")
        self.tabs.addTab(self.attributes, "Attributes")
        self.tabs.addTab(self.parameters, "Parameters")
        self.tabs.addTab(self.raw, "JSON")

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(6)
        layout.addLayout(title_row)
        layout.addWidget(self.subheader)
        layout.addLayout(metric_row)
        layout.addWidget(self.tabs, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

    # -- showing a record ---------------------------------------------------------------------------
    def set_record(self, record: Record | None) -> None:
        self.record = record
        self.stack.setCurrentIndex(0 if record is None else 1)
        if record is None:
            return
        color = STATUS_COLORS.get(record.status, MUTED)
        status = html.escape(fmt.status(record.status, record.error))
        self.header.setText(f"{html.escape(record.model or fmt.UNKNOWN)} &nbsp;<span style='color:{color}'>"
                            f"● {status}</span>")
        facts = [fmt.full_time(record.timestamp), record.api, "streamed" if record.streamed else "not streamed"]
        if record.response_model and record.response_model != record.model:
            facts.append(f"answered by {record.response_model}")
        facts.append(f"#{record.id}")
        self.subheader.setText("  ·  ".join(facts))
        self._show_usage(record)
        self.messages.setHtml(conversation_html(record))
        fill_json_tree(self.attributes, record.attributes)
        self.tabs.setTabText(1, f"Attributes ({len(record.attributes or {})})")
        fill_json_tree(self.parameters, {k: v for k, v in (record.request or {}).items() if k not in _PROMPT_KEYS})
        self.raw.setPlainText(json.dumps(record.to_dict(), indent=2, default=str, ensure_ascii=False))

    def _show_usage(self, r: Record) -> None:
        est = r.usage_estimated
        tip = fmt.ESTIMATED_TIP if est else ""
        cached = f"{r.cached_tokens:,} cached" if r.cached_tokens else "none cached"
        reasoning = f"{r.reasoning_tokens:,} reasoning" if r.reasoning_tokens else "no reasoning tokens"
        self.metrics["Prompt"].set(fmt.tokens(r.prompt_tokens, est) + (f"  ({r.cached_tokens:,} cached)"
                                                                       if r.cached_tokens else ""),
                                   tip or cached)
        self.metrics["Completion"].set(fmt.tokens(r.completion_tokens, est) + (
            f"  ({r.reasoning_tokens:,} reasoning)" if r.reasoning_tokens else ""), tip or reasoning)
        self.metrics["Total"].set(fmt.tokens(r.total_tokens, est), tip)
        self.metrics["Cost"].set(fmt.cost(r.cost_usd, est), fmt.NO_PRICE_TIP if r.cost_usd is None else tip)
        self.metrics["Latency"].set(fmt.ms(r.latency_ms), "from the request to the last byte")
        self.metrics["TTFT"].set(fmt.ms(r.ttft_ms), "time to first token (streamed calls only)")

    # -- actions ------------------------------------------------------------------------------------
    def _on_playground_clicked(self) -> None:
        if self.record is not None:
            self.openInPlaygroundRequested.emit(self.record)

    def _on_copy_clicked(self) -> None:
        if self.record is not None:
            self.copyAsPythonRequested.emit(self.record)
