"""Budgets, headless: local calendar periods (fixed clocks, several time zones set explicitly), spend of
a stream or a group (checked against the board's own group labels), the forecast, the alert levels, the
spec's validation and the board file round trip."""
from __future__ import annotations

import json
import math
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from monitor.boards import BoardSpec, export_board, get_board, import_board, save_board
from monitor.boards.budget_spec import Budget, money
from monitor.boards.budgets import (board_budget_statuses, budget_key, budget_status, forecast, group_spend,
                                    level_for, period_bounds, store_budget_statuses)
from monitor.boards.columns import record_attribute_label
from monitor.record import Record
from monitor.store import Store

ZONES = ["Pacific/Kiritimati", "America/Adak", "UTC", "Europe/Berlin", "Asia/Kolkata"]
STREAM = "team/app/openai_logs"


@pytest.fixture(params=ZONES)
def zone(request, monkeypatch):
    """The process's local time zone set to each zone in turn (what period_bounds reads)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield ZoneInfo(request.param)
    monkeypatch.undo()
    time.tzset()


def at(z: ZoneInfo, *args) -> float:
    return datetime(*args, tzinfo=z).timestamp()


# -- periods ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("moment", [(2026, 3, 8, 12, 0), (2026, 3, 8, 0, 0, 1), (2026, 3, 8, 23, 59, 59),
                                    (2026, 11, 1, 6, 30), (2026, 12, 31, 23, 0), (2024, 2, 29, 0, 0)])
def test_periods_are_local_calendar_days_weeks_and_months(zone, moment):
    now = at(zone, *moment)
    local = datetime.fromtimestamp(now, zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    next_day = datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=zone)
    assert period_bounds("day", now) == (day.timestamp(), next_day.timestamp())
    monday = datetime.fromordinal(day.toordinal() - day.weekday()).replace(tzinfo=zone)
    next_monday = datetime.fromordinal(monday.toordinal() + 7).replace(tzinfo=zone)
    assert period_bounds("week", now) == (monday.timestamp(), next_monday.timestamp())
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    next_first = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=zone)
    assert period_bounds("month", now) == (first.timestamp(), next_first.timestamp())
    for period in ("day", "week", "month"):
        start, end = period_bounds(period, now)
        assert start <= now < end


def test_a_daylight_saving_day_is_as_long_as_on_the_wall_clock(monkeypatch):
    monkeypatch.setenv("TZ", "America/Adak")       # DST began 2026-03-08 02:00 and ends 2026-11-01 02:00
    time.tzset()
    try:
        z = ZoneInfo("America/Adak")
        start, end = period_bounds("day", at(z, 2026, 3, 8, 12, 0))
        assert end - start == 23 * 3600
        start, end = period_bounds("day", at(z, 2026, 11, 1, 12, 0))
        assert end - start == 25 * 3600
    finally:
        monkeypatch.undo()
        time.tzset()


def test_kiritimati_and_adak_disagree_about_which_day_it_is(monkeypatch):
    """The same instant is Thursday in Kiritimati (UTC+14) and Wednesday in Adak (UTC-10): a day budget
    resets at each one's own midnight."""
    now = datetime(2026, 1, 1, 3, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    starts = {}
    try:
        for name in ("Pacific/Kiritimati", "America/Adak"):
            monkeypatch.setenv("TZ", name)
            time.tzset()
            starts[name] = period_bounds("day", now)[0]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert starts["Pacific/Kiritimati"] == at(ZoneInfo("Pacific/Kiritimati"), 2026, 1, 1)
    assert starts["America/Adak"] == at(ZoneInfo("America/Adak"), 2025, 12, 31)


def test_an_unknown_period_is_refused():
    with pytest.raises(ValueError, match="day, week, month"):
        period_bounds("year", 0.0)


# -- forecast and levels ------------------------------------------------------------------------------------------
def test_the_forecast_is_the_pace_so_far_continued_to_the_end():
    assert forecast(2.0, 1000.0, 1000.0 + 86400, 1000.0 + 43200) == pytest.approx(4.0)
    assert forecast(2.0, 0.0, 100.0, 25.0) == pytest.approx(8.0)
    assert forecast(0.0, 0.0, 100.0, 50.0) == 0.0
    assert forecast(3.0, 0.0, 100.0, 0.0) == 3.0                 # no time elapsed: no pace to extrapolate
    assert forecast(3.0, 0.0, 100.0, 150.0) == 3.0               # past the end: what was spent


@pytest.mark.parametrize("fraction, level", [(0.0, 0), (0.7999, 0), (0.8, 80), (0.99, 80), (1.0, 100), (3.2, 100)])
def test_levels(fraction, level):
    assert level_for(fraction) == level


# -- spend -------------------------------------------------------------------------------------------------------
def rec(i: int, ts: float, *, model="gpt-4o-mini", cost=0.01, status="success", attributes=None,
        stream=STREAM) -> Record:
    return Record(id=None, stream=stream, timestamp=ts, latency_ms=100.0, ttft_ms=None, api="chat.completions",
                  model=model, response_model=model, status=status, error=None, prompt_tokens=1,
                  completion_tokens=1, total_tokens=2, cached_tokens=0, reasoning_tokens=0, usage_estimated=False,
                  cost_usd=cost, streamed=False, request={"model": model}, output="x", attributes=attributes)


ATTRS = [{"user": "alice"}, {"user": "bob"}, {"user": "alice", "params": {"audience": "kids"}},
         {"user.name": "top", "user": {"name": "nested"}}, {"user": 3}, {"user": True}, {"user": None},
         {"user": {"a": 1, "b": [1, 2]}}, {}, None, {"params": {"audience": "adults"}}]


def fill(db_path, now: float) -> list[Record]:
    """Calls before, inside and after the current local day, of several models and attribute shapes."""
    start, end = period_bounds("day", now)
    out = []
    stamps = [start - 1, start, start + 1, now - 10, now, end - 0.001, end, end + 3600]
    for i in range(44):
        out.append(rec(i, stamps[i % len(stamps)], model=["gpt-4o", "gpt-4o-mini", None][i % 3],
                       cost=None if i % 13 == 5 else 0.001 * (1 + i % 5),
                       status="error" if i % 17 == 3 else "success", attributes=ATTRS[i % len(ATTRS)]))
    out.append(rec(99, now, stream="another stream", cost=50.0))
    store = Store(db_path)
    store.insert_records(out)
    store.close()
    return [r for r in out if r.stream == STREAM and start <= r.timestamp < end]


def expected(records, key: str | None, value: str | None) -> tuple[float, int]:
    chosen = [r for r in records if key is None
              or (key == "model" and (r.model or "(none)") == value)
              or (key not in ("model", "status", "api") and record_attribute_label(r.attributes, key) == value)]
    return sum(r.cost_usd or 0.0 for r in chosen), len(chosen)


GROUPS = [(None, None), ("model", "gpt-4o"), ("model", "(none)"), ("user", "alice"), ("user", "3"),
          ("user", "true"), ("user", "null"), ("user", '{"a":1,"b":[1,2]}'), ("user", "(none)"),
          ("user.name", "top"), ("params.audience", "kids"), ("params.audience", "(none)"), ("user", "carol")]


@pytest.mark.parametrize("key, value", GROUPS)
def test_spend_of_a_group_matches_the_boards_own_group_labels(db_path, key, value):
    z = ZoneInfo("UTC")
    now = at(z, 2026, 5, 20, 15, 0)
    records = fill(db_path, now)
    store = Store(db_path)
    try:
        start, end = period_bounds("day", now)
        spend = group_spend(store, STREAM, key, value, start, end)
    finally:
        store.close()
    cost, calls = expected(records, key, value)
    assert spend.cost_usd == pytest.approx(cost)
    assert spend.calls == calls
    assert calls > 0 or value == "carol"              # the fill has calls in every other group


def test_a_status_sums_the_current_period_and_counts_unpriced_calls(db_path):
    now = at(ZoneInfo("UTC"), 2026, 5, 20, 18, 0)
    records = fill(db_path, now)
    budget = Budget(amount_usd=0.01, period="day", group_by="model", group_value="gpt-4o")
    store = Store(db_path)
    try:
        status = budget_status(store, STREAM, budget, now=now)
        missing = budget_status(store, "no such stream", budget, now=now)
    finally:
        store.close()
    cost, calls = expected(records, "model", "gpt-4o")
    assert status.spend_usd == pytest.approx(cost) and status.calls == calls
    assert status.unpriced_calls == sum(1 for r in records if r.model == "gpt-4o" and r.cost_usd is None
                                        and r.status == "success")
    assert status.fraction == pytest.approx(cost / 0.01)
    start, end = period_bounds("day", now)                   # in whatever zone the tests run
    assert status.forecast_usd == pytest.approx(cost * (end - start) / (now - start))
    assert status.level == level_for(cost / 0.01)
    assert (missing.spend_usd, missing.calls, missing.level) == (0.0, 0, 0)


def test_store_statuses_cover_local_boards_once_each_and_skip_imported_snapshots(db_path, tmp_path):
    now = at(ZoneInfo("UTC"), 2026, 5, 20, 12, 0)
    fill(db_path, now)
    budget = Budget(amount_usd=0.02, period="day")
    store = Store(db_path)
    try:
        save_board(store, BoardSpec(name="A", stream=STREAM, budgets=[budget]))
        save_board(store, BoardSpec(name="B", stream=STREAM, budgets=[budget, Budget(amount_usd=9, period="month")]))
        export_board(store, "A", tmp_path / "a.json", now=now)
        imported, _ = import_board(store, tmp_path / "a.json")
        statuses = store_budget_statuses(store, now=now)
        on_a = board_budget_statuses(store, get_board(store, "A"), now=now)
    finally:
        store.close()
    assert [(name, s.budget.amount_usd) for name, s in statuses] == [("A", 0.02), ("B", 9.0)]
    assert imported not in [name for name, _ in statuses]
    assert on_a[0].key == statuses[0][1].key == budget_key(STREAM, budget)
    assert on_a[0].level == 100                        # the fill spends more than $0.02 today


# -- spec ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    ({"amount_usd": 0}, "greater than 0"), ({"amount_usd": -5}, "greater than 0"),
    ({"amount_usd": math.nan}, "finite"), ({"amount_usd": math.inf}, "finite"), ({"amount_usd": "5"}, "float"),
    ({"amount_usd": 5, "period": "year"}, "day"), ({"amount_usd": 5, "group_by": "model"}, "both"),
    ({"amount_usd": 5, "group_value": "gpt-4o"}, "both"), ({"amount_usd": 5, "group_by": 'a"b', "group_value": "x"}, "attribute key"),
    ({"amount_usd": 5, "colour": "red"}, "Extra"),
])
def test_bad_budgets_are_refused(bad, message):
    with pytest.raises(ValidationError, match=message):
        BoardSpec.model_validate({"name": "b", "stream": "s", "budgets": [bad]})


def test_a_budget_describes_itself_in_money():
    assert Budget(amount_usd=5, group_by="model", group_value="gpt-4o").describe() == "model=gpt-4o under $5/day"
    assert Budget(amount_usd=0.25, period="month").describe() == "whole stream under $0.25/month"
    assert money(1250.5) == "$1,250.50" and money(0.005) == "$0.005"


def test_older_board_json_without_budgets_still_reads():
    spec = BoardSpec.from_json(json.dumps({"name": "old", "stream": "s"}))
    assert spec.budgets == []


def test_budgets_are_saved_with_the_board_and_travel_in_its_file(db_path, tmp_path):
    budgets = [Budget(amount_usd=5, period="day", group_by="model", group_value="gpt-4o"),
               Budget(amount_usd=1, period="week", group_by="user", group_value="alice"),
               Budget(amount_usd=200, period="month")]
    now = at(ZoneInfo("UTC"), 2026, 5, 20, 12, 0)
    fill(db_path, now)
    store = Store(db_path)
    try:
        save_board(store, BoardSpec(name="Spend", stream=STREAM, budgets=budgets))
        assert get_board(store, "Spend").budgets == budgets
        export_board(store, "Spend", tmp_path / "spend.json", now=now)
        export_board(store, "Spend", tmp_path / "numbers.json", include_content=False, now=now)
    finally:
        store.close()
    assert json.loads((tmp_path / "spend.json").read_text())["board"]["budgets"][1] == {
        "amount_usd": 1.0, "period": "week", "group_by": "user", "group_value": "alice"}
    other = Store(tmp_path / "other.db")
    try:
        for name in ("spend.json", "numbers.json"):
            board, _ = import_board(other, tmp_path / name)
            assert get_board(other, board).budgets == budgets
    finally:
        other.close()


def test_a_live_status_adds_only_new_calls_and_equals_a_fresh_sum(db_path):
    """The app re-checks budgets on every new call: SpendCache adds the rows that landed since, which must
    come to what a fresh sum says (calls stamped earlier in the period too; other periods not)."""
    now = at(ZoneInfo("UTC"), 2026, 5, 20, 15, 0)
    fill(db_path, now)
    budget = Budget(amount_usd=1.0, period="day", group_by="user", group_value="alice")
    start, end = period_bounds("day", now)
    store = Store(db_path)
    try:
        first = budget_status(store, STREAM, budget, now=now)
        store.insert_records([rec(100, start + 5, attributes={"user": "alice"}, cost=0.5),        # late arrival
                              rec(101, start - 5, attributes={"user": "alice"}, cost=7.0),        # yesterday
                              rec(102, now, attributes={"user": "bob"}, cost=3.0)])
        second = budget_status(store, STREAM, budget, now=now)
        fresh = group_spend(store, STREAM, "user", "alice", start, end)
    finally:
        store.close()
    assert second.spend_usd == pytest.approx(first.spend_usd + 0.5) == pytest.approx(fresh.cost_usd)
    assert second.calls == first.calls + 1 == fresh.calls
