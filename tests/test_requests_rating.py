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


@pytest.mark.skipif(scores_adapter.AVAILABLE, reason="the scores API is present")
def test_without_the_scores_api_the_rating_is_hidden(qtbot, ctx):
    page = open_page(qtbot, ctx)
    assert not page.detail.rating.isVisible()


class _SqliteScores:
    """Until monitor.experiments.scores lands (h7): the same interface over a real table in the same file."""

    @staticmethod
    def add_score(store, call_id, name, *, value=None, passed=None, reason=None, source="human"):
        conn = store.conn
        conn.execute("CREATE TABLE IF NOT EXISTS test_scores (call_id INTEGER, name TEXT, value REAL, "
                     "passed INTEGER, reason TEXT, source TEXT)")
        conn.execute("INSERT INTO test_scores VALUES (?, ?, ?, ?, ?, ?)",
                     (call_id, name, value, None if passed is None else int(passed), reason, source))
        conn.commit()

    @staticmethod
    def scores_for(store, call_ids):
        conn = store.conn
        conn.execute("CREATE TABLE IF NOT EXISTS test_scores (call_id INTEGER, name TEXT, value REAL, "
                     "passed INTEGER, reason TEXT, source TEXT)")
        out: dict[int, list[dict]] = {}
        for cid, name, value, passed, reason, source in conn.execute(
                f"SELECT * FROM test_scores WHERE call_id IN ({','.join('?' * len(call_ids))}) ORDER BY rowid",
                list(call_ids)):
            out.setdefault(cid, []).append({"name": name, "value": value, "reason": reason, "source": source,
                                            "passed": None if passed is None else bool(passed)})
        return out


@pytest.fixture
def scores_api(monkeypatch):
    if not scores_adapter.AVAILABLE:
        monkeypatch.setattr(scores_adapter, "add_score", _SqliteScores.add_score)
        monkeypatch.setattr(scores_adapter, "scores_for", _SqliteScores.scores_for)
        monkeypatch.setattr(scores_adapter, "AVAILABLE", True)
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
