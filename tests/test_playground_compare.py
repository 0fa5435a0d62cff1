"""Compare mode of the Playground: real widgets, the real openai client over HTTP to the simulator, a real store."""
from __future__ import annotations

import os
import urllib.parse

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from desktop import tasks
from desktop.call_stats import format_usd
from desktop.playground import PlaygroundPage
from desktop.playground.compare_column import format_column_stats
from desktop.playground.variants import Variant, build_request
from desktop.playground.word_diff import word_diff, word_diff_html

try:
    from tests.desktop_helpers import SIM_PROFILE, ctx, stored_records  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import SIM_PROFILE, ctx, stored_records  # noqa: F401

STORY = ("Once upon a time a small robot counted the stars over the harbour every night, and each night "
         "it found one more than before, until the harbour master asked it why it kept going.")
SLOW = {"X-Sim-Tokens-Per-S": "30", "X-Sim-Output": urllib.parse.quote(STORY)}
STREAM = "cmp-test"


@pytest.fixture
def page(qtbot, ctx):
    widget = PlaygroundPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1360, 860)
    widget.set_stream(STREAM)
    widget.compare_button.setChecked(True)
    widget.compare_view.set_variants([
        Variant("A", model="gpt-4o-mini"),
        Variant("B", model="gpt-4.1-nano", temperature=0.2, max_tokens=200),
        Variant("C", profile=SIM_PROFILE, model="gpt-4o", system="You answer like a pirate."),
    ])
    system, user = widget.messages.editors[:2]
    system.text.setPlainText("You are terse.")
    user.text.setPlainText("Tell me about {topic}.")
    widget.variables.set_value("topic", "harbours")
    widget.attributes.set_attributes({"user": "alice"})
    yield widget
    if widget.is_running():
        widget.cancel()


def test_three_columns_stream_at_once_and_show_the_stored_numbers(qtbot, page, ctx):
    page.extra_request_options = {"extra_headers": SLOW}
    events = []
    for column in page.compare_view.columns:
        column.firstText.connect(lambda label: events.append(("text", label)))
        column.finished.connect(lambda r: events.append(("done", r["label"])))
    with qtbot.waitSignal(page.compareFinished, timeout=30_000) as blocker:
        page.run()
        assert page.is_running() and page.cancel_button.isEnabled()
    results = blocker.args[0]

    # all three streamed at once: every column had text before any of them finished
    first_done = next(i for i, e in enumerate(events) if e[0] == "done")
    assert sorted(label for kind, label in events[:first_done] if kind == "text") == ["A", "B", "C"]

    records = {r.attributes["compare"]: r for r in stored_records(ctx, STREAM)}
    assert sorted(records) == ["A", "B", "C"] and all(r["status"] == "success" for r in results)
    # ...and by the store's own clock: each call started before any of them ended
    ends = [r.timestamp + r.latency_ms / 1000 for r in records.values()]
    assert max(r.timestamp for r in records.values()) < min(ends)
    assert records["B"].request["temperature"] == 0.2 and records["B"].request["max_tokens"] == 200
    assert records["C"].request["messages"][0] == {"role": "system", "content": "You answer like a pirate."}
    assert records["A"].request["messages"] == [{"role": "system", "content": "You are terse."},
                                                {"role": "user", "content": "Tell me about harbours."}]
    assert records["A"].attributes["user"] == "alice" and records["A"].attributes["params"] == {"topic": "harbours"}
    for column in page.compare_view.columns:
        record = records[column.label]
        assert record.output == STORY == column.output.toPlainText()
        assert record.streamed and record.ttft_ms is not None and record.cost_usd
        assert column.stats_label.text() == format_column_stats(record)        # costs shown = the store's
        assert format_usd(record.cost_usd) in column.stats_label.text()
    total = sum(r.cost_usd for r in records.values())
    assert f"last run cost {format_usd(total)}" in page.compare_view.total_label.text()
    assert page.run_button.isEnabled() and page.banner_kind() == "success"


def test_escape_cancels_every_column_and_each_is_logged_cancelled(qtbot, page, ctx):
    page.extra_request_options = {"extra_headers": {**SLOW, "X-Sim-Tokens-Per-S": "8"}}
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()
    page.run()
    columns = page.compare_view.columns
    qtbot.waitUntil(lambda: all(c.output.toPlainText() for c in columns), timeout=15_000)
    with qtbot.waitSignal(page.compareFinished, timeout=10_000) as blocker:
        page.messages.editors[1].text.setFocus()
        qtbot.keyClick(page.messages.editors[1].text, Qt.Key.Key_Escape)
    assert [r["status"] for r in blocker.args[0]] == ["cancelled"] * 3
    records = stored_records(ctx, STREAM)
    assert sorted(r.attributes["compare"] for r in records) == ["A", "B", "C"]
    for record in records:
        assert record.status == "cancelled" and record.output and len(record.output) < len(STORY)
    assert page.banner_kind() == "cancelled" and page.run_button.isEnabled()


def test_estimates_per_column_and_total_before_running(qtbot, page):
    view = page.compare_view
    qtbot.waitUntil(lambda: all(c.estimate is not None for c in view.columns), timeout=10_000)
    costs = [c.estimate.cost_usd for c in view.columns]
    assert all(costs) and costs[2] > costs[0]                    # gpt-4o costs more than gpt-4o-mini
    assert "≤" in view.columns[1].estimate_label.text()         # max tokens set: worst case with output
    assert format_usd(sum(costs)) in view.total_label.text()


def test_columns_persist_across_restarts(qtbot, page, ctx):
    page.compare_view.columns[1].system.setPlainText("Be brief.")
    page.save_state()
    again = PlaygroundPage(ctx)
    qtbot.addWidget(again)
    assert again.comparing()
    assert [v.to_dict() for v in again.compare_view.variants()] == [v.to_dict() for v in page.compare_view.variants()]
    assert again.compare_view.variants()[1].system == "Be brief."
    saved = str(ctx.settings.value("playground/compare"))
    assert "sk-" not in saved and "api_key" not in saved


def test_add_and_remove_columns_within_2_to_6(qtbot, page):
    view = page.compare_view
    for _ in range(5):
        view.add_button.click()
    assert [c.label for c in view.columns] == ["A", "B", "C", "D", "E", "F"] and not view.add_button.isEnabled()
    for _ in range(6):
        view.columns[0].remove_button.click()
    assert [c.label for c in view.columns] == ["A", "B"] and not view.columns[0].remove_button.isEnabled()


def test_single_prompt_mode_stays(qtbot, page, ctx):
    page.compare_button.setChecked(False)
    page.model_picker.set_model("gpt-4o-mini")
    with qtbot.waitSignal(page.callFinished, timeout=15_000):
        page.run()
    [record] = stored_records(ctx, STREAM)
    assert "compare" not in record.attributes and page.output.toPlainText() == record.output


def test_word_diff():
    assert word_diff("the cat sat", "the dog sat") == [("=", "the "), ("-", "cat"), ("+", "dog"), ("=", " sat")]
    html = word_diff_html("a <b>", "a <i>")
    assert "&lt;b&gt;" in html and "&lt;i&gt;" in html and "line-through" in html


def test_a_column_without_a_model_stops_the_run_with_a_message():
    with pytest.raises(ValueError, match="Column B: pick a model"):
        build_request(Variant("B"), [{"role": "user", "content": "hi"}], {}, {})


def test_a_missing_value_blocks_every_column_with_a_visible_message(qtbot, page, ctx, sim):
    page.show()
    page.variables.set_value("topic", "")
    assert tasks.wait_for_network(10_000)               # the page's model-list fetch is a request too
    before = sim.request_count
    page.run()
    assert not page.is_running() and page.banner_kind() == "error" and "{topic}" in page.banner.text()
    assert page.banner.isVisible()                      # the banner is shown in compare mode too
    qtbot.wait(100)
    assert sim.request_count == before and stored_records(ctx, STREAM) == []
