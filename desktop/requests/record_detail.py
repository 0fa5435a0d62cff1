"""The selected call, readable: messages by role, the reply's structure (reply_view.py), its conversation,
usage, attributes, parameters, error."""
from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QStackedWidget, QTabWidget, QTextBrowser, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from monitor.record import Record

from .. import formatting as fmt
from ..style import MUTED, STATUS_COLORS
from .conversation_view import ThreadView, summary_line, thread_view
from .reply_view import Rendered, record_html

_PROMPT_KEYS = {"messages", "input", "instructions", "prompt"}     # shown as messages, not parameters
OPEN_IN_PLAYGROUND_SHORTCUT = QKeySequence("Ctrl+P")
COPY_AS_PYTHON_SHORTCUT = QKeySequence("Ctrl+Shift+C")


class ReplyBrowser(QTextBrowser):
    """A QTextBrowser that shows reply_view's HTML, its thumbnails included (images are never fetched)."""
    THUMB = 160

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setOpenExternalLinks(False)
        self.setOpenLinks(False)
        self._images: list[QImage] = []

    def show_rendered(self, rendered: Rendered) -> None:
        self._images = []
        for data in rendered.images:
            image = QImage.fromData(data)
            if not image.isNull() and (image.width() > self.THUMB or image.height() > self.THUMB):
                image = image.scaled(self.THUMB, self.THUMB, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            self._images.append(image)
        self.setHtml(rendered.html)

    def loadResource(self, kind: int, url: QUrl):
        if url.scheme() == "thumb":
            try:
                image = self._images[int(url.path())]
            except (ValueError, IndexError):
                return None
            return None if image.isNull() else image
        return None                     # never the network or the disk


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
        for label in (self.name, self.value):
            label.setMinimumWidth(36)       # a narrow window may clip the text; it never widens the page
        layout.addWidget(self.name)
        layout.addWidget(self.value)

    def set(self, value: str, tooltip: str = "") -> None:
        self.value.setText(value)
        self.setToolTip(tooltip)


class RatingBar(QWidget):
    """👍 / 👎 and 1–5 for the shown call, plus the scores it already has (human, asserts, judges)."""
    rated = Signal(str, object, object)            # name, value, passed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(QLabel("Rate:", objectName="mutedLabel"))
        # Words and plain glyphs: many Linux desktops have no emoji font.
        self.up = QPushButton("✓ Good", toolTip="Thumbs up (stored as a human score)", objectName="thumbsUp")
        self.down = QPushButton("✗ Bad", toolTip="Thumbs down (stored as a human score)", objectName="thumbsDown")
        self.stars = []
        for button, passed in ((self.up, True), (self.down, False)):
            button.clicked.connect(lambda _=False, p=passed: self.rated.emit("thumbs", None, p))
            row.addWidget(button)
        row.addSpacing(6)
        for n in range(1, 6):
            star = QPushButton(str(n), toolTip=f"Rate {n} out of 5", objectName=f"rate{n}")
            star.setFixedWidth(26)
            star.clicked.connect(lambda _=False, n=n: self.rated.emit("rating", float(n), None))
            self.stars.append(star)
            row.addWidget(star)
        self.scores = QLabel(objectName="scoresLabel", wordWrap=True)
        self.scores.setTextInteractionFlags(Qt.TextSelectableByMouse)
        row.addSpacing(8)
        row.addWidget(self.scores, 1)

    def set_scores(self, texts: list[str]) -> None:
        self.scores.setText("Scores: " + " · ".join(texts) if texts else "No scores yet.")


class RecordDetail(QWidget):
    openInPlaygroundRequested = Signal(object)     # Record
    copyAsPythonRequested = Signal(object)         # Record
    ratingGiven = Signal(int, str, object, object)  # record id, score name, value, passed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.record: Record | None = None
        self.thread: list[Record] = []
        self._build()
        self.set_record(None)

    def _arrange_metrics(self, columns: int) -> None:
        """One row of six when there is room, two rows of three on a narrow window (e.g. 1024 px)."""
        if columns == self._metric_columns:
            return
        self._metric_columns = columns
        for i, metric in enumerate(self.metrics.values()):
            self.metric_grid.removeWidget(metric)
            self.metric_grid.addWidget(metric, i // columns, i % columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        boxes = list(self.metrics.values())
        wanted = sum(box.sizeHint().width() for box in boxes) + self.metric_grid.horizontalSpacing() * (len(boxes) - 1)
        self._arrange_metrics(len(boxes) if event.size().width() - 20 >= wanted else (len(boxes) + 1) // 2)

    def _build(self) -> None:
        self.empty = QLabel("Select a call to see its messages, output and attributes.", objectName="mutedLabel",
                            alignment=Qt.AlignCenter, wordWrap=True)
        self.header = QLabel(objectName="recordHeader", textFormat=Qt.RichText)
        self.header.setMinimumWidth(120)            # a long model name may clip; it never widens the page
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
        self.thread_button = QPushButton("Show conversation", objectName="showConversation")
        self.thread_button.setToolTip("The calls linked to this one (previous_response_id, conversation, "
                                      "session attribute, tool results), as one thread")
        self.thread_button.clicked.connect(self.show_conversation)
        self.thread_button.hide()

        title_row = QHBoxLayout()
        title_row.addWidget(self.header, 1)
        title_row.addWidget(self.thread_button)
        title_row.addWidget(self.playground_button)
        title_row.addWidget(self.copy_button)

        self.rating = RatingBar()
        self.rating.hide()                         # shown by pages that can store scores (enable_rating)
        self.rating.rated.connect(self._on_rated)

        self.metrics = {name: _Metric(name) for name in ("Prompt", "Completion", "Total", "Cost", "Latency", "TTFT")}
        metric_row = self.metric_grid = QGridLayout()
        metric_row.setHorizontalSpacing(6)
        self._metric_columns = 0
        self._arrange_metrics(len(self.metrics))

        self.messages = ReplyBrowser(objectName="messagesView")
        self.conversation = ReplyBrowser(objectName="conversationView")
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
        self.tabs.addTab(self.conversation, "Conversation")
        self.tabs.setTabVisible(self.tabs.indexOf(self.conversation), False)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(6)
        layout.addLayout(title_row)
        layout.addWidget(self.subheader)
        layout.addLayout(metric_row)
        layout.addWidget(self.rating)
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
        self.messages.show_rendered(record_html(record))
        self.thread: list[Record] = []
        self.thread_button.hide()
        self.tabs.setTabVisible(self.tabs.indexOf(self.conversation), False)
        self.conversation.clear()
        fill_json_tree(self.attributes, record.attributes)
        self.tabs.setTabText(1, f"Attributes ({len(record.attributes or {})})")
        fill_json_tree(self.parameters, {k: v for k, v in (record.request or {}).items() if k not in _PROMPT_KEYS})
        self.raw.setPlainText(json.dumps(record.to_dict(), indent=2, default=str, ensure_ascii=False))
        self.rating.set_scores([])

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

    def set_thread(self, records: list[Record]) -> None:
        """The shown call's conversation (oldest first, the call among them); renders it here — pages that
        load threads render them on the DB lane with conversation_view.thread_view and call set_thread_view."""
        if self.record is not None:
            self.set_thread_view(thread_view(records, self.record))

    def set_thread_view(self, view: ThreadView) -> None:
        """Tool results that came later go under the calls they answer; a thread of several calls gets its tab."""
        if self.record is None or all(r.id != self.record.id for r in view.records):
            return
        self.thread = view.records
        self.messages.show_rendered(view.record)
        linked = view.conversation is not None
        self.thread_button.setVisible(linked)
        index = self.tabs.indexOf(self.conversation)
        self.tabs.setTabVisible(index, linked)
        if linked:
            n = len(view.records)
            self.thread_button.setText(f"Show conversation ({n} calls)")
            self.thread_button.setToolTip(summary_line(view.records))
            self.tabs.setTabText(index, f"Conversation ({n})")
            self.conversation.show_rendered(view.conversation)

    def show_conversation(self) -> None:
        if self.thread_button.isVisible():
            self.tabs.setCurrentWidget(self.conversation)

    def enable_rating(self, on: bool) -> None:
        self.rating.setVisible(on)

    def set_scores(self, texts: list[str]) -> None:
        self.rating.set_scores(texts)

    # -- actions ------------------------------------------------------------------------------------
    def _on_rated(self, name: str, value: object, passed: object) -> None:
        if self.record is not None:
            self.ratingGiven.emit(self.record.id, name, value, passed)

    def _on_playground_clicked(self) -> None:
        if self.record is not None:
            self.openInPlaygroundRequested.emit(self.record)

    def _on_copy_clicked(self) -> None:
        if self.record is not None:
            self.copyAsPythonRequested.emit(self.record)
