"""The prompt playground: messages with {variables}, parameters, attributes; every run measured and kept.

The network call runs as a tasks.StreamOp whose generator yields the reply's text as it streams in.
The numbers shown after a run are read back from the stored record, so they are what boards will show.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QMenu, QPlainTextEdit, QPushButton,
                               QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from monitor.experiments import estimate_prompt, max_tokens_param
from monitor.monitor import normalize_stream_name
from monitor.profiles import DEFAULT_MODEL, test_connection
from monitor.queries import find_logged_call
from monitor.record import Record
from monitor.templates import (MissingVariables, escape, find_variables_in, missing_variables, render,
                               render_messages)

from .. import tasks, workers
from .attributes_editor import AttributesEditor
from .compare_view import CompareView
from ..call_stats import format_call_stats, format_estimate
from .message_editor import ROLES, MessageList
from ..param_panel import ModelPicker, ParamPanel
from ..statusbar import ElidedLabel
from .saved_prompt import SavedPromptMixin
from .template_vars import VariablesTable
from .tools_controller import PlaygroundTools

DEFAULT_STREAM = "playground"
SPLIT_KEY = "playground/split/"                                   # + "compare" / "single": the messages/output sizes
AUTO_ATTRIBUTES = ("system_prompt", "prompt_template", "params")   # added to every run (seed Example 2)
PROMPT_ATTRIBUTES = ("prompt", "prompt_version")                    # added while a saved prompt is unchanged
_BANNER_STYLES = {
    "info": "background:#eef3fb; color:#1d3a66; border:1px solid #c9d7ee;",
    "running": "background:#eef3fb; color:#1d3a66; border:1px solid #c9d7ee;",
    "success": "background:#edf7ee; color:#1e4620; border:1px solid #c3e1c5;",
    "cancelled": "background:#fff6e0; color:#5c4200; border:1px solid #f0d68a;",
    "error": "background:#fdecea; color:#8c1d18; border:1px solid #f1b8b3;",
}


@dataclass
class _PendingRun:
    """What was sent, to find the stored record afterwards."""
    stream: str
    started_ts: float
    model: str
    messages: list[dict]
    attributes: dict
    streamed: bool


class PlaygroundPage(QWidget, SavedPromptMixin):
    callFinished = Signal(dict)     # the stored record as a dict (or status/stream/error when none was stored)
    compareFinished = Signal(list)  # compare mode: each column's {label, status, error, record}

    def __init__(self, ctx: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.extra_request_options: dict[str, Any] = {}   # merged into every request (tests: extra_headers)
        self.last_record: Record | None = None
        self._state = "idle"
        self._task: tasks.Task | None = None
        self._estimate_task: tasks.Task | None = None
        self._handle: workers.CallHandle | None = None
        self._pending: _PendingRun | None = None
        self._build()
        self._connect()
        self.messages.set_messages([{"role": "system", "content": ""}, {"role": "user", "content": ""}])
        self._restore_draft()
        self.compare_button.setChecked(self.compare_view.restore(self.ctx.settings, DEFAULT_MODEL))
        self._refresh_profile()
        self._refresh_streams()
        self._set_banner("info", "Write a prompt and press Run (Ctrl+Enter). Esc cancels a running call.")

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        # The bar fits a 1024-px window beside the sidebar: a long profile name is elided (whole in the tooltip)
        # and the pickers ask for fewer characters than they show when there is room.
        self.profile_label = ElidedLabel(elide=Qt.TextElideMode.ElideRight)
        self.profile_label.setTextFormat(Qt.TextFormat.PlainText)
        self.profile_label.setMinimumWidth(60)
        self.model_picker = ModelPicker()
        self.model_picker.setMinimumContentsLength(11)
        self.stream_combo = QComboBox()
        self.stream_combo.setEditable(True)
        self.stream_combo.setMinimumContentsLength(9)
        for picker in (self.model_picker, self.stream_combo):
            picker.setMaximumWidth(260)
        self.stream_combo.setToolTip("The stream this playground logs to (type a new name to start one)")
        self.estimate_label = QLabel(wordWrap=True)       # wraps rather than widening the page
        self.estimate_label.setTextFormat(Qt.TextFormat.PlainText)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Send the request (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running call (Esc); it is logged as cancelled")
        self.cancel_button.setEnabled(False)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setCheckable(True)
        self.compare_button.setToolTip("Send the same prompt to 2–6 variants (model, parameters, system prompt, "
                                       "profile) side by side")
        self.model_label = QLabel("Model")

        top = QHBoxLayout()
        top.addWidget(self.profile_label)
        top.addSpacing(12)
        top.addWidget(self.model_label)
        top.addWidget(self.model_picker, 1)          # both grow with the window, up to a useful width
        top.addSpacing(12)
        stream_label = QLabel("Stream")
        stream_label.setToolTip(self.stream_combo.toolTip())
        top.addWidget(stream_label)
        top.addWidget(self.stream_combo, 1)
        top.addStretch(1)
        top.addWidget(self.compare_button)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)

        self.messages = MessageList()
        self.add_message_button = QToolButton()
        self.add_message_button.setText("Add message")
        self.add_message_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        role_menu = QMenu(self.add_message_button)
        for role in ROLES:
            role_menu.addAction(role, lambda r=role: self.messages.add_message(r))
        self.add_message_button.setMenu(role_menu)
        self.variables = VariablesTable()
        self.variables_hint = QLabel("No {variables} yet: write {name} in any message to add one.")
        self.variables_hint.setWordWrap(True)
        self.variables_hint.setStyleSheet("color: palette(placeholder-text);")
        messages_box = QGroupBox("Messages")
        messages_layout = QVBoxLayout(messages_box)
        self._build_library(messages_layout)
        messages_layout.addWidget(self.messages, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_message_button)
        add_row.addWidget(self.estimate_label, 1)       # all the room there is, wrapped only when short of it
        self.estimate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        messages_layout.addLayout(add_row)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setPlaceholderText("The reply appears here as it streams in.")
        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextFormat(Qt.TextFormat.PlainText)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        output_box = QGroupBox("Output")
        output_layout = QVBoxLayout(output_box)
        output_layout.addWidget(self.output, 1)
        output_layout.addWidget(self.stats_label)

        self.compare_view = CompareView(self.ctx)
        self.output_stack = QStackedWidget()
        self.output_stack.addWidget(output_box)
        self.output_stack.addWidget(self.compare_view)
        self.left_split = left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(messages_box)
        lower = QWidget()                          # the banner speaks for both modes
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.banner)
        lower_layout.addWidget(self.output_stack, 1)
        left.addWidget(lower)
        left.setChildrenCollapsible(False)          # never squeeze the messages or the replies to nothing
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 3)
        left.setSizes([365, 395])                   # the single-mode share (_restore_left_split)

        self.params = ParamPanel()
        self.attributes = AttributesEditor()
        attributes_hint = QLabel("Sent as monitor_attributes, with system_prompt, prompt_template and params.")
        attributes_hint.setToolTip("system_prompt, prompt_template and params (the variable values) are added to "
                                   "every run; prompt and prompt_version too while a saved prompt is unchanged.")
        attributes_hint.setWordWrap(True)
        attributes_hint.setStyleSheet("color: palette(placeholder-text);")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.variables.setMinimumHeight(90)
        self.variables.setMaximumHeight(220)      # room for a handful of variables; it scrolls beyond
        for title, body, stretch in (("Variables", (self.variables, self.variables_hint), 0),
                                     ("Parameters", (self.params,), 0),
                                     ("Attributes", (self.attributes, attributes_hint), 1)):
            box = QGroupBox(title)
            box_layout = QVBoxLayout(box)
            for widget in body:
                box_layout.addWidget(widget)
            right_layout.addWidget(box, stretch)
            if title == "Parameters":
                self.params_box = box

        self.tools = PlaygroundTools(self)        # tools, response format, images, tool calls (hook)
        self.tools.install(messages_layout, output_layout, right_layout)

        self.main_split = split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([860, 340])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self._estimate_timer = QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(150)

    def _connect(self) -> None:
        self.messages.changed.connect(self._on_prompt_changed)
        self.variables.changed.connect(self._on_prompt_changed)
        self.model_picker.currentTextChanged.connect(self._on_prompt_changed)
        self.params.changed.connect(self._on_prompt_changed)
        self._estimate_timer.timeout.connect(self._on_estimate_due)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.compare_button.toggled.connect(self._on_compare_toggled)
        self.left_split.splitterMoved.connect(self._on_left_split_moved)
        self.compare_view.runFinished.connect(self._on_compare_finished)
        self.compare_view.changed.connect(self._estimate_timer.start)
        self.stream_combo.currentTextChanged.connect(self._on_stream_edited)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.run, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Escape"), self, self.cancel, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.ctx.currentProfileChanged.connect(lambda _name: self._refresh_profile())
        self.ctx.profilesChanged.connect(self._refresh_profile)
        self.ctx.profilesChanged.connect(self.compare_view.refresh_profiles)
        self.ctx.currentProfileChanged.connect(lambda _name: self.compare_view.refresh_profiles())

    # -- public API ---------------------------------------------------------------------------------
    def set_stream(self, name: str) -> None:
        self.stream_combo.setCurrentText(name)

    def stream_name(self) -> str:
        return self.stream_combo.currentText().strip()

    def is_running(self) -> bool:
        return self._state in ("running", "cancelling") or self.compare_view.is_running()

    def comparing(self) -> bool:
        return self.compare_button.isChecked()

    def save_state(self) -> None:
        """Called when the window closes: stop a running call and keep the prompt for next time."""
        self.cancel()
        draft = {"messages": self.messages.messages(), "values": self.variables.values(),
                 "model": self.model_picker.model(), "params": {**self.params.params(),
                                                                "stream": self.params.streaming()},
                 "attributes": self.attributes.attributes(), "saved_prompt": self.prompt_draft()}
        self.ctx.settings.setValue("playground/draft", json.dumps(draft))
        self.compare_view.save(self.ctx.settings, self.comparing())

    def _restore_draft(self) -> None:
        try:
            draft = json.loads(str(self.ctx.settings.value("playground/draft") or "{}"))
            if draft.get("messages"):
                self.messages.set_messages(draft["messages"])
            self.variables.set_values(draft.get("values") or {})
            if draft.get("model"):
                self.model_picker.set_model(draft["model"])
            if draft.get("params"):
                self.params.set_params(draft["params"])
            self.attributes.set_attributes(draft.get("attributes") or {})
            self.restore_prompt_draft(draft.get("saved_prompt"))
        except (ValueError, TypeError, AttributeError):
            pass                                   # an unreadable draft is just forgotten

    def load_record(self, record: Record) -> None:
        """Open a logged call: its messages (with the template and values it was made from), model,
        parameters and attributes; its stored output and numbers are shown until the next run."""
        request = record.request or {}
        messages = [{"role": m.get("role") or "user", "content": escape(_text_of(m.get("content")))}
                    for m in request.get("messages") or [] if isinstance(m, dict)]
        attrs = dict(record.attributes or {})
        template, values = attrs.get("prompt_template"), attrs.get("params")
        last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
        restored = False
        if isinstance(template, str) and isinstance(values, dict) and last_user is not None:
            sent = _text_of(request["messages"][last_user].get("content"))
            values = {str(k): "" if v is None else str(v) for k, v in values.items()}
            if render(template, values, strict=False) == sent:
                messages[last_user]["content"] = template
                restored = True
        self.messages.set_messages(messages)
        if restored:
            self.variables.set_values(values)
        self.model_picker.set_model(record.model or "")
        self.params.set_params({**request, "stream": record.streamed})
        self.attributes.set_attributes({k: v for k, v in attrs.items()
                                        if k not in AUTO_ATTRIBUTES + PROMPT_ATTRIBUTES})
        self.forget_prompt()
        self.output.setPlainText(record.output or "")
        self.last_record = record
        self.stats_label.setText(format_call_stats(record))
        where = f"call #{record.id} from stream “{record.stream}”"
        if record.status == "error":
            self._set_banner("error", f"Loaded {where}. It failed: {record.error or 'unknown error'}")
        else:
            self._set_banner("info", f"Loaded {where} ({record.status}). Run sends it again to "
                                     f"“{self.stream_name()}”.")
        self.tools.load_record(record)             # tools, response format, tool turns (hook)

    def run(self) -> None:
        if self.is_running():
            return
        if self.comparing():
            self._run_compare()
            return
        try:
            request, attributes, stream = self._build_request()
        except (MissingVariables, ValueError) as exc:
            self._set_banner("error", str(exc))
            return
        profile = self.ctx.current_profile
        self._handle = handle = workers.CallHandle()
        self._pending = _PendingRun(stream, time.time(), request["model"],
                                    self.tools.stored_messages(request["messages"]), attributes,   # (hook)
                                    bool(request.get("stream")))
        self._state = "running"
        self._update_buttons()
        self.output.clear()
        self.stats_label.clear()
        self.last_record = None
        self._set_banner("running", f"Sending to {request['model']}…")
        ctx = self.ctx
        self._task = tasks.StreamOp(lambda _token: self.tools.call(lambda: ctx.client(profile, stream), request, handle),
                                    parent=self, success=self._finish) \
            .on_yield(self.tools.on_piece).failure(self._on_call_failed).run_in_background()   # (hook)

    def cancel(self) -> None:
        if self.compare_view.is_running():
            self.compare_view.cancel()
            self._set_banner("cancelled", "Cancelled every column — each is logged as cancelled with its output so far.")
            return
        if self._state != "running" or self._handle is None:
            return
        if self._handle.cancel():
            # The stream is closed and logged as cancelled now; the worker may stay blocked in a read
            # until the socket notices, so finish without it (its late answer is dropped).
            self._task.cancel()
            self._finish(workers.CallOutcome("cancelled", self.output.toPlainText()))
        elif not self._pending.streamed:
            self._task.cancel()
            self._finish(workers.CallOutcome("cancelled"), look_up=False)
            self._set_banner("cancelled", "Cancelled. A request sent without streaming cannot be stopped "
                                          "once sent: the server's answer will still be logged as a normal call.")
        else:
            self._state = "cancelling"
            self._update_buttons()
            self._set_banner("cancelled", "Cancelling… (the request is on its way; it is closed as soon "
                                          "as the server starts answering)")

    # -- building the request -----------------------------------------------------------------------
    def _build_request(self) -> tuple[dict, dict, str]:
        stream = normalize_stream_name(self.stream_name() or DEFAULT_STREAM)
        model = self.model_picker.model()
        if not model:
            raise ValueError("Pick a model first.")
        typed = self.messages.messages()
        if not typed:
            raise ValueError("Write a message first.")
        values = self.variables.values()
        rendered = render_messages(typed, values)          # raises MissingVariables
        params = self.params.params()
        if "max_tokens" in params:
            params[max_tokens_param(model)] = params.pop("max_tokens")
        attributes = dict(self.attributes.attributes())
        system = next((m["content"] for m in rendered if m["role"] in ("system", "developer")), None)
        if system is not None:
            attributes["system_prompt"] = system
        last_user = next((m["content"] for m in reversed(typed) if m["role"] == "user"), "")
        attributes["prompt_template"] = last_user
        attributes["params"] = {n: values[n] for n in find_variables_in(m["content"] for m in typed)}
        attributes.update(self.prompt_attributes())
        request = {"model": model, "messages": rendered, **params}
        if self._tools:
            request["tools"] = self._tools
        if self.params.streaming():
            request["stream"] = True
        self.tools.apply(request)                  # tools, response format, images, tool turns (hook)
        request["monitor_attributes"] = attributes
        request.update(self.extra_request_options)
        return request, attributes, stream

    # -- slots --------------------------------------------------------------------------------------
    def _on_prompt_changed(self, *_: Any) -> None:
        self.variables.set_variables(find_variables_in(m["content"] for m in self.messages.messages()))
        self._update_prompt_label()
        has_variables = bool(self.variables.rowCount())
        self.variables.setVisible(has_variables)
        self.variables_hint.setVisible(not has_variables)
        self._estimate_timer.start()

    def _on_estimate_due(self) -> None:
        typed = self.messages.messages()
        if self.comparing():
            self.compare_view.refresh_estimates(typed, self.variables.values())
        if not typed:
            if self._estimate_task is not None:
                self._estimate_task.cancel()      # drop any estimate still on its way
            self.estimate_label.setText("Write a message to see its token count and cost.")
            return
        model = self.model_picker.model() or DEFAULT_MODEL
        max_out = self.params.max_tokens.value()
        values = self.variables.values()
        missing = missing_variables([m["content"] for m in typed], values)
        rendered = render_messages(typed, values, strict=False)
        self._estimate_task = tasks.NetOp(lambda: estimate_prompt(model, rendered, max_out), parent=self,
                                          success=lambda est: self._on_estimate_returned(est, max_out, missing)) \
            .latest("estimate").run_in_background()

    def _on_estimate_returned(self, est: Any, max_out: int, missing: list[str]) -> None:
        text = format_estimate(est, max_out)
        if missing:
            text += f" · unfilled: {', '.join('{' + n + '}' for n in missing)}"
        self.estimate_label.setText(text)

    def _on_piece(self, piece: str) -> None:
        if self._state == "running" and not self.output.toPlainText():
            self._set_banner("running", "Streaming…" if self.params.streaming() else "Received.")
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.output.ensureCursorVisible()

    def _on_call_failed(self, exc: BaseException) -> None:
        # chat_call turns every exception into an outcome; this is the safety net for the unexpected.
        self._finish(workers.CallOutcome("error", error=workers.describe_error(exc)))

    def _on_stream_edited(self, name: str) -> None:
        if name.strip():
            self.ctx.settings.setValue("playground/stream", name.strip())

    # -- finishing a run: flush the monitor off the GUI thread, then read the record back ------------
    def _finish(self, outcome: workers.CallOutcome, look_up: bool = True) -> None:
        self._state = "idle"
        self._update_buttons()
        if outcome.status == "error":
            self._set_banner("error", outcome.error or "The call failed.")
        elif outcome.status == "cancelled":
            self._set_banner("cancelled", "Cancelled — logged as cancelled with the output received so far.")
        else:
            self._set_banner("success", f"Done — logged to stream “{self._pending.stream}”.")
        self.tools.on_finished(outcome)            # tool calls wait for results; JSON shown formatted (hook)
        run = self._pending
        if not look_up:
            self.callFinished.emit({"id": None, "status": outcome.status, "stream": run.stream,
                                    "error": outcome.error})
            return
        self.stats_label.setText("Reading the stored record…")
        monitor = self.ctx.monitor(run.stream)
        # latest wins: a new run makes this run's record look-up moot
        tasks.NetOp(lambda: workers.flush(monitor), parent=self).failure(lambda _exc: None).finished(
            lambda: self._look_up_record(run, outcome)).latest("look-up").run_in_background()

    def _look_up_record(self, run: "_PendingRun", outcome: workers.CallOutcome) -> None:
        tasks.QueryOp(self.ctx.db, lambda store: find_logged_call(
            store, run.stream, run.started_ts, run.model, run.messages, run.attributes), parent=self,
            success=lambda record: self._on_record_found(run, outcome, record)).failure(
            lambda exc: self._on_record_found(run, outcome, None, f"{type(exc).__name__}: {exc}")) \
            .latest("look-up").run_in_background()

    def _on_record_found(self, run: "_PendingRun", outcome: workers.CallOutcome,
                         record: Record | None, error: str | None = None) -> None:
        if record is None:
            self.stats_label.setText(f"The call's record was not found in the store ({error or 'not logged'}).")
            self.callFinished.emit({"id": None, "status": outcome.status, "stream": run.stream,
                                    "error": outcome.error or error})
            return
        self.last_record = record
        self.stats_label.setText(format_call_stats(record))
        self.callFinished.emit(record.to_dict())

    # -- small things -------------------------------------------------------------------------------
    def _set_banner(self, kind: str, text: str) -> None:
        self.banner.setStyleSheet(f"QLabel {{ {_BANNER_STYLES[kind]} padding: 6px; border-radius: 4px; }}")
        self.banner.setText(text)
        self.banner.setProperty("kind", kind)

    def banner_kind(self) -> str:
        return str(self.banner.property("kind") or "")

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(self._state == "running" or self.compare_view.is_running())
        self.compare_button.setEnabled(not running)

    # -- compare mode -------------------------------------------------------------------------------
    def _on_compare_toggled(self, on: bool) -> None:
        self.output_stack.setCurrentIndex(1 if on else 0)
        self._restore_left_split(on)
        width = max(self.main_split.width(), 1000)
        side = 280 if on else 340
        self.main_split.setSizes([width - side, side])
        for widget in (self.model_label, self.model_picker, self.params_box):
            widget.setVisible(not on)          # each column has its own model and parameters
        self._estimate_timer.start()
        if on:
            self._set_banner("info", "Compare: each column sends the shared messages with its own model, "
                                     "parameters and system prompt. Run (Ctrl+Enter) sends all; Esc cancels all.")
        else:
            self._set_banner("info", "Write a prompt and press Run (Ctrl+Enter). Esc cancels a running call.")

    def _left_split_key(self, comparing: bool) -> str:
        return SPLIT_KEY + ("compare" if comparing else "single")

    def _restore_left_split(self, comparing: bool) -> None:
        """The messages/output split the user last dragged to in this mode, else a default share; either way
        the messages keep at least their system and user editors in view."""
        total = max(self.left_split.height(), 700)
        try:
            saved = [int(v) for v in json.loads(str(self.ctx.settings.value(self._left_split_key(comparing)) or "[]"))]
        except (TypeError, ValueError):
            saved = []
        if len(saved) == 2 and all(v > 0 for v in saved):
            share = saved[0] / sum(saved)
        else:
            share = 0.30 if comparing else 0.48    # the columns need the room more than the messages
        top = max(int(total * share), self.left_split.widget(0).minimumSizeHint().height())
        self.left_split.setSizes([top, max(total - top, 1)])

    def _on_left_split_moved(self, *_: Any) -> None:
        self.ctx.settings.setValue(self._left_split_key(self.comparing()), json.dumps(self.left_split.sizes()))

    def _run_compare(self) -> None:
        stream = normalize_stream_name(self.stream_name() or DEFAULT_STREAM)
        typed = self.messages.messages()
        if not typed:
            self._set_banner("error", "Write a message first.")
            return
        try:
            self.compare_view.run(typed, self.variables.values(), self.attributes.attributes(), stream,
                                  self.extra_request_options)
        except (MissingVariables, ValueError) as exc:
            self._set_banner("error", str(exc))
            return
        self._update_buttons()
        self._set_banner("running", f"Sending to {len(self.compare_view.columns)} variants…")

    def _on_compare_finished(self, results: list[dict]) -> None:
        self._update_buttons()
        statuses = [r["status"] for r in results if r]
        if any(s == "error" for s in statuses):
            self._set_banner("error", "Some columns failed — see each column's message.")
        elif any(s == "cancelled" for s in statuses):
            self._set_banner("cancelled", "Cancelled — every column is logged as cancelled with its output so far.")
        else:
            self._set_banner("success", f"Done — {len(results)} calls logged to stream “{self.stream_name()}” "
                                        "with a `compare` attribute (group a board by it).")
        self.compareFinished.emit(results)

    def _refresh_profile(self) -> None:
        name = self.ctx.current_profile
        if not name:
            self.profile_label.set_full_text("Profile: none — add one in Settings (Ctrl+,)")
            return
        self.profile_label.set_full_text(f"Profile: {name}")
        try:
            profile = self.ctx.profiles.get(name)
        except KeyError:
            return
        self.profile_label.setToolTip(f"Profile: {name}\n{profile.base_url or 'OpenAI (api.openai.com)'}")
        self.model_picker.set_profile_models([profile.default_model])
        if not self.model_picker.model():
            self.model_picker.set_model(profile.default_model)
        profiles = self.ctx.profiles
        tasks.NetOp(lambda: test_connection(profiles, name, 5), parent=self,
                    success=lambda models: self._on_profile_models_returned(name, profile.default_model, models)) \
            .failure(lambda _exc: None).latest("profile-models").run_in_background()

    def _on_profile_models_returned(self, name: str, default: str, models: list[str]) -> None:
        if name == self.ctx.current_profile:
            self.model_picker.set_profile_models([default, *models])

    def _refresh_streams(self) -> None:
        saved = self.ctx.settings.value("playground/stream")
        self.stream_combo.addItem(DEFAULT_STREAM)
        self.stream_combo.setCurrentText(str(saved or DEFAULT_STREAM))
        tasks.QueryOp(self.ctx.db, lambda store: [s.name for s in store.streams()], parent=self,
                      success=self._on_streams_loaded).failure(lambda _exc: None).latest("streams").run_in_background()

    def _on_streams_loaded(self, names: list[str]) -> None:
        current = self.stream_name()
        self.stream_combo.blockSignals(True)
        for name in names:
            if self.stream_combo.findText(name) < 0:
                self.stream_combo.addItem(name)
        self.stream_combo.setCurrentText(current)
        self.stream_combo.blockSignals(False)


def _text_of(content: Any) -> str:
    """A message's text: plain, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
