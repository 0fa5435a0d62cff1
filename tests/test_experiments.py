"""Experiments: the grid expansion (headless) and the page's real widgets against the simulator."""
from __future__ import annotations

import csv
import os
import threading
import time
from collections import Counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QTimer

from monitor.experiments import ExperimentSpec, estimate, expand, max_tokens_param, run_calls

try:
    from tests.desktop_helpers import ctx, stored_records  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx, stored_records  # noqa: F401

# The seed's Example 4, verbatim.
SYSTEM_PROMPTS = [
    "you're extremely flowery and poetic",
    "you're very direct and precise",
    "balance brevity with insight",
]
TEMPLATE = "explain the solution of the following to a {audience}: {equation}"
EQUATIONS = ["x^2 + 4x + 9 = 0", "15 * (2 - 6) / 4"]
AUDIENCE = ["new student", "math genius"]


def seed_spec(name="seed example 4", **changes) -> ExperimentSpec:
    spec = ExperimentSpec(name=name, template=TEMPLATE, system_prompts=list(SYSTEM_PROMPTS),
                          values={"audience": list(AUDIENCE), "equation": list(EQUATIONS)},
                          models=["gpt-4o-mini"], repeats=1, params={"max_tokens": 60})
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


# -- headless ---------------------------------------------------------------------------------------

def test_expand_is_the_seeds_loop():
    calls = expand(seed_spec())
    assert len(calls) == 12 == seed_spec().size
    expected = [(s, e, a) for s in SYSTEM_PROMPTS for a in AUDIENCE for e in EQUATIONS]
    assert sorted((c.system_prompt, c.values["equation"], c.values["audience"]) for c in calls) == sorted(expected)
    first = calls[0]
    assert first.messages == [
        {"role": "system", "content": SYSTEM_PROMPTS[0]},
        {"role": "user", "content": TEMPLATE.format(audience=first.values["audience"],
                                                    equation=first.values["equation"])},
    ]
    assert first.attributes == {"system_prompt": SYSTEM_PROMPTS[0], "prompt_template": TEMPLATE,
                                "params": first.values, "experiment": "seed example 4", "model": "gpt-4o-mini",
                                "repeat": 0}


def test_factors_models_repeats_and_problems():
    spec = seed_spec(models=["gpt-4o-mini", "gpt-4.1-nano"], repeats=2)
    assert spec.factors() == [("system prompts", 3), ("audience", 2), ("equation", 2), ("models", 2),
                              ("repeats", 2)]
    assert spec.size == len(expand(spec)) == 48
    assert Counter(c.repeat for c in expand(spec)) == {0: 24, 1: 24}
    assert seed_spec(system_prompts=[]).size == 4                 # no system message at all
    assert expand(seed_spec(system_prompts=[]))[0].messages[0]["role"] == "user"
    assert seed_spec(values={"audience": ["x"]}).problems() == ["Give at least one value for {equation}."]
    assert "Pick at least one model." in seed_spec(models=[]).problems()


def test_estimate_counts_every_call():
    spec = seed_spec()
    est = estimate(spec)
    assert est.includes_output and est.cost_usd > 0 and est.prompt_tokens > 12 * 20
    unpriced = estimate(seed_spec(models=["my-local-model"]))
    assert unpriced.cost_usd is None and unpriced.unpriced == ("my-local-model",)
    assert max_tokens_param("o3-mini") == "max_completion_tokens" and max_tokens_param("gpt-4o") == "max_tokens"


def test_run_calls_respects_the_limit_and_stops():
    calls = expand(seed_spec())
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(call):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        from monitor.experiments import CallResult
        return CallResult(call.index, "success")

    assert len(list(run_calls(calls, slow, concurrency=3))) == 12 and peak[0] == 3
    stop = threading.Event()
    seen = []
    for result in run_calls(calls, slow, concurrency=2, stop=stop):
        seen.append(result)
        stop.set()
    assert 1 <= len(seen) <= 2                                        # only what was in flight finished


# -- the page ---------------------------------------------------------------------------------------

@pytest.fixture
def page(qtbot, ctx):
    from desktop.experiments import ExperimentsPage

    widget = ExperimentsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.set_stream("exp-test")
    yield widget
    widget.cancel()


def run_and_wait(qtbot, page, timeout=60_000) -> dict:
    with qtbot.waitSignal(page.experimentFinished, timeout=timeout) as blocker:
        page.run()
    return blocker.args[0]


def max_overlap(records) -> int:
    """Most calls in flight at once, from the stored start times and latencies."""
    events = sorted([(r.timestamp, 1) for r in records] + [(r.timestamp + r.latency_ms / 1000, -1) for r in records],
                    key=lambda e: (e[0], e[1]))
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def test_seed_experiment_logs_twelve_calls_with_attributes(qtbot, page, ctx):
    page.set_spec(seed_spec())
    qtbot.waitUntil(lambda: "= 12 calls, est. " in page.preview_label.text(), timeout=5_000)
    assert page.preview_label.text().startswith("system prompts × audience × equation × models × repeats "
                                                "= 3 × 2 × 2 × 1 × 1 = 12 calls, est. ")
    progress = []
    page.progress.valueChanged.connect(progress.append)

    summary = run_and_wait(qtbot, page)

    assert summary["ran"] == 12 and summary["succeeded"] == 12 and not summary["cancelled"]
    assert page.progress.text() == "12 / 12" and progress[-1] == 12
    records = stored_records(ctx, "exp-test")
    assert len(records) == 12
    by_system = Counter(r.attributes["system_prompt"] for r in records)
    assert by_system == {s: 4 for s in SYSTEM_PROMPTS}               # group by system prompt: 3 × 4
    assert Counter(r.attributes["params"]["audience"] for r in records) == {a: 6 for a in AUDIENCE}
    for r in records:
        assert set(r.attributes) == {"system_prompt", "prompt_template", "params", "experiment", "model", "repeat"}
        assert r.attributes["prompt_template"] == TEMPLATE and r.attributes["experiment"] == "seed example 4"
        assert r.request["messages"][1]["content"] == TEMPLATE.format(**r.attributes["params"])
        assert r.request["max_tokens"] == 60
    # the grid shows the stored numbers
    model = page.results
    assert model.rowCount() == 12 and not model.estimated
    stored = {r.id: r for r in records}
    for result in model.results.values():
        record = stored[result.record_id]
        assert (result.cost_usd, result.latency_ms, result.prompt_tokens) == (
            record.cost_usd, record.latency_ms, record.prompt_tokens)
    assert page.totals_label.text().startswith("Totals: 12 / 12 calls · 12 ok · 0 failed")
    headers = model.headers()
    assert headers[:4] == ["#", "System prompt", "{audience}", "{equation}"] and "Status" in headers


def test_models_compared_and_repeats(qtbot, page, ctx):
    page.set_spec(seed_spec(system_prompts=["be brief"], values={"audience": ["child"], "equation": ["1+1"]},
                            models=["gpt-4o-mini", "gpt-4.1-nano"], repeats=3))
    run_and_wait(qtbot, page)
    records = stored_records(ctx, "exp-test")
    assert Counter((r.model, r.attributes["repeat"]) for r in records) == {
        (m, i): 1 for m in ("gpt-4o-mini", "gpt-4.1-nano") for i in range(3)}


def test_concurrency_never_exceeds_the_limit(qtbot, page, ctx):
    page.set_spec(seed_spec())
    page.concurrency.setValue(3)
    page.extra_request_options = {"extra_headers": {"X-Sim-Latency-Ms": "250"}}
    started = time.monotonic()
    run_and_wait(qtbot, page)
    elapsed = time.monotonic() - started
    records = stored_records(ctx, "exp-test")
    assert len(records) == 12
    assert max_overlap(records) == 3                    # the limit is reached, never exceeded
    assert elapsed >= 4 * 0.25                          # 12 calls, 3 at a time, 250 ms each


def test_cancel_stops_queued_calls(qtbot, page, ctx):
    page.set_spec(seed_spec())
    page.concurrency.setValue(2)
    page.extra_request_options = {"extra_headers": {"X-Sim-Latency-Ms": "300"}}
    with qtbot.waitSignal(page.experimentFinished, timeout=30_000) as blocker:
        page.run()
        qtbot.waitUntil(lambda: page.progress.value() >= 2, timeout=10_000)
        page.cancel()
    summary = blocker.args[0]
    assert summary["cancelled"] and 2 <= summary["ran"] < 12
    assert summary["not_run"] == 12 - summary["ran"]
    records = stored_records(ctx, "exp-test")
    assert len(records) == summary["ran"]                       # nothing started after cancel
    assert f"Cancelled: {summary['ran']} of 12 calls ran; {12 - summary['ran']} never started." \
        in page.status_label.text()
    statuses = Counter(page.results.status_of(i) for i in range(12))
    assert statuses["not run"] == 12 - summary["ran"]
    assert page.run_button.isEnabled() and not page.cancel_button.isEnabled()


def test_a_run_lasts_until_its_stored_numbers_are_read(qtbot, page, ctx):
    """A new run must not start (and meet the old run's answers) while the last one is still being stored."""
    page.set_spec(seed_spec(system_prompts=["x"], values={"audience": ["a"], "equation": ["1", "2"]}))
    release = threading.Event()
    ctx.db.submit(lambda store: release.wait(30))          # the DB lane is busy: the store read waits behind it
    finished = []
    page.experimentFinished.connect(finished.append)
    page.run()
    qtbot.waitUntil(lambda: "Reading the stored numbers" in page.status_label.text(), timeout=30_000)
    assert page.is_running() and not page.run_button.isEnabled() and not page.cancel_button.isEnabled()
    page.run()                                                # refused: nothing new is sent
    page.cancel()                                             # nothing left to cancel: the status stays
    assert "Reading the stored numbers" in page.status_label.text()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=30_000)
    assert not page.is_running() and page.run_button.isEnabled()
    assert finished[0]["matched"] == 2 and len(stored_records(ctx, "exp-test")) == 2


def test_errors_are_reported_per_call(qtbot, page, ctx):
    page.set_spec(seed_spec(system_prompts=["x"], values={"audience": ["a"], "equation": ["1"]}))
    page.extra_request_options = {"extra_headers": {"X-Sim-Status": "429"}}
    summary = run_and_wait(qtbot, page)
    assert summary["failed"] == 1
    assert page.results.status_of(0) == "error"
    assert "HTTP 429" in page.results.results[0].error
    assert stored_records(ctx, "exp-test")[0].status == "error"


def test_unrunnable_spec_explains_why(qtbot, page, ctx):
    page.set_spec(seed_spec(values={"audience": ["a"], "equation": []}))
    page.run()
    assert not page.is_running()
    assert "Give at least one value for {equation}." in page.status_label.text()


def test_export_csv(qtbot, page, tmp_path):
    page.set_spec(seed_spec())
    run_and_wait(qtbot, page)
    path = tmp_path / "results.csv"
    with qtbot.waitSignal(page.exported, timeout=10_000):
        page.export_csv(str(path))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert {"system_prompt", "audience", "equation", "model", "output", "cost_usd", "record_id"} <= set(rows[0])
    assert all(r["status"] == "success" and r["record_id"] for r in rows)


def test_event_loop_keeps_answering_during_a_100_call_experiment(qtbot, page, ctx):
    """The GUI thread keeps turning while the calls land: a timer on it sees the progress bar part-way, not only
    once the run is over. (How long its longest stall is, is measured by
    benchmarks/gui_stall.py: a figure, not a pass/fail line for a loaded machine.)"""
    page.set_spec(seed_spec(system_prompts=[f"style {i}" for i in range(25)], repeats=1,
                            values={"audience": ["a", "b"], "equation": ["1", "2"]}))
    page.concurrency.setValue(8)
    page.extra_request_options = {"extra_headers": {"X-Sim-Latency-Ms": "100"}}   # >= 13 waves of 8: over 1 s
    seen_part_way: set[int] = set()
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: seen_part_way.add(page.progress.value())
                          if page.is_running() and 0 < page.progress.value() < 100 else None)
    timer.start()
    summary = run_and_wait(qtbot, page, timeout=120_000)
    timer.stop()
    assert summary["ran"] == 100
    assert seen_part_way                     # a blocked GUI thread would only see the finished run


def test_inputs_are_kept_across_restarts(qtbot, page, ctx):
    from desktop.experiments import ExperimentsPage

    page.set_spec(seed_spec(models=["gpt-4o-mini", "gpt-4.1-nano"], repeats=2))
    page.concurrency.setValue(6)
    page.save_state()
    again = ExperimentsPage(ctx)
    qtbot.addWidget(again)
    spec = again.spec()
    assert (spec.template, spec.system_prompts, spec.values, spec.models, spec.repeats, spec.params) == (
        TEMPLATE, SYSTEM_PROMPTS, {"audience": AUDIENCE, "equation": EQUATIONS}, ["gpt-4o-mini", "gpt-4.1-nano"],
        2, {"max_tokens": 60})
    assert again.concurrency.value() == 6
