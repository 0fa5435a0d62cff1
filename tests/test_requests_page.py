"""The Requests page on a real store: lazy paging, live prepends, filters, the detail pane, Copy as Python."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from desktop import formatting as fmt
from desktop.requests.model import COLUMNS, COST_COLUMN, PAGE_SIZE, STATUS_COLUMN, RequestFilter
from desktop.requests import RequestsPage
from desktop.requests.snippet import python_snippet
from monitor.store import Store

try:
    from tests.app_helpers import insert, make_context, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record

STREAM = "team/app/openai_logs"


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


@pytest.fixture
def page(qtbot, ctx):
    widget = RequestsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def cell(page: RequestsPage, row: int, col: int, role=Qt.DisplayRole):
    return page.model.data(page.model.index(row, col), role)


def test_a_big_stream_loads_one_page_newest_first_and_more_on_scroll(qtbot, ctx, page):
    n = 50_000
    insert(ctx.db_path, [make_record(STREAM, i) for i in range(n)])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == PAGE_SIZE and page.model.total == n, timeout=10_000)
    assert page.model.pages_fetched == 1                      # not 50,000 rows: one page
    assert page.model.canFetchMore()
    assert cell(page, 0, 1) == "gpt-4o-mini"
    assert page.model.rows[0].id > page.model.rows[-1].id     # newest first
    assert page.total_label.text() == "50,000 calls"

    page.table.scrollToBottom()                               # the view asks for the next page itself
    qtbot.waitUntil(lambda: page.model.rowCount() == 2 * PAGE_SIZE, timeout=5000)
    ids = [r.id for r in page.model.rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def test_new_calls_are_prepended_live_and_keep_the_selection(qtbot, ctx, page):
    insert(ctx.db_path, [make_record(STREAM, i) for i in range(5)])
    ctx.start_watching(interval_s=0.05)
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 5)
    qtbot.waitUntil(lambda: page.detail.record is not None)   # the newest call is shown at once
    selected = page.detail.record.id

    insert(ctx.db_path, [make_record(STREAM, 100, model="gpt-4o"), make_record("other/stream", 1)])
    qtbot.waitUntil(lambda: page.model.rowCount() == 6, timeout=2000)
    assert cell(page, 0, 1) == "gpt-4o"                        # on top; the other stream's call is not here
    assert page.model.record_id(page.table.currentIndex().row()) == selected
    assert page.model_filter.findData("gpt-4o") >= 0           # the new model is offered as a filter


def test_backdated_calls_landing_later_go_where_their_time_is_not_on_top(qtbot, ctx, page):
    """The demo's history and board-file imports insert old calls after newer ones were shown."""
    now = time.time()
    insert(ctx.db_path, [make_record(STREAM, i, ts=now - 10 + i) for i in range(3)])
    ctx.start_watching(interval_s=0.05)
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    insert(ctx.db_path, [make_record(STREAM, 50, ts=now - 3600, model="gpt-4.1-nano"),
                         make_record(STREAM, 51, ts=now - 5, model="o3-mini")])
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=2000)
    stamps = [r.ts for r in page.model.rows]
    assert stamps == sorted(stamps, reverse=True)
    assert [r.model for r in page.model.rows][-1] == "gpt-4.1-nano" and page.model.total == 5


def test_filters_by_model_status_and_text(qtbot, ctx, page):
    insert(ctx.db_path, [
        make_record(STREAM, 1, model="gpt-4o"),
        make_record(STREAM, 2, status="error", error="RateLimitError: Error code: 429 - slow down",
                    output=None, prompt_tokens=None, completion_tokens=None, total_tokens=None, cost_usd=0.0),
        make_record(STREAM, 3, attributes={"user": "zoë", "feature": "classify"}),
    ])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 3)
    qtbot.waitUntil(lambda: page.model_filter.count() == 3)    # All models, gpt-4o, gpt-4o-mini

    page.status_filter.setCurrentIndex(page.status_filter.findData("error"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert cell(page, 0, STATUS_COLUMN) == "error 429"
    assert cell(page, 0, STATUS_COLUMN, Qt.ToolTipRole).startswith("RateLimitError")
    assert cell(page, 0, STATUS_COLUMN, Qt.ForegroundRole).name() == "#cf222e"

    page.status_filter.setCurrentIndex(0)
    page.model_filter.setCurrentIndex(page.model_filter.findData("gpt-4o"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and cell(page, 0, 1) == "gpt-4o")

    page.model_filter.setCurrentIndex(0)
    page.search.setText("zoë")                                 # debounced, then searched in SQL
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and "zoë" in cell(page, 0, len(COLUMNS) - 1))
    qtbot.waitUntil(lambda: page.total_label.text() == "1 call match")     # set by its own count query


def test_unknown_cost_and_estimated_usage_are_marked(qtbot, ctx, page):
    insert(ctx.db_path, [
        make_record(STREAM, 1, model="my-local-llama", cost_usd=None),
        make_record(STREAM, 2, usage_estimated=True, cost_usd=0.0005, streamed=True, ttft_ms=212.0),
    ])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    estimated, unknown = 0, 1                                  # newest first
    assert cell(page, unknown, COST_COLUMN) == fmt.UNKNOWN
    assert cell(page, unknown, COST_COLUMN, Qt.ToolTipRole) == "no price known for this model"
    assert cell(page, estimated, COST_COLUMN) == "~$0.0005"
    assert cell(page, estimated, 4).startswith("~")
    assert "estimated" in cell(page, estimated, COST_COLUMN, Qt.ToolTipRole)
    assert cell(page, estimated, 8) == "212 ms"


def test_detail_pane_shows_messages_output_attributes_parameters_and_error(qtbot, ctx, page):
    insert(ctx.db_path, [
        make_record(STREAM, 1, request={"model": "gpt-4o-mini", "temperature": 0.2, "messages": [
                        {"role": "system", "content": "You are terse."},
                        {"role": "user", "content": [{"type": "text", "text": "What is <b>2+2</b>?"}]}]},
                    output="4", attributes={"user": "alice", "experiment": {"arm": "B"}},
                    cached_tokens=1024, reasoning_tokens=64),
        make_record(STREAM, 2, status="error", output=None, error="APIStatusError: Error code: 500 - boom",
                    request={"model": "gpt-4o", "messages": [{"role": "user", "content": "fail please"}]}),
    ])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    page.select_row(1)
    qtbot.waitUntil(lambda: page.detail.record is not None and page.detail.record.output == "4")
    text = page.detail.messages.toPlainText()
    assert "System" in text and "You are terse." in text
    assert "What is <b>2+2</b>?" in text                       # shown as text, never rendered as HTML
    assert "Output" in text and "4" in text
    tree = page.detail.attributes
    top = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
    assert top["user"].text(1) == "alice" and top["experiment"].child(0).text(0) == "arm"
    params = page.detail.parameters
    names = [params.topLevelItem(i).text(0) for i in range(params.topLevelItemCount())]
    assert "temperature" in names and "messages" not in names
    assert "1,024 cached" in page.detail.metrics["Prompt"].value.text()
    assert "64 reasoning" in page.detail.metrics["Completion"].value.text()

    page.select_row(0)
    qtbot.waitUntil(lambda: page.detail.record is not None and page.detail.record.status == "error")
    text = page.detail.messages.toPlainText()
    assert "Error" in text and "Error code: 500 - boom" in text and "fail please" in text
    assert "error 500" in page.detail.header.text()


def test_empty_stream_shows_how_to_log(qtbot, ctx, page):
    page.set_stream("nothing/here")
    qtbot.waitUntil(lambda: page.table_stack.currentWidget() is page.empty)
    assert 'init_monitor("nothing/here")' in page.empty.text().replace("&quot;", '"')


def test_copy_as_python_makes_the_same_call_again(qtbot, ctx, page, sim, tmp_path):
    """The copied script runs as is (key and base URL from the environment) and logs the same call."""
    insert(ctx.db_path, [make_record(STREAM, 1, request={
        "model": "gpt-4o-mini", "temperature": 0.5, "max_tokens": 40,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}]},
        attributes={"feature": "copy-test"})])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.detail.record is not None)
    page.copy_action.trigger()
    script = QGuiApplication.clipboard().text()
    assert "sk-" not in script and "monitor_attributes={'feature': 'copy-test'}" in script
    assert script == python_snippet(page.detail.record)

    db2 = tmp_path / "replay.db"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-replay", "OPENAI_BASE_URL": sim.base_url,
           "OPENAI_MONITOR_DB": str(db2)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60, capture_output=True)
    store = Store(db2)
    [again] = store.records(STREAM)
    store.close()
    assert again.request["messages"][1]["content"] == "Name a colour."
    assert again.request["temperature"] == 0.5 and again.attributes == {"feature": "copy-test"}


def test_query_filter_escapes_like_wildcards(ctx):
    from monitor.queries import count_calls as count_rows

    insert(ctx.db_path, [make_record(STREAM, 1, output="100% sure"), make_record(STREAM, 2, output="1000 sure")])
    store = Store(ctx.db_path)
    try:
        assert count_rows(store, RequestFilter(STREAM, text="100%")) == 1
        assert count_rows(store, RequestFilter(STREAM, text="_")) == 0
        assert count_rows(store, RequestFilter("no/such/stream")) == 0
    finally:
        store.close()


def test_formatting():
    assert fmt.cost(None) == "—" and fmt.cost(0) == "$0" and fmt.cost(1e-7) == "$0.0000001"
    assert fmt.cost(0.000214, estimated=True) == "~$0.000214" and fmt.cost(12.5) == "$12.5"
    assert fmt.ms(None) == "—" and fmt.ms(812.4) == "812 ms" and fmt.ms(12_345) == "12.3 s"
    assert fmt.status("error", "RateLimitError: Error code: 429 - x") == "error 429"
    now = time.time()
    assert fmt.when(now, now).count(":") == 2 and len(fmt.when(now, now)) == 8
