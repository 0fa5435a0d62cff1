"""The app on a team store is pushed new calls (PostgreSQL LISTEN/NOTIFY), not polling for them: with the
safety poll set to a minute, a call committed by a separate process still shows up in the Requests page;
a burst of notifications becomes one read; the listener closes on shutdown and when the app swaps stores;
the status bar says when the push is lost and when it is back."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import psycopg
import pytest

from desktop.app import AppSession
from desktop.main_window import MainWindow
from monitor.pg import CHANNEL
from monitor.store import Store

try:
    from tests.pg_server import WRITER
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from pg_server import WRITER
try:
    from tests.app_helpers import make_context, make_record, temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import make_context, make_record, temp_settings

STREAM = "team/live"
NEVER_S = 60.0            # the safety poll, longer than any wait below: only the push can be seen in time


def _listeners(url: str) -> int:
    """Listener connections the app holds on the server."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'openai-monitor-listener' AND datname = current_database()").fetchone()[0]


def _write_calls_elsewhere(url: str, base_url: str, n: int, home) -> None:
    home.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()), "OPENAI_MONITOR_DB": url,
           "HOME": str(home)}
    subprocess.run([sys.executable, "-c", WRITER, base_url, STREAM, str(n)], env=env, check=True, timeout=120)


@pytest.fixture
def no_safety_poll(monkeypatch):
    from desktop.context import AppContext

    monkeypatch.setattr(AppContext, "safety_poll_s", NEVER_S)


def test_a_separate_process_call_is_pushed_to_the_requests_page(qtbot, tmp_path, pg_url, sim, no_safety_poll):
    Store(pg_url).close()                                  # the schema exists; the stream does not yet
    ctx = make_context(tmp_path, store=pg_url)
    window = MainWindow(ctx, open_store=True)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.ready, timeout=30000):
            window.show()
        qtbot.waitUntil(lambda: window.status.live_label.text() == "● Live", timeout=30000)
        assert _listeners(pg_url) == 1 and ctx._watch_timer.interval() == NEVER_S * 1000
        _write_calls_elsewhere(pg_url, sim.base_url, 3, tmp_path / "writer-home")
        qtbot.waitUntil(lambda: window.current_stream == STREAM, timeout=15000)
        qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 3, timeout=15000)
        _write_calls_elsewhere(pg_url, sim.base_url, 1, tmp_path / "writer-home")
        qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 4, timeout=15000)
    finally:
        window.close()
        ctx.shutdown()
    qtbot.waitUntil(lambda: _listeners(pg_url) == 0, timeout=15000)      # closed with the app


def test_a_burst_of_notifications_is_one_read(qtbot, tmp_path, pg_url, no_safety_poll):
    store = Store(pg_url)
    ctx = make_context(tmp_path, store=pg_url)
    seen: list[int] = []
    ctx.recordsChanged.connect(seen.append)
    try:
        ctx.start_watching()
        qtbot.waitUntil(lambda: ctx._listener is not None and ctx._listener.wait_listening(0), timeout=30000)
        qtbot.waitUntil(lambda: ctx.reads == 1 and not ctx._poll_running, timeout=10000)   # the first read
        release = threading.Event()
        reads = ctx.reads
        ctx._watch_lane.submit(lambda _store: release.wait(30))        # the watcher's lane is busy meanwhile
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for i in range(60):                                        # 60 commits, each notifying
                store.insert_records([make_record(STREAM, i, ts=1_700_000_000.0 + i)])
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f'["{STREAM}"]'))
        qtbot.waitUntil(lambda: ctx.pushes == 60, timeout=15000)
        release.set()
        qtbot.waitUntil(lambda: ctx.max_id == 60 and not ctx._poll_running, timeout=15000)
        assert seen == [60]                          # one recordsChanged, with the latest id
        # 60 pushes: the read waiting on the lane, one for what came meanwhile, and one for a delivery the event
        # loop runs only after that one started (counted from before the burst: when the first delivery comes
        # is up to the event loop, so a count taken after the pushes can't bound it)
        assert ctx.reads - reads <= 3
    finally:
        ctx.shutdown()
        store.close()


def test_the_listener_closes_when_the_app_swaps_stores(qtbot, tmp_path, pg_cluster, no_safety_poll):
    first, second = pg_cluster.new_database(), pg_cluster.new_database()
    session = AppSession(temp_settings(tmp_path))
    window = session.open(first)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._started and _listeners(first) == 1, timeout=30000)
        assert window.open_team_store(second)
        qtbot.waitUntil(lambda: session.window is not window, timeout=30000)
        qtbot.addWidget(session.window)
        qtbot.waitUntil(lambda: _listeners(first) == 0, timeout=15000)
        qtbot.waitUntil(lambda: session.window.status.live_label.text() == "● Live", timeout=30000)
        assert session.ctx._listener is not None and not session.ctx._listener.closed
    finally:
        session.window.close()
        session.close()


def test_the_status_bar_says_when_the_push_is_lost_and_back(qtbot, tmp_path, pg_url, no_safety_poll):
    Store(pg_url).close()
    ctx = make_context(tmp_path, store=pg_url)
    window = MainWindow(ctx, open_store=True)
    qtbot.addWidget(window)
    states: list[str] = []
    ctx.liveStateChanged.connect(states.append)
    try:
        with qtbot.waitSignal(window.ready, timeout=30000):
            window.show()
        qtbot.waitUntil(lambda: states[-1:] == [""], timeout=30000)
        with psycopg.connect(pg_url, autocommit=True) as conn:        # the server drops the listener's session
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'openai-monitor-listener' AND datname = current_database()")
        qtbot.waitUntil(lambda: len(states) >= 3 and states[-1] == "", timeout=30000)   # lost, then back
        lost = [s for s in states if s]
        assert lost and "reconnecting in" in lost[0] and "\n" not in lost[0]
        assert window.status.live_label.text() == "● Live"
        ctx._on_live_state(lost[0])                    # as it looks while the server is away
        assert window.status.live_label.text() == "⚠ Live updates lost — reconnecting…"
        assert lost[0] in window.status.live_label.toolTip()
        window.grab().save(str(tmp_path / "lost.png"))
    finally:
        window.close()
        ctx.shutdown()
