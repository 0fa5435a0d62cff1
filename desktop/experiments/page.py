"""Experiments: the seed's Example 4 as a feature, scored, and saved as files the CLI runs.

System prompts × values of each {variable} × models × repeats expand to a grid of calls, run on a thread
pool with a concurrency limit inside one tasks.StreamOp (never on the GUI thread); each cell is scored by
the experiment's asserts and judges in that op. Results land in batches (one repaint per batch) in a matrix
and a flat table. When the calls end, the scores are stored linked to their calls and the grid's numbers are
replaced by the stored ones; only then is the run over (so a new run never meets an old run's answers). Open/Save read and write the same YAML/JSON file as
`openai-monitor experiment run`.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from monitor.experiments import (CallResult, ExperimentSpec, cell_signature, cells_to_rerun, estimate, expand,
                                 run_calls, run_cell, write_csv)
from monitor.monitor import normalize_stream_name
from monitor.profiles import DEFAULT_MODEL

from .. import tasks, workers
from ..call_stats import format_estimate, format_ms, format_usd
from . import store_jobs
from .inputs import lines_of
from .layout import NO_SYSTEM, PageLayout

DEFAULT_STREAM = "experiments"


def experiment_run(get_client: Any, calls: list, params: dict, asserts: list, concurrency: int,
                   stop: threading.Event, extra: dict, monitor: Any):
    """Generator for a tasks.StreamOp: yields each scored CallResult as it lands; returns an error text or None
    once the monitor has committed the calls (so the store can be read next)."""
    try:
        client = get_client()
    except Exception as exc:  # noqa: BLE001 - no key, no keyring, no profile: said on the page
        return workers.describe_error(exc)

    def one(call):
        return run_cell(client, call, params, asserts, extra, lambda exc: workers.describe_error(exc, client.api_key))

    yield from run_calls(calls, one, concurrency=concurrency, stop=stop)
    workers.flush(monitor)
    return None


class ExperimentsPage(QWidget, PageLayout):
    experimentFinished = Signal(dict)     # {"experiment", "stream", "calls", "ran", "succeeded", "failed", ...}
    exported = Signal(str)                # a CSV file was written
    fileSaved = Signal(str)
    fileOpened = Signal(str)
    ratingSaved = Signal(int)             # record id

    def __init__(self, ctx: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.extra_request_options: dict[str, Any] = {}   # merged into every request (tests: extra_headers)
        self._spec: ExperimentSpec | None = None
        self._stop: threading.Event | None = None     # set while a run is on (until its stored numbers are read)
        self._started_ts = 0.0
        self._calls: list = []
        self._sent: list = []                 # the calls this run sends (all, or the failed / changed ones)
        self._pending: list[CallResult] = []
        self._saved_prompts: dict[str, Any] = {}   # system prompt -> the PromptVersion it came from / was saved as
        self._build()
        self._connect()
        self._set_status("Run the experiment to fill the matrix: a row per combination of variable values, "
                         "a column per system prompt × model, each cell scored by the asserts and judges.")
        self.name_edit.setText(time.strftime("experiment %Y-%m-%d %H:%M"))
        self.set_stream(str(ctx.settings.value("experiments/stream") or DEFAULT_STREAM))
        self.models.set_models([self._profile_default_model()])
        self._restore_draft()
        self._fit_columns()
        self._on_inputs_changed()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._arrange(event.size().width())
        super().resizeEvent(event)

    @property
    def results(self):
        """The flat table's model (every cell's CallResult by grid index)."""
        return self.panel.table_model

    def _connect(self) -> None:
        for signal in (self.system_edit.textChanged, self.template_edit.textChanged, self.values_editor.changed,
                       self.models.changed, self.params.changed, self.repeats.valueChanged,
                       self.asserts_editor.changed):
            signal.connect(self._on_inputs_changed)
        self._inputs_timer.timeout.connect(self._on_estimate_due)
        self._batch_timer.timeout.connect(self._apply_pending)
        self.run_button.clicked.connect(lambda: self.run())
        self.rerun_failed_button.clicked.connect(lambda: self.run("failed"))
        self.rerun_changed_button.clicked.connect(lambda: self.run("changed"))
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.stream_combo.currentTextChanged.connect(self._on_stream_edited)
        self.panel.ratingRequested.connect(self.rate)
        self.library.versionChosen.connect(self.add_saved_prompt)
        self.library.saved.connect(self._on_prompt_saved)
        self.library.failed.connect(lambda err: self._set_status(f"Prompt library: {err}", error=True))
        self.library.save_button.clicked.connect(self._on_save_prompt_clicked)

    # -- public API ---------------------------------------------------------------------------------
    def set_stream(self, name: str) -> None:
        if self.stream_combo.findText(name) < 0:
            self.stream_combo.addItem(name)
        self.stream_combo.setCurrentText(name)
        self.stream_combo.lineEdit().setCursorPosition(0)     # a long name shows its start

    def spec(self) -> ExperimentSpec:
        """The experiment as the inputs describe it now."""
        self.values_editor.set_variables(ExperimentSpec("", self.template_edit.toPlainText()).variables)
        systems = ["" if line == NO_SYSTEM else line for line in lines_of(self.system_edit.toPlainText())]
        template = self.template_edit.toPlainText()
        refs = {system: (v.name, v.version) for system, v in self._saved_prompts.items()
                if system in systems and v.user == template}          # still exactly the saved version
        return ExperimentSpec(prompt_refs=refs,
            name=self.name_edit.text().strip() or "experiment", template=self.template_edit.toPlainText(),
            system_prompts=systems, values=self.values_editor.values(), models=self.models.models(),
            repeats=self.repeats.value(), params=self.params.params(), asserts=self.asserts_editor.asserts(),
            concurrency=self.concurrency.value(), stream=self.stream_combo.currentText().strip() or DEFAULT_STREAM)

    def set_spec(self, spec: ExperimentSpec) -> None:
        self.name_edit.setText(spec.name)
        self.name_edit.setCursorPosition(0)
        self.system_edit.setPlainText("\n".join(s if s else NO_SYSTEM for s in spec.system_prompts))
        self.template_edit.setPlainText(spec.template)
        self.values_editor.set_variables(spec.variables)
        self.values_editor.set_values(spec.values)
        self.models.set_models(spec.models)
        self.repeats.setValue(spec.repeats)
        self.params.set_params(spec.params)
        self.asserts_editor.set_asserts(spec.asserts)
        self.concurrency.setValue(spec.concurrency)

    def add_saved_prompt(self, version: Any) -> None:
        """A saved prompt version becomes a system-prompt variant (and its user message the template); while
        both stay unchanged, the variant's calls carry `prompt` and `prompt_version`."""
        lines = lines_of(self.system_edit.toPlainText())
        line = version.system or NO_SYSTEM
        if line not in lines:
            self.system_edit.setPlainText("\n".join([*lines, line]))
        self.template_edit.setPlainText(version.user)
        if version.model and version.model not in self.models.models():
            self.models.set_models([*self.models.models(), version.model])
        self._saved_prompts[version.system] = version
        self._set_status(f"Added {version.name} v{version.version} as a system prompt variant.")

    def save_prompt(self, name: str, note: str = "") -> None:
        """Save the first system prompt and the template (with the first model and the parameters) as the next
        version of `name` in the prompt library."""
        spec = self.spec()
        system = spec.system_prompts[0] if spec.system_prompts else ""
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": spec.template}]
        self.library.save(name, messages, spec.models[0] if spec.models else "", dict(spec.params), note)

    def is_running(self) -> bool:
        return self._stop is not None

    def save_state(self) -> None:
        """Called when the window closes: stop starting calls and keep the experiment's inputs."""
        self.cancel()
        spec = self.spec()
        self.ctx.settings.setValue("experiments/draft", json.dumps({
            "template": spec.template, "system_prompts": spec.system_prompts, "values": spec.values,
            "models": spec.models, "repeats": spec.repeats, "params": spec.params, "asserts": spec.asserts,
            "concurrency": self.concurrency.value()}))

    def _restore_draft(self) -> None:
        try:
            draft = json.loads(str(self.ctx.settings.value("experiments/draft") or "{}"))
            if draft:
                self.set_spec(ExperimentSpec(name=self.name_edit.text(), stream=self.stream_combo.currentText(),
                                             **draft))
        except (ValueError, TypeError, AttributeError):
            pass                                   # an unreadable draft is just forgotten

    def open_file(self, path: str) -> None:
        """Read an experiment file off the GUI thread; fileOpened when its inputs are on the page."""
        from monitor.experiments import files as experiment_files      # yaml + pydantic: only when used

        tasks.NetOp(lambda: experiment_files.load(path), parent=self,
                    success=lambda spec: self._on_file_loaded(path, spec)) \
            .failure(lambda exc: self._set_status(str(exc), error=True)).latest("open-file").run_in_background()

    def save_file(self, path: str) -> None:
        """Write the inputs as an experiment file (YAML for .yaml/.yml, else JSON); fileSaved when on disk."""
        from monitor.experiments import files as experiment_files

        spec = self.spec()
        if self.asserts_editor.error_label.text():
            self._set_status(f"Not saved: {self.asserts_editor.error_label.text()}", error=True)
            return
        tasks.NetOp(lambda: experiment_files.save(spec, path), parent=self,
                    success=lambda _none: self._on_file_saved(path)) \
            .failure(lambda exc: self._set_status(f"Could not save: {exc}", error=True)).run_in_background()

    def run(self, mode: str | None = None) -> None:
        """Run every cell (mode None), or only the cells that failed ("failed") / are new ("changed")."""
        if self.is_running():
            return
        spec = self.spec()
        problems = spec.problems()
        if self.asserts_editor.error_label.text():
            problems.append(self.asserts_editor.error_label.text())
        try:
            stream = normalize_stream_name(self.stream_combo.currentText().strip() or DEFAULT_STREAM)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            self._set_status(" ".join(problems), error=True)
            return
        calls = expand(spec)
        kept: dict[int, CallResult] = {}
        sent = calls
        if mode and self._spec is not None:
            previous = {cell_signature(c, self._spec): self.results.results[c.index] for c in self._calls
                        if c.index in self.results.results}
            sent = cells_to_rerun(calls, spec, previous, mode)
            chosen = {c.index for c in sent}
            kept = {c.index: dataclasses.replace(previous[cell_signature(c, spec)], index=c.index)
                    for c in calls if c.index not in chosen}
            if not sent:
                self._set_status("Nothing to re-run: every cell " + ("passed." if mode == "failed" else
                                                                    "is unchanged since the last run."))
                return
        self._spec, self._calls, self._sent, self._stream = spec, calls, sent, stream
        self._stop = stop = threading.Event()
        self._pending = []
        self._started_ts = time.time()
        self.panel.reset(calls, spec.variables, spec.asserts, kept)
        self._fit_columns()
        self.progress.setRange(0, len(sent))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        what = f"{len(sent)} of {len(calls)} cells" if len(sent) < len(calls) else f"{len(calls)} calls"
        self._set_status(f"Running {what}, at most {self.concurrency.value()} at a time…")
        self._update_buttons()
        ctx, profile, monitor = self.ctx, self.ctx.current_profile, self.ctx.monitor(stream)
        args = (sent, dict(spec.params), list(spec.asserts), self.concurrency.value(), stop,
                dict(self.extra_request_options), monitor)
        tasks.StreamOp(lambda _token: experiment_run(lambda: ctx.client(profile, stream), *args), parent=self,
                       success=self._on_calls_done) \
            .on_yield(self._on_result_landed) \
            .failure(lambda exc: self._on_calls_done(workers.describe_error(exc))).run_in_background()

    def cancel(self) -> None:
        """Queued calls never start; calls in flight finish (and are logged) before the run ends."""
        if self._stop is None or self._stop.is_set():
            return
        self._stop.set()
        in_flight = len(self._sent) - self.progress.value() - len(self._pending)
        self._set_status(f"Cancelling: no new calls start; waiting for up to "
                         f"{max(0, min(in_flight, self.concurrency.value()))} in flight…")
        self.cancel_button.setEnabled(False)

    def rate(self, record_id: int, value: float, scale: str = "thumbs") -> None:
        """A person's rating of a cell, stored as a 'human' score on its call."""
        tasks.QueryOp(self.ctx.db, lambda store: store_jobs.rate(store, record_id, value, scale), parent=self,
                      success=lambda score: self._on_rated(record_id, score)) \
            .failure(lambda exc: self._set_status(f"Could not save the rating: {exc}", error=True)) \
            .run_in_background()

    def export_csv(self, path: str) -> None:
        """Write the grid to `path` off the GUI thread; `exported` is emitted when it is on disk."""
        spec, calls, results = self._spec, list(self.results.calls), dict(self.results.results)
        if spec is None:
            return
        tasks.NetOp(lambda: write_csv(path, spec, calls, results), parent=self,
                    success=lambda rows: self._on_export_returned(path, rows)) \
            .failure(lambda exc: self._set_status(f"Could not write {path}: {exc}", error=True)).run_in_background()

    # -- slots --------------------------------------------------------------------------------------
    def _on_inputs_changed(self, *_: Any) -> None:
        self.values_editor.set_variables(ExperimentSpec("", self.template_edit.toPlainText()).variables)
        self._inputs_timer.start()

    def _on_estimate_due(self) -> None:
        spec = self.spec()
        factors = " × ".join(str(n) for _, n in spec.factors())
        labels = " × ".join(label for label, _ in spec.factors())
        head = f"{labels} = {factors} = {spec.size:,} call{'s' if spec.size != 1 else ''}"
        judges = sum(a.get("type") == "judge" for a in spec.asserts)
        if judges:
            head += f" (+ {judges * spec.size:,} judge calls)"
        problems = spec.problems()
        if problems:
            self.preview_label.setText(f"{head} — {problems[0]}")
            return
        if spec.size > 20_000:
            self.preview_label.setText(f"{head} — that is a lot; the estimate is skipped.")
            return
        self.preview_label.setText(head)
        tasks.NetOp(lambda: estimate(spec), parent=self,
                    success=lambda est: self._on_estimate_returned(head, spec, est)) \
            .failure(lambda _exc: None).latest("estimate").run_in_background()

    def _on_estimate_returned(self, head: str, spec: ExperimentSpec, est: Any) -> None:
        max_out = int(spec.params.get("max_tokens") or 0)
        self.preview_label.setText(f"{head}, est. {format_estimate(est, max_out, spec.size)}")
        self.preview_label.setToolTip("Estimated before sending: prompt tokens of every call (tiktoken; "
                                      "~ when approximate) priced with the price table. Judge calls are "
                                      "not included.")

    def _on_result_landed(self, result: CallResult) -> None:
        self._pending.append(result)
        if not self._batch_timer.isActive():
            self._batch_timer.start()

    def _apply_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        self.panel.add_results(batch)
        self._set_progress(self.progress.value() + len(batch))
        self._show_totals()

    def _set_progress(self, value: int) -> None:
        """QProgressBar.setValue repaints at once, and a synchronous repaint flushes every dirty region of the
        window — the whole matrix — inside this slot; with updates off, the bar is repainted with the rest."""
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(value)
        self.progress.setUpdatesEnabled(True)          # schedules an ordinary update()

    def _on_calls_done(self, error: str | None) -> None:
        self._batch_timer.stop()
        self._apply_pending()
        sent = {c.index for c in self._sent}
        ran = sent & set(self.results.results)
        not_run = sent - ran
        if not_run:
            self.panel.mark_not_run(not_run)
        cancelled = bool(self._stop and self._stop.is_set())
        if self._stop is not None:
            self._stop.set()                  # the calls are over (Cancel has nothing left to stop); the run
        self.cancel_button.setEnabled(False)  # itself ends when the stored numbers are read
        total = len(self._sent)
        if error:
            self._set_status(error, error=True)
        elif cancelled:
            self._set_status(f"Cancelled: {len(ran)} of {total} calls ran; {len(not_run)} never started. "
                             "Reading the stored numbers…")
        else:
            self._set_status(f"Done: {len(ran)} / {total} calls. Reading the stored numbers…")
        summary = {"experiment": self._spec.name, "stream": self._stream, "calls": total, "ran": len(ran),
                   "not_run": len(not_run), "cancelled": cancelled, "error": error}
        self._read_stored(summary, ran)

    def _read_stored(self, summary: dict, ran: set[int]) -> None:
        calls = [c for c in self._calls if c.index in ran]
        results = {i: self.results.results[i] for i in ran}
        stream, since, name = self._stream, self._started_ts, self._spec.name
        tasks.QueryOp(self.ctx.db, lambda store: store_jobs.store_and_read(store, stream, since, calls, name, results),
                      parent=self, success=lambda stored: self._on_stored_read(summary, stored)) \
            .failure(lambda exc: self._on_stored_read(summary, [], f"{type(exc).__name__}: {exc}")) \
            .run_in_background()

    def _on_stored_read(self, summary: dict, stored: list[CallResult], error: str | None = None) -> None:
        self._stop = None                            # the run is over
        self._update_buttons()
        self.panel.add_results(stored, from_store=True)
        self._show_totals()
        text = self.status_label.text().replace(" Reading the stored numbers…", "")
        if error or len(stored) < summary["ran"]:
            text += f" ({summary['ran'] - len(stored)} results could not be matched to stored records" \
                    f"{': ' + error if error else ''}.)"
        else:
            text += f" Logged to “{summary['stream']}” with experiment = “{summary['experiment']}”."
        self._set_status(text, error=bool(summary["error"]))
        self.export_button.setEnabled(True)
        totals = self.results.totals()
        passed = sum(r.passed for r in self.results.results.values())
        self.experimentFinished.emit({**summary, "succeeded": totals["succeeded"], "failed": totals["failed"],
                                      "cost_usd": totals["cost_usd"], "matched": len(stored), "passed": passed})

    def _on_save_prompt_clicked(self) -> None:
        answer = self.library.ask_name(self.name_edit.text().strip())
        if answer:
            self.save_prompt(*answer)

    def _on_prompt_saved(self, version: Any) -> None:
        self._saved_prompts[version.system] = version
        self._set_status(f"Saved {version.name} v{version.version} to the prompt library; its calls carry "
                         f"prompt = “{version.name}”, prompt_version = {version.version}.")

    def _on_rated(self, record_id: int, score: Any) -> None:
        for result in self.results.results.values():
            if result.record_id == record_id:
                result.scores[score.name] = score
                self.panel.add_results([result], from_store=True)
        self.ratingSaved.emit(record_id)

    def _on_file_loaded(self, path: str, spec: ExperimentSpec) -> None:
        self.set_spec(spec)
        self.set_stream(spec.stream)
        self._set_status(f"Opened {path}.")
        self.fileOpened.emit(path)

    def _on_file_saved(self, path: str) -> None:
        self._set_status(f"Saved {path} — run it headless with: openai-monitor experiment run {path}")
        self.fileSaved.emit(path)

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment file", "",
                                              "Experiment files (*.yaml *.yml *.json);;All files (*)")
        if path:
            self.open_file(path)

    def _on_save_clicked(self) -> None:
        name = (self.name_edit.text().strip() or "experiment").replace("/", "-")
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment file", f"{name}.yaml",
                                              "YAML (*.yaml *.yml);;JSON (*.json)")
        if path:
            self.save_file(path)

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
        if self._spec is not None and self._spec.asserts:
            passed = sum(r.passed for r in self.results.results.values())
            parts.append(f"{passed} passed every assert")
        judged = sum(r.judge_cost_usd for r in self.results.results.values())
        parts += [f"{t['prompt_tokens']:,} prompt + {t['completion_tokens']:,} completion tokens",
                  f"cost {format_usd(t['cost_usd'])}" + (f" + judges {format_usd(judged)}" if judged else ""),
                  f"mean latency {format_ms(t['mean_latency_ms'])}"]
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
        for b in (self.run_button, self.rerun_failed_button, self.rerun_changed_button, self.open_button):
            b.setEnabled(not running)
        self.cancel_button.setEnabled(running)
