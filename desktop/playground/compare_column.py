"""One Compare column: a variant's settings on top, its streamed output below, its stored numbers under it.

Text pieces arrive from a tasks.StreamOp; they are buffered and appended every ~30 ms (one layout pass per
tick instead of one per token), so four columns streaming at once keep the GUI thread free.
"""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QPlainTextEdit, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from monitor.experiments import Estimate, estimate_prompt
from monitor.queries import find_logged_call
from monitor.record import Record
from monitor.templates import render_messages

from .tool_calls import chat_call_with_tools   # (no tools in a compare request: text only)
from .. import tasks, workers
from ..call_stats import format_ms, format_tokens, format_usd
from ..param_panel import ModelPicker
from .variants import Variant, variant_messages

APPEND_EVERY_MS = 30
_STATUS_COLORS = {"success": "#1e4620", "error": "#8c1d18", "cancelled": "#5c4200", "running": "#1d3a66"}


class _Note(QLabel):
    """A line of the column that takes no room while it has nothing to say (the reply gets the height)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hide()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.setText("")


class CompareColumn(QFrame):
    changed = Signal()                     # the variant was edited (estimate and persistence follow)
    removeRequested = Signal(object)
    firstText = Signal(str)                # label: the first piece of the reply arrived
    finished = Signal(dict)                # label, status, error, and the stored record (or None)
    estimated = Signal()

    def __init__(self, ctx: Any, variant: Variant, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("compareColumn")
        self.label = variant.label
        self.record: Record | None = None
        self.estimate: Estimate | None = None
        self.state = "idle"
        self._task: tasks.Task | None = None
        self._handle: workers.CallHandle | None = None
        self._buffer: list[str] = []
        self._started = 0.0
        self._ttft_ms: float | None = None
        self._build()
        self.set_variant(variant)
        self._connect()

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = QLabel(objectName="compareTitle")
        self.title.setMinimumWidth(40)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight:600; font-size:13px;")
        self.remove_button = QToolButton(text="✕", autoRaise=True, toolTip="Remove this column")
        self.profile_combo = QComboBox(toolTip="The connection profile this column calls (keys stay in the keyring)")
        self.profile_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.profile_combo.setMinimumContentsLength(8)
        self.model_picker = ModelPicker()
        self.model_picker.setMinimumContentsLength(8)
        self.model_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.temperature = QDoubleSpinBox(decimals=2, singleStep=0.1, specialValueText="auto",
                                          toolTip="Temperature (auto: not sent, the server's default)")
        self.temperature.setRange(-0.1, 2.0)
        self.max_tokens = QSpinBox(singleStep=64, specialValueText="none", maximum=1_000_000,
                                   toolTip="Max output tokens (none: no limit)")
        self.system = QPlainTextEdit(placeholderText="System prompt for this column (empty: the shared one)")
        self.system.setTabChangesFocus(True)
        self.system.setFixedHeight(44)
        self.estimate_label = _Note(wordWrap=True, objectName="mutedLabel")
        self.estimate_label.setStyleSheet("color: palette(placeholder-text);")
        self.output = QPlainTextEdit(readOnly=True, placeholderText="The reply streams in here.")
        self.output.setMinimumHeight(80)
        self.status_label = _Note(wordWrap=True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.stats_label = _Note(wordWrap=True, objectName="compareStats")
        self.stats_label.setTextFormat(Qt.TextFormat.PlainText)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.remove_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Profile", self.profile_combo)
        form.addRow("Model", self.model_picker)
        numbers = QHBoxLayout()
        numbers.addWidget(self.temperature, 1)
        numbers.addWidget(QLabel("Max"))
        numbers.addWidget(self.max_tokens, 1)
        form.addRow("Temp.", numbers)
        for combo in (self.profile_combo, self.model_picker):
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addLayout(form)
        layout.addWidget(self.system)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.stats_label)          # above the output: the numbers stay in view
        layout.addWidget(self.output, 1)

        self._append_timer = QTimer(self, singleShot=True, interval=APPEND_EVERY_MS)
        self._append_timer.timeout.connect(self._flush_text)

    def _connect(self) -> None:
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))
        self.profile_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.model_picker.currentTextChanged.connect(lambda _t: self.changed.emit())
        self.temperature.valueChanged.connect(lambda _v: self.changed.emit())
        self.max_tokens.valueChanged.connect(lambda _v: self.changed.emit())
        self.system.textChanged.connect(self.changed)

    # -- the variant ----------------------------------------------------------------------------------
    def set_label(self, label: str) -> None:
        self.label = label
        self._show_title()

    def _show_title(self) -> None:
        model = self.model_picker.model() or "no model"
        full = f"{self.label} · {model}"
        room = max(self.title.width(), 60)
        self.title.setText(self.title.fontMetrics().elidedText(full, Qt.TextElideMode.ElideMiddle, room))
        self.title.setToolTip(f"{full}\nCalls from this column carry the attribute compare = {self.label!r}")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override: re-elide the title
        super().resizeEvent(event)
        self._show_title()

    def set_profiles(self, names: list[str], current: str) -> None:
        chosen = self.profile_combo.currentData()
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItem(f"Current ({current or 'none'})", "")
        for name in names:
            self.profile_combo.addItem(name, name)
        index = self.profile_combo.findData(chosen if chosen is not None else "")
        self.profile_combo.setCurrentIndex(max(index, 0))
        self.profile_combo.blockSignals(False)

    def set_variant(self, v: Variant) -> None:
        for w in (self.profile_combo, self.model_picker, self.temperature, self.max_tokens, self.system):
            w.blockSignals(True)
        try:
            self.label = v.label
            if v.profile and self.profile_combo.findData(v.profile) < 0:
                self.profile_combo.addItem(v.profile, v.profile)
            self.profile_combo.setCurrentIndex(max(self.profile_combo.findData(v.profile), 0))
            self.model_picker.set_model(v.model)
            self.temperature.setValue(v.temperature if v.temperature is not None else self.temperature.minimum())
            self.max_tokens.setValue(v.max_tokens)
            self.system.setPlainText(v.system)
        finally:
            for w in (self.profile_combo, self.model_picker, self.temperature, self.max_tokens, self.system):
                w.blockSignals(False)
        self._show_title()

    def variant(self) -> Variant:
        temperature = self.temperature.value()
        return Variant(label=self.label, profile=self.profile_combo.currentData() or "",
                       model=self.model_picker.model(), system=self.system.toPlainText(),
                       temperature=None if temperature <= self.temperature.minimum() else round(temperature, 2),
                       max_tokens=self.max_tokens.value())

    def profile_name(self) -> str:
        return self.profile_combo.currentData() or self.ctx.current_profile

    # -- estimate (off the GUI thread; latest wins) -----------------------------------------------------
    def refresh_estimate(self, typed: list[dict], values: dict[str, str]) -> None:
        self._show_title()
        variant = self.variant()
        model = variant.model
        if not model or not typed:
            self.estimate = None
            self.estimate_label.setText("")
            self.estimated.emit()
            return
        rendered = render_messages(variant_messages(variant, typed), values, strict=False)
        max_out = variant.max_tokens
        tasks.NetOp(lambda: estimate_prompt(model, rendered, max_out), parent=self,
                    success=lambda est: self._on_estimated(est, max_out)).latest("estimate").run_in_background()

    def _on_estimated(self, est: Estimate, max_out: int) -> None:
        self.estimate = est
        mark = "" if est.exact else "~"
        if est.cost_usd is None:
            text = f"Est. {mark}{est.prompt_tokens:,} tok · price unknown"
        elif est.includes_output:
            text = f"Est. {mark}{est.prompt_tokens:,} tok · ≤ {format_usd(est.cost_usd)}"
        else:
            text = f"Est. {mark}{est.prompt_tokens:,} tok · {format_usd(est.cost_usd)} + output"
        self.estimate_label.setToolTip("Before sending: prompt tokens and cost" + (
            f", worst case with {max_out:,} output tokens" if est.includes_output else
            "; output not included (no max tokens)"))
        self.estimate_label.setText(text)
        self.estimated.emit()

    # -- running -------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.state in ("running", "cancelling")

    def start(self, request: dict, stream: str) -> None:
        """Send `request` (built by variants.build_request) and stream the reply into the output."""
        profile, ctx = self.profile_name(), self.ctx
        self._handle = handle = workers.CallHandle()
        self._pending = (stream, time.time(), request["model"], request["messages"],
                         request["monitor_attributes"])
        self._started = time.perf_counter()
        self._ttft_ms = None
        self.record = None
        self.state = "running"
        self.output.clear()
        self.stats_label.clear()
        self._buffer.clear()
        self._set_status("running", f"Sending to {request['model']}…")
        self._task = tasks.StreamOp(
            lambda _token: chat_call_with_tools(lambda: ctx.client(profile, stream), request, handle),
            parent=self, success=self._on_outcome).on_yield(self._on_piece) \
            .failure(lambda exc: self._on_outcome(workers.CallOutcome("error", error=workers.describe_error(exc)))) \
            .run_in_background()

    def cancel(self) -> None:
        if self.state != "running" or self._handle is None:
            return
        if self._handle.cancel():            # the stream is closed now and logged as cancelled
            self._task.cancel()
            self._flush_text()
            self._on_outcome(workers.CallOutcome("cancelled", self.output.toPlainText()))
        else:                                # still waiting for headers: closed as soon as they come
            self.state = "cancelling"
            self._set_status("cancelled", "Cancelling…")

    def _on_piece(self, piece: str) -> None:
        if self._ttft_ms is None:
            self._ttft_ms = (time.perf_counter() - self._started) * 1000
            self._set_status("running", f"Streaming… first token after {format_ms(self._ttft_ms)}")
            self.firstText.emit(self.label)
        self._buffer.append(piece)
        if APPEND_EVERY_MS <= 0:
            self._flush_text()                   # one append per piece (benchmarks/gui_stall.py's "before")
        elif not self._append_timer.isActive():
            self._append_timer.start(APPEND_EVERY_MS)

    def _flush_text(self) -> None:
        if not self._buffer:
            return
        text, self._buffer = "".join(self._buffer), []
        bar = self.output.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.output.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    def _on_outcome(self, outcome: workers.CallOutcome) -> None:
        if self.state not in ("running", "cancelling"):
            return
        self._append_timer.stop()
        self._flush_text()
        self.state = "reading"
        status_text = {"success": "Done", "cancelled": "Cancelled — logged with the output so far",
                       "error": outcome.error or "The call failed."}[outcome.status]
        self._set_status(outcome.status, status_text)
        self.stats_label.setText("Reading the stored record…")
        stream, since, model, messages, attributes = self._pending
        monitor = self.ctx.monitor(stream)
        db = self.ctx.db

        def found(record: Record | None) -> None:
            self.state = "idle"
            self.record = record
            self.stats_label.setText(format_column_stats(record) if record else "The call's record was not found.")
            self.stats_label.setToolTip(f"call #{record.id} in stream “{record.stream}”" if record else "")
            self.finished.emit({"label": self.label, "status": outcome.status, "error": outcome.error,
                                "record": record})

        def look_up() -> None:
            tasks.QueryOp(db, lambda store: find_logged_call(store, stream, since, model, messages, attributes),
                          parent=self, success=found).failure(lambda _exc: found(None)).run_in_background()

        tasks.NetOp(lambda: workers.flush(monitor), parent=self).failure(lambda _exc: None) \
            .finished(look_up).run_in_background()

    def _set_status(self, kind: str, text: str) -> None:
        self.status_label.setStyleSheet(f"color:{_STATUS_COLORS.get(kind, '#444')};")
        self.status_label.setText(text)
        self.status_label.setProperty("kind", kind)


def format_column_stats(record: Record) -> str:
    """Tokens, cost, latency and time to first token of the stored record (what boards will show)."""
    est = record.usage_estimated
    cost = ("~" if est and record.cost_usd is not None else "") + format_usd(record.cost_usd)
    return (f"{format_tokens(record.prompt_tokens, est)} → {format_tokens(record.completion_tokens, est)} tokens"
            f" · {cost}\nlatency {format_ms(record.latency_ms)} · TTFT {format_ms(record.ttft_ms)}")
