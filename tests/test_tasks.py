"""desktop/tasks.py: the one background-task API (DB lane, network lane, streams) on a real store."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtWidgets import QWidget

from desktop import tasks
from monitor.store import Store

try:
    from tests.app_helpers import insert, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_record


@pytest.fixture
def lane(tmp_path):
    Store(tmp_path / "t.db").close()
    lane = tasks.DbLane(tmp_path / "t.db")
    yield lane
    lane.stop()


def test_query_runs_on_the_lane_thread_and_answers_on_the_gui_thread(qtbot, lane, tmp_path):
    insert(tmp_path / "t.db", [make_record("s", i) for i in range(3)])
    widget = QWidget()
    qtbot.addWidget(widget)
    seen = {}

    def op(store):
        seen["op_thread"] = threading.current_thread().name
        return store.count("s")

    def done(n):
        seen["n"], seen["cb_thread"] = n, threading.current_thread().name

    tasks.QueryOp(lane, op, parent=widget, success=done).run_in_background()
    qtbot.waitUntil(lambda: "n" in seen, timeout=10_000)
    assert seen == {"op_thread": "openai-monitor-db", "n": 3, "cb_thread": threading.main_thread().name}


def test_latest_wins_drops_stale_answers(qtbot, lane):
    widget = QWidget()
    qtbot.addWidget(widget)
    gate = threading.Event()
    answers = []
    # The first op blocks the lane, so the next three queue behind it; only the newest keyed one answers.
    tasks.QueryOp(lane, lambda s: gate.wait(10), parent=widget).run_in_background()
    ran = []
    for i in range(3):
        tasks.QueryOp(lane, lambda s, i=i: ran.append(i) or i, parent=widget,
                      success=answers.append).latest("detail").run_in_background()
    # Another parent's op with the same key is not affected.
    other = QWidget()
    qtbot.addWidget(other)
    tasks.QueryOp(lane, lambda s: "other", parent=other, success=answers.append).latest("detail").run_in_background()
    gate.set()
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=10_000)
    qtbot.wait(50)
    assert answers == [2, "other"]
    assert ran == [2]                      # stale queued jobs were skipped, not run


def test_latest_wins_on_the_network_lane(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    slow_started, release = threading.Event(), threading.Event()
    answers = []

    def slow():
        slow_started.set()
        release.wait(10)
        return "old"

    tasks.NetOp(slow, parent=widget, success=answers.append).latest("estimate").run_in_background()
    assert slow_started.wait(10)
    tasks.NetOp(lambda: "new", parent=widget, success=answers.append).latest("estimate").run_in_background()
    qtbot.waitUntil(lambda: answers == ["new"], timeout=10_000)
    release.set()
    assert tasks.wait_for_network(10_000)
    qtbot.wait(50)
    assert answers == ["new"]             # the older answer arrived later and was dropped


def test_a_destroyed_widgets_callbacks_are_not_called(qtbot, lane):
    widget = QWidget()
    gate = threading.Event()
    called = []
    tasks.QueryOp(lane, lambda s: gate.wait(10), parent=widget, success=called.append) \
        .failure(called.append).finished(lambda: called.append("finished")).run_in_background()
    net = tasks.NetOp(lambda: gate.wait(10), parent=widget, success=called.append).run_in_background()
    widget.deleteLater()
    qtbot.waitUntil(lambda: not _valid(widget), timeout=5_000)
    gate.set()
    assert lane.call(lambda s: "drained") == "drained"
    assert tasks.wait_for_network(10_000)
    qtbot.wait(100)
    assert called == [] and net.op is not None


def _valid(widget) -> bool:
    import shiboken6
    return shiboken6.isValid(widget)


def test_failure_gets_the_typed_exception(qtbot, lane):
    widget = QWidget()
    qtbot.addWidget(widget)
    errors, successes, finished = [], [], []

    def broken(store):
        return store.conn.execute("SELECT nope FROM nowhere").fetchall()

    tasks.QueryOp(lane, broken, parent=widget, success=successes.append).failure(errors.append) \
        .finished(lambda: finished.append(True)).run_in_background()
    tasks.NetOp(lambda: {}["missing"], parent=widget, success=successes.append).failure(errors.append) \
        .run_in_background()
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=10_000)
    import sqlite3
    assert sorted(type(e).__name__ for e in errors) == ["KeyError", "OperationalError"]
    assert any(isinstance(e, sqlite3.OperationalError) and "nowhere" in str(e) for e in errors)
    assert successes == [] and finished == [True]


def test_submit_shorthand_reports_errors_as_text(qtbot, lane):
    texts = []
    lane.submit(lambda s: 1 / 0, texts.append, texts.append)
    qtbot.waitUntil(lambda: bool(texts), timeout=10_000)
    assert texts == ["ZeroDivisionError: division by zero"]


def test_stream_yields_in_order_then_returns_and_cancel_stops_it(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    pieces, results = [], []

    def words(token):
        for w in ("one ", "two ", "three"):
            yield w
        return "done"

    tasks.StreamOp(words, parent=widget, success=results.append).on_yield(pieces.append).run_in_background()
    qtbot.waitUntil(lambda: results == ["done"], timeout=10_000)
    assert "".join(pieces) == "one two three"

    # A stream that would run forever: cancel() runs its on_cancel hook and no further value is delivered.
    hooked, after_cancel, failures = threading.Event(), [], []

    def endless(token):
        token.on_cancel(hooked.set)
        i = 0
        while not token.cancelled:
            i += 1
            yield i

    task = tasks.StreamOp(endless, parent=widget, success=results.append).on_yield(after_cancel.append) \
        .failure(failures.append).run_in_background()
    qtbot.waitUntil(lambda: len(after_cancel) > 3, timeout=10_000)
    task.cancel()
    seen = len(after_cancel)
    assert hooked.wait(5)
    assert tasks.wait_for_network(10_000)
    qtbot.wait(100)
    assert len(after_cancel) == seen and results == ["done"] and failures == []


def test_stream_values_arriving_while_the_gui_is_busy_come_in_one_event(qtbot, monkeypatch):
    widget = QWidget()
    qtbot.addWidget(widget)
    pieces, done, posts = [], [], []
    gate = threading.Event()
    real_post = tasks._post
    monkeypatch.setattr(tasks, "_post", lambda fn: (posts.append(fn), real_post(fn)))

    def burst(token):
        for i in range(500):
            yield i
        gate.set()
        return True

    # The GUI thread does not process events until the generator has yielded everything:
    tasks.StreamOp(burst, parent=widget, success=done.append).on_yield(pieces.append).run_in_background()
    assert gate.wait(10)
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert pieces == list(range(500))
    assert len(posts) == 2          # one delivery for all 500 values, one for the end (not 501 events)


def test_submit_shorthand_skips_a_destroyed_pages_bound_method(qtbot, lane):
    class Page(QWidget):
        def __init__(self):
            super().__init__()
            self.got = []

        def on_done(self, value):
            self.got.append(value)

    page, gate, landed = Page(), threading.Event(), []
    got = page.got
    lane.submit(lambda s: gate.wait(10), page.on_done)
    lane.submit(lambda s: "after", landed.append)
    page.deleteLater()
    qtbot.waitUntil(lambda: not _valid(page), timeout=5_000)
    gate.set()
    qtbot.waitUntil(lambda: landed == ["after"], timeout=10_000)
    assert got == []
