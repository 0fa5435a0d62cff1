"""Experiments: the seed's Example 4 as a feature.

System prompts × values of each {variable} × models × repeats expand to a grid of calls, run on a
thread pool with a concurrency limit inside one background worker (never on the GUI thread). Every
call is logged with system_prompt, prompt_template, params, experiment and repeat as attributes, so a
board can group by any of them. When the run ends the grid's numbers are replaced by the stored ones.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton,
                               QSpinBox, QSplitter, QTableView, QVBoxLayout, QWidget)
from superqt.utils import thread_worker

from monitor.experiments import (CallResult, ExperimentSpec, call_once, estimate, expand, match_records, run_calls,
                                 write_csv)
from monitor.monitor import normalize_stream_name
from monitor.profiles import DEFAULT_MODEL

from . import workers
from .call_stats import format_estimate, format_ms, format_usd
from .experiment_inputs import ModelChecklist, ValuesEditor, lines_of
from .experiment_results import SORT_ROLE, ExperimentResultsModel
from .param_panel import ParamPanel

DEFAULT_STREAM = "experiments"


def experiment_run(get_client: Any, calls: list, params: dict, concurrency: int, stop: threading.Event,
                   extra: dict):
    """Generator for a superqt worker: yields each CallResult as it lands; returns an error text or None."""
    try:
        client = get_client()
    except Exception as exc:  # noqa: BLE001 - no key, no keyring, no profile: said on the page
        return workers.describe_error(exc)

    def one(call):
        return call_once(client, call, params, extra, lambda exc: workers.describe_error(exc, client.api_key))

    yield from run_calls(calls, one, concurrency=concurrency, stop=stop)
    return None


class ExperimentsPage(QWidget):
    experimentFinished = Signal(dict)     # {"experiment", "stream", "calls", "ran", "succeeded", "failed", ...}
    exported = Signal(str)                # a CSV file was written

    def __init__(self, ctx: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.extra_request_options: dict[str, Any] = {}   # merged into every request (tests: extra_headers)
        self._spec: ExperimentSpec | None = None
        self._stop: threading.Event | None = None
        self._run_seq = 0
        self._estimate_seq = 0
        self._started_ts = 0.0
        self._calls: list = []
        self._build()
        self._connect()
        self.name_edit.setText(time.strftime("experiment %Y-%m-%d %H:%M"))
        self.set_stream(str(ctx.settings.value("experiments/stream") or DEFAULT_STREAM))
        self.models.set_models([self._profile_default_model()])
        self._restore_draft()
        self._fit_columns()
        self._on_inputs_changed()

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.system_edit = QPlainTextEdit()
        self.system_edit.setPlaceholderText("One system prompt per line, e.g.\nyou're extremely flowery and poetic\n"
                                            "you're very direct and precise")
        self.template_edit = QPlainTextEdit()
        self.template_edit.setPlaceholderText("User prompt template, e.g. explain the solution of the following "
                                              "to a {audience}: {equation}")
        prompts = QGroupBox("Prompts")
        prompts_layout = QVBoxLayout(prompts)
        prompts_layout.addWidget(QLabel("System prompts — one per line (none: no system message)"))
        prompts_layout.addWidget(self.system_edit, 1)
        prompts_layout.addWidget(QLabel("User prompt template — {variables} in braces, {{ }} for literal braces"))
        prompts_layout.addWidget(self.template_edit, 1)

        self.values_editor = ValuesEditor()
        values = QGroupBox("Variable values")
        QVBoxLayout(values).addWidget(self.values_editor)

        self.models = ModelChecklist()
        self.params = ParamPanel()
        self.params.stream.setVisible(False)      # experiments wait for whole replies
        self.params.stream.setChecked(False)
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 1000)
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip("At most this many calls in flight at once")
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("Logged as the 'experiment' attribute of every call")
        self.stream_combo = QComboBox()
        self.stream_combo.setEditable(True)
        setup = QGroupBox("Models and parameters")
        setup_layout = QVBoxLayout(setup)
        setup_layout.addWidget(self.models, 1)
        setup_layout.addWidget(self.params)
        settings_row = QHBoxLayout()
        for label, widget, stretch in (("Experiment", self.name_edit, 2), ("Log to stream", self.stream_combo, 1),
                                       ("Repeats", self.repeats, 0), ("Concurrency", self.concurrency, 0)):
            settings_row.addWidget(QLabel(label))
            settings_row.addWidget(widget, stretch)
            settings_row.addSpacing(10)

        inputs = QSplitter(Qt.Orientation.Horizontal)
        for box, stretch in ((prompts, 5), (values, 3), (setup, 3)):
            inputs.addWidget(box)
            inputs.setStretchFactor(inputs.count() - 1, stretch)

        self.preview_label = QLabel()
        self.preview_label.setTextFormat(Qt.TextFormat.PlainText)
        self.preview_label.setWordWrap(True)          # a long estimate must not widen the page
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(200)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not run yet")
        self.run_button = QPushButton("Run experiment")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.preview_label, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)

        self.results = ExperimentResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.results)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a row to read its whole output.")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.totals_label = QLabel()
        self.totals_label.setTextFormat(Qt.TextFormat.PlainText)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        grid_split = QSplitter(Qt.Orientation.Vertical)     # full width for the grid's many columns
        grid_split.addWidget(self.table)
        grid_split.addWidget(self.detail)
        grid_split.setStretchFactor(0, 4)
        grid_split.setStretchFactor(1, 1)
        grid_split.setSizes([300, 90])
        footer = QHBoxLayout()
        footer.addWidget(self.totals_label, 1)
        footer.addWidget(self.export_button)
        results = QGroupBox("Results")
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(self.status_label)
        results_layout.addWidget(grid_split, 1)
        results_layout.addLayout(footer)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(settings_row)
        top_layout.addWidget(inputs, 1)
        top_layout.addLayout(bar)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(results)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([300, 500])
        QVBoxLayout(self).addWidget(split)

        self._inputs_timer = QTimer(self)
        self._inputs_timer.setSingleShot(True)
        self._inputs_timer.setInterval(200)

    def _connect(self) -> None:
        for signal in (self.system_edit.textChanged, self.template_edit.textChanged, self.values_editor.changed,
                       self.models.changed, self.params.changed, self.repeats.valueChanged):
            signal.connect(self._on_inputs_changed)
        self._inputs_timer.timeout.connect(self._on_estimate_due)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_row_changed)
        self.stream_combo.currentTextChanged.connect(self._on_stream_edited)

    # -- public API ---------------------------------------------------------------------------------
    def set_stream(self, name: str) -> None:
        if self.stream_combo.findText(name) < 0:
            self.stream_combo.addItem(name)
        self.stream_combo.setCurrentText(name)

    def spec(self) -> ExperimentSpec:
        """The experiment as the inputs describe it now."""
        self.values_editor.set_variables(ExperimentSpec("", self.template_edit.toPlainText()).variables)
        return ExperimentSpec(
            name=self.name_edit.text().strip() or "experiment", template=self.template_edit.toPlainText(),
            system_prompts=lines_of(self.system_edit.toPlainText()), values=self.values_editor.values(),
            models=self.models.models(), repeats=self.repeats.value(), params=self.params.params())

    def set_spec(self, spec: ExperimentSpec) -> None:
        self.name_edit.setText(spec.name)
        self.system_edit.setPlainText("\n".join(spec.system_prompts))
        self.template_edit.setPlainText(spec.template)
        self.values_editor.set_variables(spec.variables)
        self.values_editor.set_values(spec.values)
        self.models.set_models(spec.models)
        self.repeats.setValue(spec.repeats)
        self.params.set_params(spec.params)

    def is_running(self) -> bool:
        return self._stop is not None

    def save_state(self) -> None:
        """Called when the window closes: stop starting calls and keep the experiment's inputs."""
        self.cancel()
        spec = self.spec()
        self.ctx.settings.setValue("experiments/draft", json.dumps({
            "template": spec.template, "system_prompts": spec.system_prompts, "values": spec.values,
            "models": spec.models, "repeats": spec.repeats, "params": spec.params,
            "concurrency": self.concurrency.value()}))

    def _restore_draft(self) -> None:
        try:
            draft = json.loads(str(self.ctx.settings.value("experiments/draft") or "{}"))
            if draft:
                concurrency = int(draft.pop("concurrency", 4))
                self.set_spec(ExperimentSpec(name=self.name_edit.text(), **draft))
                self.concurrency.setValue(concurrency)
        except (ValueError, TypeError, AttributeError):
            pass                                   # an unreadable draft is just forgotten

    def run(self) -> None:
        if self.is_running():
            return
        spec = self.spec()
        problems = spec.problems()
        try:
            stream = normalize_stream_name(self.stream_combo.currentText().strip() or DEFAULT_STREAM)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            self._set_status(" ".join(problems), error=True)
            return
        calls = expand(spec)
        self._spec, self._calls, self._stream = spec, calls, stream
        self._stop = threading.Event()
        self._run_seq += 1
        seq = self._run_seq
        self._started_ts = time.time()
        self.results.reset(calls, spec.variables)
        self._fit_columns()
        self.progress.setRange(0, len(calls))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self._set_status(f"Running {len(calls)} calls, at most {self.concurrency.value()} at a time…")
        self._update_buttons()
        profile = self.ctx.current_profile
        worker = thread_worker(experiment_run, start_thread=False, ignore_errors=True)(
            lambda: self.ctx.client(profile, stream), calls, dict(spec.params), self.concurrency.value(),
            self._stop, dict(self.extra_request_options))
        worker.yielded.connect(workers.alive(self, lambda result: self._on_worker_yielded(seq, result)))
        worker.returned.connect(workers.alive(self, lambda error: self._on_worker_returned(seq, error)))
        worker.errored.connect(workers.alive(self, lambda exc: self._on_worker_returned(
            seq, workers.describe_error(exc))))
        workers.start(worker)

    def cancel(self) -> None:
        """Queued calls never start; calls in flight finish (and are logged) before the run ends."""
        if self._stop is None or self._stop.is_set():
            return
        self._stop.set()
        in_flight = len(self._calls) - len(self.results.results)
        self._set_status(f"Cancelling: no new calls start; waiting for up to "
                         f"{min(in_flight, self.concurrency.value())} in flight…")
        self.cancel_button.setEnabled(False)

    def export_csv(self, path: str) -> None:
        """Write the grid to `path` off the GUI thread; `exported` is emitted when it is on disk."""
        spec, calls, results = self._spec, list(self.results.calls), dict(self.results.results)
        if spec is None:
            return
        worker = thread_worker(write_csv, start_thread=False, ignore_errors=True)(path, spec, calls, results)
        worker.returned.connect(workers.alive(self, lambda rows: self._on_export_returned(path, rows)))
        worker.errored.connect(workers.alive(self, lambda exc: self._set_status(
            f"Could not write {path}: {exc}", error=True)))
        workers.start(worker)

    # -- slots --------------------------------------------------------------------------------------
    def _on_inputs_changed(self, *_: Any) -> None:
        self.values_editor.set_variables(ExperimentSpec("", self.template_edit.toPlainText()).variables)
        self._inputs_timer.start()

    def _on_estimate_due(self) -> None:
        spec = self.spec()
        factors = " × ".join(str(n) for _, n in spec.factors())
        labels = " × ".join(label for label, _ in spec.factors())
        head = f"{labels} = {factors} = {spec.size:,} call{'s' if spec.size != 1 else ''}"
        problems = spec.problems()
        if problems:
            self.preview_label.setText(f"{head} — {problems[0]}")
            return
        if spec.size > 20_000:
            self.preview_label.setText(f"{head} — that is a lot; the estimate is skipped.")
            return
        self.preview_label.setText(head)
        self._estimate_seq += 1
        seq = self._estimate_seq
        worker = thread_worker(estimate, start_thread=False, ignore_errors=True)(spec)
        worker.returned.connect(workers.alive(self, lambda est: self._on_estimate_returned(seq, head, spec, est)))
        workers.start(worker)

    def _on_estimate_returned(self, seq: int, head: str, spec: ExperimentSpec, est: Any) -> None:
        if seq == self._estimate_seq:
            max_out = int(spec.params.get("max_tokens") or 0)
            self.preview_label.setText(f"{head}, est. {format_estimate(est, max_out, spec.size)}")
            self.preview_label.setToolTip("Estimated before sending: prompt tokens of every call (tiktoken; "
                                          "~ when approximate) priced with the price table.")

    def _on_worker_yielded(self, seq: int, result: CallResult) -> None:
        if seq != self._run_seq:
            return
        self.results.set_result(result)
        self.progress.setValue(len(self.results.results))
        self._show_totals()

    def _on_worker_returned(self, seq: int, error: str | None) -> None:
        if seq != self._run_seq:
            return
        ran = set(self.results.results)
        not_run = {c.index for c in self._calls} - ran
        if not_run:
            self.results.mark_not_run(not_run)
        cancelled = bool(self._stop and self._stop.is_set())
        self._stop = None
        self._update_buttons()
        total = len(self._calls)
        if error:
            self._set_status(error, error=True)
        elif cancelled:
            self._set_status(f"Cancelled: {len(ran)} of {total} calls ran; {len(not_run)} never started. "
                             "Reading the stored numbers…")
        else:
            self._set_status(f"Done: {len(ran)} / {total} calls. Reading the stored numbers…")
        summary = {"experiment": self._spec.name, "stream": self._stream, "calls": total, "ran": len(ran),
                   "not_run": len(not_run), "cancelled": cancelled, "error": error}
        monitor = self.ctx.monitor(self._stream)
        flush = workers.flush_monitor(monitor)
        flush.finished.connect(workers.alive(self, lambda: self._read_stored(seq, summary, ran)))
        workers.start(flush)

    def _read_stored(self, seq: int, summary: dict, ran: set[int]) -> None:
        stream, since, name = self._stream, self._started_ts, self._spec.name
        calls = [c for c in self._calls if c.index in ran]

        def job(store):
            rows = store.conn.execute(
                "SELECT c.id FROM calls c JOIN streams s ON s.id = c.stream_id WHERE s.name = ? AND c.ts >= ?",
                (stream, since - 1.0)).fetchall()
            return match_records(calls, [store.record(r[0]) for r in rows], name)

        self.ctx.db.submit(job, workers.alive(self, lambda matched: self._on_stored_read(seq, summary, matched)),
                           workers.alive(self, lambda err: self._on_stored_read(seq, summary, {}, err)))

    def _on_stored_read(self, seq: int, summary: dict, matched: dict, error: str | None = None) -> None:
        if seq != self._run_seq:
            return
        for index, record in matched.items():
            old = self.results.results.get(index)
            self.results.set_result(CallResult(
                index, record.status, record.output or "", (old.error if old else None) or record.error,
                record.prompt_tokens, record.completion_tokens, record.cost_usd, record.latency_ms, record.id),
                from_store=True)
        self._show_totals()
        text = self.status_label.text().replace(" Reading the stored numbers…", "")
        if error or len(matched) < summary["ran"]:
            text += f" ({summary['ran'] - len(matched)} results could not be matched to stored records" \
                    f"{': ' + error if error else ''}.)"
        else:
            text += f" Logged to “{summary['stream']}” with experiment = “{summary['experiment']}”."
        self._set_status(text, error=bool(summary["error"]))
        self.export_button.setEnabled(True)
        totals = self.results.totals()
        self.experimentFinished.emit({**summary, "succeeded": totals["succeeded"], "failed": totals["failed"],
                                      "cost_usd": totals["cost_usd"], "matched": len(matched)})

    def _on_table_row_changed(self, current, _previous) -> None:
        if not current.isValid():
            self.detail.clear()
            return
        row = self.proxy.mapToSource(current).row()
        call, result = self.results.calls[row], self.results.results.get(row)
        head = [f"#{row + 1} · {call.model} · repeat {call.repeat + 1} · {self.results.status_of(row)}"]
        if call.system_prompt:
            head.append(f"system: {call.system_prompt}")
        head.append(f"user: {call.messages[-1]['content']}")
        body = (result.error or result.output) if result else ""
        self.detail.setPlainText("\n".join(head) + "\n\n" + (body or ""))

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export results as CSV",
                                              f"{self._spec.name if self._spec else 'experiment'}.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def _on_export_returned(self, path: str, rows: int) -> None:
        self._set_status(f"Exported {rows} rows to {path}.")
        self.exported.emit(path)

    def _on_stream_edited(self, name: str) -> None:
        if name.strip():
            self.ctx.settings.setValue("experiments/stream", name.strip())

    # -- small things -------------------------------------------------------------------------------
    def _show_totals(self) -> None:
        t = self.results.totals()
        parts = [f"{t['done']} / {t['calls']} calls", f"{t['succeeded']} ok", f"{t['failed']} failed"]
        if t["not_run"]:
            parts.append(f"{t['not_run']} not run")
        parts += [f"{t['prompt_tokens']:,} prompt + {t['completion_tokens']:,} completion tokens",
                  f"cost {format_usd(t['cost_usd'])}", f"mean latency {format_ms(t['mean_latency_ms'])}"]
        self.totals_label.setText("Totals: " + " · ".join(parts))

    def _profile_default_model(self) -> str:
        try:
            return self.ctx.profiles.get(self.ctx.current_profile).default_model
        except KeyError:
            return DEFAULT_MODEL

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #b3261e;" if error else "")
        self.status_label.setText(text)

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _fit_columns(self) -> None:
        header = self.table.horizontalHeader()
        widths = {"#": 36, "System prompt": 170, "Model": 96, "Repeat": 54, "Tokens": 72, "Cost": 76,
                  "Latency": 66, "Status": 66}
        for column, name in enumerate(self.results.headers()):
            if name == "Output":
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            else:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(column, widths.get(name, 130))
