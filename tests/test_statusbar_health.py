"""The status bar says when calls the app made could not be stored (issue 7.5): a real full store."""
from __future__ import annotations

import openai
import pytest
from PySide6.QtWidgets import QMainWindow

from desktop.statusbar import StatusBar
from monitor.writer import _sqlite

try:
    from tests.app_helpers import make_context
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import make_context


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def test_dropped_calls_of_the_app_are_shown_with_their_cause(qtbot, ctx, sim):
    window = QMainWindow()
    status = StatusBar(ctx)
    window.setStatusBar(status)
    qtbot.addWidget(window)
    window.resize(1100, 120)
    window.show()
    assert not status.health_label.isVisible()

    monitor = ctx.monitor("app/playground")
    client = monitor.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-x", max_retries=0))
    msg = [{"role": "user", "content": "x" * 3000}]
    client.chat.completions.create(model="gpt-4o-mini", messages=msg)
    monitor.flush()
    conn = monitor._writer._conn          # the store can't grow any more: SQLite's real "disk is full"
    _sqlite(conn.execute, f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=msg)
    monitor.flush()

    qtbot.waitUntil(status.health_label.isVisible, timeout=10_000)    # the bar polls the writer's counters
    assert status.health_label.full_text == "⚠ 3 calls not stored — database or disk is full"
    assert "3 of 4 calls" in status.health_label.toolTip() and str(ctx.db_path) in status.health_label.toolTip()
    window.grab().save("/tmp/h1-writer-statusbar-wide.png")
    window.resize(560, 120)
    qtbot.wait(50)
    window.grab().save("/tmp/h1-writer-statusbar-narrow.png")
