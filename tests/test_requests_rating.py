"""A human rating on any record in the Requests detail pane, stored as a score (source 'human')."""
from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt

from desktop import tasks
from desktop.requests import RequestsPage, scores_adapter
from monitor.store import Store

try:
    from tests.app_helpers import insert, make_context, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record

STREAM = "rate/stream"


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def open_page(qtbot, ctx) -> RequestsPage:
    insert(ctx.db_path, [make_record(STREAM, 1), make_record(STREAM, 2)])
    page = RequestsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.detail.record is not None, timeout=10_000)
    return page


@pytest.fixture
def scores_api():
    return scores_adapter


def test_thumbs_and_a_1_to_5_rating_are_stored_as_human_scores_and_shown(qtbot, ctx, scores_api):
    page = open_page(qtbot, ctx)
    assert page.detail.rating.isVisible()
    record_id = page.detail.record.id
    qtbot.waitUntil(lambda: page.detail.rating.scores.text() == "No scores yet.", timeout=5_000)

    # Both clicks queue behind a busy lane: each is a write, so neither may be dropped as "stale".
    gate = threading.Event()
    tasks.QueryOp(ctx.db, lambda s: gate.wait(10)).run_in_background()
    qtbot.mouseClick(page.detail.rating.up, Qt.LeftButton)
    qtbot.mouseClick(page.detail.rating.stars[3], Qt.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: "rating 4/5" in page.detail.rating.scores.text(), timeout=5_000)
    assert page.detail.rating.scores.text() == "Scores: thumbs up (human) · rating 4/5 (human)"

    store = Store(ctx.db_path)
    try:
        stored = scores_api.scores_for(store, [record_id])[record_id]
    finally:
        store.close()
    assert [(s["name"], s["passed"], s["value"], s["source"]) for s in stored] == [
        ("thumbs", True, None, "human"), ("rating", None, 4.0, "human")]

    # Another call shows its own (no) scores; coming back shows the stored ones again.
    page.select_row(1)
    qtbot.waitUntil(lambda: page.detail.record.id != record_id, timeout=5_000)
    qtbot.waitUntil(lambda: page.detail.rating.scores.text() == "No scores yet.", timeout=5_000)
    page.select_row(0)
    qtbot.waitUntil(lambda: "thumbs up" in page.detail.rating.scores.text(), timeout=5_000)
    assert json.dumps(stored)                                   # plain data, exportable
