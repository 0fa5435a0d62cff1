"""The store watcher (AppContext.start_watching) runs through desktop/tasks.py on its own lane, so new calls
are noticed while the app's DB lane is busy with a long job; and the status bar's "today" figures come from
monitor.queries.today_summary."""
from __future__ import annotations

import threading

import pytest

from monitor.queries import today_summary
from monitor.store import Store

try:
    from tests.app_helpers import insert, make_context, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record

T0 = 1_700_000_000.0


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def test_new_calls_are_noticed_while_the_db_lane_is_busy(qtbot, ctx):
    insert(ctx.db_path, [make_record("s", 1, ts=T0)])
    seen: list[int] = []
    ctx.recordsChanged.connect(seen.append)
    ctx.start_watching(interval_s=0.05)
    qtbot.waitUntil(lambda: seen == [1], timeout=5000)

    release = threading.Event()
    ctx.db.submit(lambda store: release.wait(30))          # a long board computation, say
    try:
        insert(ctx.db_path, [make_record("s", 2, ts=T0 + 1)])
        qtbot.waitUntil(lambda: seen == [1, 2], timeout=5000)
    finally:
        release.set()
    assert ctx.max_id == 2


def test_a_poll_answer_after_shutdown_changes_nothing(qtbot, ctx):
    insert(ctx.db_path, [make_record("s", 1, ts=T0)])
    seen: list[int] = []
    ctx.recordsChanged.connect(seen.append)
    ctx.start_watching(interval_s=0.05)
    qtbot.waitUntil(lambda: seen == [1], timeout=5000)
    ctx.shutdown()
    insert(ctx.db_path, [make_record("s", 2, ts=T0 + 1)])
    qtbot.wait(300)
    assert seen == [1]


def test_today_summary_counts_local_streams_since_midnight(tmp_path):
    db = tmp_path / "m.db"
    insert(db, [make_record("s", 1, ts=T0 - 10, cost_usd=1.0), make_record("s", 2, ts=T0 + 10, cost_usd=0.25),
                make_record("s", 3, ts=T0 + 20, cost_usd=None)])
    store = Store(db)
    try:
        assert today_summary(store, T0) == (2, 0.25, 1)
    finally:
        store.close()


def test_warming_the_sdk_needs_no_key_and_no_server(qtbot, ctx):
    """The window warms the SDK half a second after it is ready: no profile, no key, no request."""
    errors: list[BaseException] = []
    task = ctx.warm_up_sdk()
    task.op.failure(errors.append)
    qtbot.waitUntil(lambda: task.done, timeout=30_000)
    assert errors == []
