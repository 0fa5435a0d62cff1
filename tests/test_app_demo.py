"""`openai-monitor --demo`: simulator, transient profile, history, live traffic — and a clean quit."""
from __future__ import annotations

import json
import threading
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop import app as desktop_app
from desktop.demo import DEMO_PROFILE, DEMO_STREAM, HISTORY_HOURS, DemoProfiles, seed_history, start_simulator
from monitor.profiles import Profile, ProfileStore
from monitor.store import Store

try:
    from tests.app_helpers import temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import temp_settings


def _records(db_path):
    store = Store(db_path)
    try:
        return store.records(DEMO_STREAM)
    finally:
        store.close()


def _demo_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "openai-monitor-demo-traffic" and t.is_alive()]


def _run_demo(db, settings) -> dict:
    """`openai-monitor --demo` on `db` (20 calls of history) until a live call made by this run has reached
    the window, then File ▸ Quit. Returns what the window showed and the wall clock around the run."""
    seen: dict = {}

    def watch() -> None:
        window = next((w for w in QApplication.topLevelWidgets() if hasattr(w, "requests_page") and w.isVisible()),
                      None)
        if window is None or "rows" in seen:
            return
        seen["title"] = window.windowTitle()
        seen["banner"] = window.findChild(QWidget, "demoBanner") is not None
        seen["profile"] = window.status.profile_button.text()
        rows = window.requests_page.model.rowCount()
        counted = window.sidebar.stream_count(DEMO_STREAM) or 0   # the sidebar's own query may land a tick later
        # history (20 calls, a tool exchange counting twice) plus at least one live call, stamped after the start
        if rows > 20 and counted >= 21 and any(r.timestamp >= seen["started"] for r in _records(db)):
            seen["rows"] = rows
            seen["sidebar"] = counted
            window.close()                                     # like File ▸ Quit

    timer = QTimer(interval=100)
    timer.timeout.connect(watch)
    timer.start()
    seen["started"] = time.time()
    seen["code"] = desktop_app.run_app(db=str(db), demo=True, settings=settings, history_calls=20)
    seen["returned"] = time.time()
    timer.stop()
    return seen


def test_demo_starts_seeds_history_makes_live_calls_and_quits_cleanly(qtbot, tmp_path):
    db = tmp_path / "demo.db"
    settings = temp_settings(tmp_path)
    seen = _run_demo(db, settings)

    assert seen["code"] == 0
    assert "rows" in seen, "no live demo call reached the window"
    # quitting stopped the traffic (a close that hung would have failed the test by its timeout)
    qtbot.waitUntil(lambda: _demo_threads() == [], timeout=30_000)
    assert seen["title"].startswith(DEMO_STREAM) and seen["title"].endswith("(demo)")
    assert seen["banner"] and seen["profile"] == f"Profile: {DEMO_PROFILE}"
    assert seen["sidebar"] >= 21

    records = _records(db)
    assert len(records) >= 21
    history = [r for r in records if r.timestamp < seen["started"]]
    live = [r for r in records if r.timestamp >= seen["started"]]
    assert len(history) >= 20 and live
    # backdated over the last hours: HISTORY_HOURS before the seeding, and over a minute old when seeded
    assert all(seen["started"] - HISTORY_HOURS * 3600 <= r.timestamp < seen["returned"] - 59 for r in history)
    assert all(r.latency_ms and r.latency_ms > 0 for r in history)
    assert all(r.attributes.get("feature") in {"summarize", "chat", "classify", "search", "support_agent", "triage"} for r in records)
    assert {r.api for r in records} <= {"chat.completions", "responses", "embeddings"}
    assert any(r.prompt_tokens for r in live)                  # real calls, real usage from the simulator
    # The transient profile never reached the user's files.
    profiles = tmp_path / "config" / "profiles.json"
    assert not profiles.exists() or DEMO_PROFILE not in profiles.read_text()
    assert settings.value("profile") in (None, "")


def test_a_restarted_demo_keeps_its_history_and_live_calls(qtbot, tmp_path):
    """The demo launched twice on one store: the second run seeds nothing, keeps every call of the first
    (history and live) as it was, and adds only its own live calls."""
    db = tmp_path / "demo.db"
    first = _run_demo(db, temp_settings(tmp_path, "first.ini"))
    assert first["code"] == 0 and "rows" in first
    qtbot.waitUntil(lambda: _demo_threads() == [], timeout=30_000)
    before = {r.id: (r.timestamp, r.output) for r in _records(db)}

    second = _run_demo(db, temp_settings(tmp_path, "second.ini"))
    assert second["code"] == 0 and "rows" in second
    qtbot.waitUntil(lambda: _demo_threads() == [], timeout=30_000)
    after = _records(db)
    assert {r.id: (r.timestamp, r.output) for r in after if r.id in before} == before
    added = [r for r in after if r.id not in before]
    assert added and all(r.timestamp >= second["started"] for r in added)   # live calls only, no second history


def test_history_is_seeded_once_into_a_demo_store(tmp_path):
    """Two demos that both found the store empty (started together) still give it one history."""
    sim = start_simulator()
    try:
        first = seed_history(tmp_path / "demo.db", sim.base_url, n=10)
        kept = {r.id: r.timestamp for r in _records(tmp_path / "demo.db")}
        again = seed_history(tmp_path / "demo.db", sim.base_url, n=10, seed=8)
    finally:
        sim.stop()
    assert first == len(kept) >= 10 and again == 0
    assert {r.id: r.timestamp for r in _records(tmp_path / "demo.db")} == kept


def test_a_demo_quitting_while_seeding_leaves_no_history(tmp_path):
    stop = threading.Event()
    stop.set()
    sim = start_simulator()
    try:
        assert seed_history(tmp_path / "demo.db", sim.base_url, n=10, stop=stop) == 0
    finally:
        sim.stop()
    assert _records(tmp_path / "demo.db") == []


def test_demo_profile_is_transient_and_not_editable(tmp_path):
    path = tmp_path / "profiles.json"
    ProfileStore(path).save(Profile("local", base_url="http://127.0.0.1:1/v1", kind="compatible"))
    profiles = DemoProfiles("http://127.0.0.1:9/v1", path)
    assert [p.name for p in profiles.list()] == [DEMO_PROFILE, "local"]
    assert profiles.client_kwargs(DEMO_PROFILE)["base_url"] == "http://127.0.0.1:9/v1"
    with pytest.raises(ValueError):
        profiles.save(Profile(DEMO_PROFILE, base_url="http://x/v1", kind="demo"))
    with pytest.raises(ValueError):
        profiles.delete(DEMO_PROFILE)
    assert DEMO_PROFILE not in path.read_text()
    assert [p["name"] for p in json.loads(path.read_text())["profiles"]] == ["local"]


def test_history_is_real_calls_spread_over_hours(tmp_path):
    sim = start_simulator()
    try:
        n = seed_history(tmp_path / "demo.db", sim.base_url, n=40)
    finally:
        sim.stop()
    records = _records(tmp_path / "demo.db")
    assert n == len(records) >= 40                             # a tool exchange is two calls
    stamps = [r.timestamp for r in records]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] > 3600
    ok = [r for r in records if r.status == "success"]
    assert ok and all(r.response_model for r in ok if r.api != "embeddings")
    assert all(r.cost_usd is not None for r in ok)             # every demo model has a known price
    assert all((r.ttft_ms is not None) == r.streamed for r in ok)


def test_history_shows_tool_exchanges_structured_output_and_sessions(tmp_path):
    """The demo's history exercises the rich reply view: a tool call, then a follow-up carrying its result
    in the same session; and a json_schema reply."""
    sim = start_simulator()
    try:
        seed_history(tmp_path / "demo.db", sim.base_url, n=60)
    finally:
        sim.stop()
    records = [r for r in _records(tmp_path / "demo.db") if r.status == "success"]
    sessions: dict[str, list] = {}
    for r in records:
        if r.attributes.get("session"):
            sessions.setdefault(r.attributes["session"], []).append(r)
    exchanges = [calls for calls in sessions.values() if len(calls) == 2]
    assert exchanges, "no tool exchange in the demo history"
    first, follow_up = exchanges[0]
    asked = first.response["choices"][0]["message"]["tool_calls"]
    assert asked and asked[0]["function"]["name"] == "get_order_status"
    sent = follow_up.request["messages"]
    assert sent[-1]["role"] == "tool" and sent[-1]["tool_call_id"] == asked[0]["id"]
    assert "Based on the tool results" in follow_up.response["choices"][0]["message"]["content"]
    assert 0 < follow_up.timestamp - first.timestamp < 30          # the follow-up comes right after
    triage = [r for r in records if r.attributes.get("feature") == "triage"]
    assert triage and json.loads(triage[0].response["choices"][0]["message"]["content"])["category"]
