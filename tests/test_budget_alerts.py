"""Budgets in the app (pytest-qt, offscreen, a real store): calls from another process — the real openai
client against the simulator — push a budget past 80 % and then 100 %, and the app says each level exactly
once (also across a restart); the board's budget card and budget line show the numbers monitor computes
(fixed clock); the Budgets… editor adds and removes budgets and they are saved with the board."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QStatusBar

from desktop.boards import BoardsPage
from desktop.boards.budget_cards import LEVEL_COLORS
from desktop.boards.budget_editor import BudgetEditor
from desktop.budget_alerts import BudgetAlerts
from desktop.main_window import MainWindow
from monitor.boards import BoardSpec, TimeRange, get_board, save_board, template_spec
from monitor.boards.budget_spec import Budget, money
from monitor.boards.budgets import budget_status, period_bounds
from monitor.record import Record
from monitor.store import Store

from app_helpers import make_context

STREAM = "team/app/openai_logs"
CHILD = textwrap.dedent("""
    import sys, openai
    from monitor import init_monitor
    base_url, db, stream, n, user = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    m = init_monitor(stream, db_path=db, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-test-0123456789abcdef", max_retries=0))
    for i in range(n):     # the same prompt and seed: every call costs the same
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "What does a budget do?"}],
                                       seed=7, max_tokens=60, monitor_attributes={"user": user})
    m.flush()
""")


def run_child(sim, db_path, n: int, user: str, stream: str = STREAM) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, sim.base_url, str(db_path), stream, str(n), user],
                          timeout=120, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def alice_spend(alerts: BudgetAlerts) -> float | None:
    for _, s in alerts.statuses:
        if s.budget.group_value == "alice":
            return s.spend_usd
    return None


def test_calls_from_another_process_raise_one_alert_per_level(qtbot, ctx, sim, tmp_path):
    run_child(sim, ctx.db_path, 1, "probe", stream="probe")
    store = Store(ctx.db_path)
    cost = store.records("probe")[0].cost_usd
    assert cost and cost > 0
    # A month, not a day: the test can't straddle the period's end unless it runs across a month's end.
    alice = Budget(amount_usd=cost * 4.5, period="month", group_by="user", group_value="alice")
    never = Budget(amount_usd=1.0, period="month", group_by="model", group_value="gpt-4o-mini")
    save_board(store, template_spec(STREAM, "Spend").updated(budgets=[alice, never]))
    save_board(store, template_spec(STREAM, "Spend copy").updated(budgets=[alice]))   # the same budget: said once
    store.close()

    window = MainWindow(ctx, stream=STREAM)
    qtbot.addWidget(window)
    alerts = window.budget_alerts
    said = []
    alerts.alerted.connect(said.append)

    run_child(sim, ctx.db_path, 2, "alice")                       # 2 of 4.5 calls: 44 %
    run_child(sim, ctx.db_path, 3, "bob")                         # another user's calls don't count
    qtbot.waitUntil(lambda: alice_spend(alerts) == pytest.approx(2 * cost), timeout=15000)
    assert said == []

    run_child(sim, ctx.db_path, 2, "alice")                       # 4 of 4.5: 89 %
    qtbot.waitUntil(lambda: len(said) == 1, timeout=15000)
    assert said[0].level == 80 and said[0].title == "Budget 80 % used: user=alice"
    assert said[0].via == "status bar"                            # offscreen: no system tray
    assert "Budget 80 % used" in window.status.currentMessage()

    run_child(sim, ctx.db_path, 1, "alice")                       # 5 of 4.5: 111 %
    qtbot.waitUntil(lambda: len(said) == 2, timeout=15000)
    assert said[1].level == 100 and said[1].title == "Budget exceeded: user=alice"
    assert "Budget exceeded" in window.status.currentMessage()

    run_child(sim, ctx.db_path, 1, "alice")                       # still over: nothing new to say
    qtbot.waitUntil(lambda: alice_spend(alerts) == pytest.approx(6 * cost), timeout=15000)
    assert [a.level for a in said] == [80, 100] and alerts.sent == said

    restarted = BudgetAlerts(ctx, QStatusBar())                   # a restart reads what was said from QSettings
    restarted.evaluate()
    qtbot.waitUntil(lambda: alice_spend(restarted) == pytest.approx(6 * cost), timeout=15000)
    assert restarted.sent == []


def test_a_new_period_alerts_again_and_a_budget_already_crossed_is_said_at_start(qtbot, ctx):
    """Fixed clocks: spend crossed in January is said at start; in February that spend is last month's."""
    now = 1_768_478_400.0                                      # 2026-01-15 12:00 UTC: mid-month in every zone
    start, _ = period_bounds("month", now)
    store = Store(ctx.db_path)
    store.insert_records([rec(i, start + 3600 * (i + 1), cost=0.5) for i in range(3)])
    save_board(store, BoardSpec(name="B", stream=STREAM, budgets=[Budget(amount_usd=1.0, period="month")]))
    store.close()
    alerts = BudgetAlerts(ctx, QStatusBar())
    alerts.clock = lambda: now
    qtbot.waitUntil(lambda: len(alerts.sent) == 1, timeout=10000)     # the evaluation at start
    assert alerts.sent[0].level == 100 and alerts.sent[0].status.spend_usd == pytest.approx(1.5)
    alerts.clock = lambda: now + 40 * 86400                            # mid-February: nothing spent yet
    alerts.evaluate()
    qtbot.waitUntil(lambda: alerts.statuses and alerts.statuses[0][1].spend_usd == 0, timeout=10000)
    store = Store(ctx.db_path)
    store.insert_records([rec(9, now + 40 * 86400, cost=0.9)])
    store.close()
    alerts.evaluate()
    qtbot.waitUntil(lambda: len(alerts.sent) == 2, timeout=10000)
    assert alerts.sent[1].level == 80


TRAY_CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QStatusBar, QSystemTrayIcon
    app = QApplication([])
    deadline = time.monotonic() + 20
    while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < deadline:
        app.processEvents(); time.sleep(0.05)          # trayer may still be starting
    from desktop.budget_alerts import BudgetAlerts
    from desktop.context import AppContext
    from desktop.style import icon
    from monitor.profiles import ProfileStore
    tmp = Path(sys.argv[1])
    ctx = AppContext(tmp / "monitor.db", profiles=ProfileStore(tmp / "p.json"),
                     settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
    alerts = BudgetAlerts(ctx, QStatusBar(), icon("app"))
    alerts.clock = lambda: float(sys.argv[2])
    while not alerts.sent and time.monotonic() < deadline:
        app.processEvents(); time.sleep(0.05)
    print(json.dumps([[a.level, a.via, a.title] for a in alerts.sent]))
    ctx.shutdown()
""")


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("trayer")), reason="needs Xvfb and a tray (trayer)")
def test_the_alert_goes_to_the_system_tray_when_there_is_one(tmp_path):
    """A real X server with a real system tray (trayer): the notifier shows the message there."""
    now = 1_768_478_400.0
    start, _ = period_bounds("month", now)
    store = Store(tmp_path / "monitor.db")
    store.insert_records([rec(0, start + 60, cost=0.9)])
    save_board(store, BoardSpec(name="B", stream=STREAM, budgets=[Budget(amount_usd=1.0, period="month")]))
    store.close()
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24"], pass_fds=(write,),
                            stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        display = ":" + os.read(read, 16).decode().strip()
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        tray = subprocess.Popen(["trayer", "--edge", "top", "--align", "right"], env=env, stderr=subprocess.DEVNULL)
        try:
            proc = subprocess.run([sys.executable, "-c", TRAY_CHILD, str(tmp_path), str(now)], env=env,
                                  capture_output=True, text=True, timeout=90)
        finally:
            tray.terminate()
            tray.wait(10)
    finally:
        os.close(read)
        xvfb.terminate()
        xvfb.wait(10)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [[80, "tray", "Budget 80 % used: whole stream"]]


# -- the board: card, line, editor -----------------------------------------------------------------------------
def rec(i: int, ts: float, *, model: str = "gpt-4o", cost: float = 0.1) -> Record:
    return Record(id=None, stream=STREAM, timestamp=ts, latency_ms=300.0, ttft_ms=None, api="chat.completions",
                  model=model, response_model=model, status="success", error=None, prompt_tokens=10,
                  completion_tokens=20, total_tokens=30, cached_tokens=0, reasoning_tokens=0, usage_estimated=False,
                  cost_usd=cost, streamed=False, request={"model": model}, output="ok", attributes={"user": "alice"})


NOW = 1_779_969_600.0                     # 2026-05-28 12:00 UTC


@pytest.fixture
def page(qtbot, ctx):
    widget = BoardsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1360, 900)
    widget.show()
    return widget


def test_the_board_shows_a_budget_card_and_a_line_on_cumulative_cost(qtbot, ctx, page, tmp_path):
    day, _ = period_bounds("day", NOW)
    records = [rec(i, day - 5 * 3600 + i * 1800, model=["gpt-4o", "gpt-4o-mini"][i % 2], cost=0.25)
               for i in range(30)]                                 # 10 before the day began, 20 after
    budget = Budget(amount_usd=3.0, period="day", group_by="model", group_value="gpt-4o")
    store = Store(ctx.db_path)
    store.insert_records(records)
    spec = save_board(store, template_spec(STREAM, "Spend").updated(
        group_by="model", bucket_s=900, budgets=[budget],
        time_range=TimeRange(kind="custom", start=day - 6 * 3600, end=day + 18 * 3600)))
    expected = budget_status(store, STREAM, budget, NOW)
    store.close()
    page.budgets.cards.clock = lambda: NOW
    page.open_board(spec.name)
    qtbot.waitUntil(lambda: page.data is not None and bool(page.budgets.cards.statuses), timeout=10000)
    card = page.budgets.cards.cards[0]
    texts = card.texts()
    assert expected.spend_usd == pytest.approx(0.25 * 10) and expected.level == 80
    assert texts["value"] == f"{money(expected.spend_usd)} of $3" == "$2.50 of $3"
    assert texts["used"] == "83 %" and texts["tag"] == "PAST 80 %"
    assert texts["note"] == f"at this pace {money(expected.forecast_usd)} by midnight"
    assert LEVEL_COLORS[80][1] in card.styleSheet()
    assert card.bar.value() == 833
    before = sum(r.cost_usd for r in records if r.model == "gpt-4o" and r.timestamp < day)
    assert page.budgets.lines.levels() == [pytest.approx(before + 3.0)]          # only on the gpt-4o curve
    page.grab().save(str(tmp_path / "budget-board.png"))

    page.update_board(time_range={"kind": "custom", "start": day + 3600, "end": day + 18 * 3600})
    qtbot.waitUntil(lambda: page.budgets.lines.levels() == [], timeout=10000)    # range misses the day's start
    page.update_board(budgets=[])
    qtbot.waitUntil(lambda: page.budgets.cards.isHidden(), timeout=5000)


def test_the_budgets_editor_adds_and_removes_and_the_board_saves_them(qtbot, ctx, page):
    store = Store(ctx.db_path)
    store.insert_records([rec(0, NOW)])
    spec = save_board(store, template_spec(STREAM, "Spend"))
    store.close()
    page.open_board(spec.name)
    qtbot.waitUntil(lambda: page.spec is not None and page.budgets.action in page.header.boards_menu.actions(),
                    timeout=10000)
    editor = BudgetEditor([], models=["gpt-4o", "gpt-4o-mini"], attribute_keys=["user"],
                          attribute_values={"user": ["alice", "bob"]})
    qtbot.addWidget(editor)
    editor.scope.setCurrentText("model")
    assert [editor.value.itemText(i) for i in range(editor.value.count())] == ["gpt-4o", "gpt-4o-mini"]
    editor.value.setCurrentText("gpt-4o")
    editor.amount.setValue(5)
    editor.add_button.click()
    editor.scope.setCurrentText("user")
    editor.value.setCurrentText("")
    editor.add_button.click()
    assert "Say which user" in editor.error.text() and len(editor.budgets) == 1      # refused, said why
    editor.value.setCurrentText("alice")
    editor.amount.setValue(1)
    editor.period.setCurrentText("week")
    editor.add_button.click()
    editor.scope.setCurrentText("whole stream")
    editor.amount.setValue(200)
    editor.period.setCurrentText("month")
    editor.add_button.click()
    assert [b.describe() for b in editor.budgets] == [
        "model=gpt-4o under $5/day", "user=alice under $1/week", "whole stream under $200/month"]
    editor.table.selectRow(1)
    editor.remove_button.click()
    editor._on_accepted()
    assert page.update_board(budgets=editor.result_budgets)
    qtbot.waitUntil(lambda: len(page.budgets.cards.statuses) == 2, timeout=10000)
    assert page.budgets.cards.isVisible()
    saved = ctx.db.call(lambda s: get_board(s, spec.name))
    assert [b.describe() for b in saved.budgets] == ["model=gpt-4o under $5/day", "whole stream under $200/month"]


def test_budgets_from_the_board_menu_are_saved_with_the_board(qtbot, ctx, page):
    """Board menu ▾ → Budgets…: the dialog opens over the page; a budget added there is saved and shown."""
    from PySide6.QtCore import QTimer

    store = Store(ctx.db_path)
    store.insert_records([rec(0, NOW)])
    spec = save_board(store, template_spec(STREAM, "Spend"))
    store.close()
    page.open_board(spec.name)
    qtbot.waitUntil(lambda: page.budgets.action in page.header.boards_menu.actions(), timeout=10000)

    def fill_in() -> None:
        dialog = page.budgets.dialog
        dialog.scope.setCurrentText("whole stream")
        dialog.amount.setValue(12.5)
        dialog.period.setCurrentText("week")
        dialog.add_button.click()
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok).click()

    QTimer.singleShot(0, fill_in)
    page.budgets.action.trigger()                       # modal: returns once fill_in pressed OK
    assert page.spec.budgets == [Budget(amount_usd=12.5, period="week")]
    qtbot.waitUntil(lambda: ctx.db.call(lambda s: get_board(s, spec.name)).budgets == page.spec.budgets,
                    timeout=5000)
    qtbot.waitUntil(lambda: page.budgets.cards.isVisible() and len(page.budgets.cards.statuses) == 1, timeout=5000)
    assert page.budgets.cards.cards[0].texts()["name"] == "whole stream · per week"
