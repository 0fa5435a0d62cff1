"""The Experiments page with scores: a 2×2×2 experiment with asserts and a judge against the simulator, its
matrix equal to the store, human ratings, partial re-runs, and files shared with `experiment run`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from monitor.experiments import ExperimentSpec
from monitor.experiments import files as experiment_files
from monitor.scores import scores_for
from monitor.store import Store

try:
    from tests.desktop_helpers import ctx, stored_records  # noqa: F401 - ctx is a fixture
except ImportError:
    from desktop_helpers import ctx, stored_records  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
JUDGE = {"type": "judge", "model": "gpt-4o-mini", "rubric": 'Does it give "The answer"? Answer PASS or FAIL.'}


def spec_2x2x2(**changes) -> ExperimentSpec:
    """2 system prompts × 2 values × 2 models; arithmetic prompts get deterministic simulator replies."""
    s = ExperimentSpec(name="sums", template="What is {a} + 3?", system_prompts=["You are terse.", ""],
                       values={"a": ["1", "2"]}, models=["gpt-4o-mini", "gpt-4.1-nano"], params={"max_tokens": 40},
                       asserts=[{"type": "contains", "value": "= 4"}, {"type": "max_latency_ms", "value": 60000},
                                JUDGE], stream="exp-matrix")
    for k, v in changes.items():
        setattr(s, k, v)
    return s


@pytest.fixture
def page(qtbot, ctx):
    from desktop.experiments import ExperimentsPage

    widget = ExperimentsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.set_stream("exp-matrix")
    yield widget
    widget.cancel()


def run_and_wait(qtbot, page, mode=None) -> dict:
    with qtbot.waitSignal(page.experimentFinished, timeout=60_000) as blocker:
        page.run(mode)
    return blocker.args[0]


def test_matrix_of_a_scored_2x2x2_experiment_equals_the_store(qtbot, page, ctx):
    page.set_spec(spec_2x2x2())
    summary = run_and_wait(qtbot, page)
    assert summary["ran"] == 8 and summary["passed"] == 4 and summary["matched"] == 8

    model = page.panel.matrix_model
    assert (model.rowCount(), model.columnCount()) == (3, 4)             # 2 rows + totals, 2 prompts × 2 models
    assert model.headerData(0, Qt.Orientation.Horizontal).startswith(
        "P1: You are terse.\ngpt-4o-mini\n1/2 pass (50%) · mean 0.83\n$0.0000")     # the totals stay in view
    records = stored_records(ctx, "exp-matrix")
    cells = {r.id: r for r in records if not r.attributes.get("judge")}
    judges = [r for r in records if r.attributes.get("judge")]
    assert len(cells) == 8 and len(judges) == 8
    store = Store(ctx.db_path)
    stored_scores = scores_for(store, list(cells))
    for row in range(2):
        for col in range(4):
            call, result = model.cell(row, col)
            record = cells[result.record_id]
            assert (result.output, result.cost_usd, result.latency_ms, result.status) == (
                record.output, record.cost_usd, record.latency_ms, record.status)
            assert record.attributes["params"] == call.values and record.model == call.model
            assert {s.name: (s.value, s.passed, s.reason) for s in stored_scores[record.id]} == {
                n: (s.value, s.passed, s.reason) for n, s in result.scores.items()}
            expected = call.values["a"] == "1"                                # 1 + 3 = 4
            assert result.passed is expected and model.state(call.index) == ("pass" if expected else "fail")
            assert result.scores["judge: Does it give \"The answer\"? Answer PASS o…"].passed
    totals = model.matrix.totals(0, model.results)
    assert (totals.passed, totals.done, totals.pass_rate) == (1, 2, 0.5)
    col0 = [cells[model.cell(r, 0)[1].record_id] for r in range(2)]
    assert totals.cost_usd == pytest.approx(sum(r.cost_usd for r in col0))
    assert model.data(model.index(2, 0)).startswith("1/2 pass (50%) · mean 0.83")   # (1+1+1 + 0+1+1) / 6
    assert "judges $" in page.totals_label.text()
    # the flat table is the second view of the same results
    assert page.panel.tabs.tabText(1) == "Table" and page.results.rowCount() == 8
    assert "Scores" in page.results.headers()


def test_human_rating_is_stored_as_a_score(qtbot, page, ctx):
    page.set_spec(spec_2x2x2(asserts=[{"type": "contains", "value": "="}]))
    run_and_wait(qtbot, page)
    model = page.panel.matrix_model
    index = model.index(0, 1)
    page.panel.matrix.clicked.emit(index)
    call, result = model.cell(0, 1)
    assert "user: What is 1 + 3?" in page.panel.detail.toPlainText() and page.panel.thumbs_down.isEnabled()
    with qtbot.waitSignal(page.ratingSaved, timeout=10_000):
        page.panel.thumbs_down.click()
    with qtbot.waitSignal(page.ratingSaved, timeout=10_000):
        page.panel.stars.activated.emit(5)
    scores = scores_for(Store(ctx.db_path), [result.record_id])[result.record_id]
    assert [(s.name, s.value, s.source) for s in scores if s.source == "human"] == [("human", 5.0, "human")]
    assert result.scores["human"].value == 5.0 and result.passed        # a rating never fails the asserts
    assert page.panel.rating_label.text() == "rated 5"


def test_rerun_failed_and_changed_cells_only(qtbot, page, ctx):
    page.set_spec(spec_2x2x2(asserts=[{"type": "contains", "value": "= 4"}]))
    run_and_wait(qtbot, page)
    first = {c.index: page.results.results[c.index].record_id for c in page._calls}
    summary = run_and_wait(qtbot, page, "failed")
    assert summary["calls"] == 4                                       # the a=2 cells failed
    assert len([r for r in stored_records(ctx, "exp-matrix")]) == 12
    kept = [i for i in first if page.results.results[i].record_id == first[i]]
    assert len(kept) == 4 and all(page._calls[i].values["a"] == "1" for i in kept)
    page.models.set_models(["gpt-4o-mini", "gpt-4.1-nano", "gpt-4o"])
    summary = run_and_wait(qtbot, page, "changed")
    assert summary["calls"] == 4                                       # only the new model's cells
    assert page.panel.matrix_model.columnCount() == 6 and len(page.results.results) == 12


def test_the_cli_runs_a_file_the_page_saved_and_the_page_opens_it_back(qtbot, page, ctx, sim, tmp_path):
    page.set_spec(spec_2x2x2())
    page.set_stream("from-page")
    path = tmp_path / "sums.yaml"
    with qtbot.waitSignal(page.fileSaved, timeout=10_000):
        page.save_file(str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test-0123456789abcdef",
           "OPENAI_BASE_URL": sim.base_url}
    proc = subprocess.run([sys.executable, "-m", "monitor.cli", "experiment", "run", str(path), "--db",
                           str(ctx.db_path), "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr                           # the a=2 cells miss "= 4"
    out = json.loads(proc.stdout)
    assert (out["calls"], out["passed"], out["failed"]) == (8, 4, 4)
    assert {c["prompt"] for c in out["cells"]} == {"You are terse.", ""}
    assert len(stored_records(ctx, "from-page")) == 16                # 8 cells + 8 judge calls

    from desktop.experiments import ExperimentsPage
    again = ExperimentsPage(ctx)
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.fileOpened, timeout=10_000):
        again.open_file(str(path))
    opened, saved = again.spec(), experiment_files.load(path)
    assert saved.asserts[2] == JUDGE
    assert experiment_files.to_dict(opened) == experiment_files.to_dict(saved)
    assert opened.system_prompts == ["You are terse.", ""] and opened.asserts[2] == JUDGE
    assert again.stream_combo.currentText() == "from-page"


def test_keys_without_a_column_survive_open_and_save(qtbot, page, tmp_path):
    asserts = [{"type": "contains", "value": "x", "label": "has x"},
               {"type": "judge", "rubric": "Clear?", "scale": "score", "min_score": 3.0, "label": "clarity"}]
    path = tmp_path / "e.json"
    experiment_files.save(spec_2x2x2(asserts=asserts), path)
    with qtbot.waitSignal(page.fileOpened, timeout=10_000):
        page.open_file(str(path))
    assert page.spec().asserts == asserts


def test_a_bad_file_is_said_in_one_line_and_changes_nothing(qtbot, page, tmp_path):
    page.set_spec(spec_2x2x2())
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nuser: hi\n")
    page.open_file(str(path))
    qtbot.waitUntil(lambda: "bad.yaml: models: Field required" in page.status_label.text(), timeout=10_000)
    assert page.spec().template == "What is {a} + 3?"


def test_saved_prompts_become_variants_and_their_calls_say_which_version(qtbot, page, ctx):
    page.set_spec(spec_2x2x2(system_prompts=["You are terse."], asserts=[]))
    with qtbot.waitSignal(page.library.saved, timeout=10_000) as saved:
        page.save_prompt("sums", "first")
    v1 = saved.args[0]
    assert (v1.name, v1.version, v1.system, v1.user, v1.model) == ("sums", 1, "You are terse.", "What is {a} + 3?",
                                                                   "gpt-4o-mini")
    qtbot.waitUntil(lambda: page.library.combo.count() == 1, timeout=10_000)
    page.system_edit.setPlainText("You are chatty.")
    with qtbot.waitSignal(page.library.saved, timeout=10_000):
        page.save_prompt("sums", "chattier")
    qtbot.waitUntil(lambda: page.library.combo.count() == 2, timeout=10_000)
    page.system_edit.setPlainText("")
    page.library.combo.setCurrentText("sums v1")
    page.library.add_button.click()
    assert page.spec().system_prompts == ["You are terse."]
    page.library.combo.setCurrentText("sums v2")
    page.library.add_button.click()
    assert page.spec().prompt_refs == {"You are terse.": ("sums", 1), "You are chatty.": ("sums", 2)}
    run_and_wait(qtbot, page)
    records = stored_records(ctx, "exp-matrix")
    assert {(r.attributes["system_prompt"], r.attributes["prompt"], r.attributes["prompt_version"])
            for r in records} == {("You are terse.", "sums", 1), ("You are chatty.", "sums", 2)}
    page.template_edit.setPlainText("What is {a} + 4?")                 # edited: no longer the saved version
    assert page.spec().prompt_refs == {}
