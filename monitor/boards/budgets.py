"""Where each budget stands: spend in the current period, a forecast to the period's end, the fraction
used and the alert level crossed.  Headless (the app, the CLI and the tests compute the same numbers).

    from monitor.boards.budgets import budget_status, period_bounds, store_budget_statuses
    status = budget_status(store, "my-stream", Budget(amount_usd=5, group_by="model", group_value="gpt-4o"),
                           now=time.time())
    status.spend_usd, status.forecast_usd, status.fraction, status.level      # level: 0, 80 or 100

Periods follow the user's LOCAL calendar (the process's time zone, TZ): a day runs from local midnight to
the next, a week from Monday 00:00, a month from the 1st 00:00.  Daylight-saving days are 23 or 25 hours
long, as they are on the wall clock.

Spend sums ``cost_usd`` of every call of the stream in [period start, period end) that belongs to the budget's
group (the board's filters and time range do not apply).  Calls without a known price add nothing and are
counted in ``unpriced_calls`` so the card can say so.

The forecast is the pace so far, extrapolated: ``spend / elapsed × period length`` (the average rate since
the period began, continued to its end).  It is simple and can be checked by hand; early in a period it
swings with every call, which the card says by calling it "at this pace".
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass

from ..store import Store
from .budget_spec import PERIODS, Budget
from .spec import MISSING_LABEL, BoardSpec, group_field

WARN_FRACTION = 0.8
LEVELS = (0, 80, 100)          # none, 80 % of the budget spent, all of it spent


# -- periods -------------------------------------------------------------------------------------------------
def _local_midnight(year: int, month: int, day: int) -> float:
    # mktime normalises day/month overflow (day 32, month 13) and picks the DST offset itself (isdst=-1)
    return time.mktime((year, month, day, 0, 0, 0, 0, 0, -1))


def period_bounds(period: str, now: float) -> tuple[float, float]:
    """[start, end) of the local day, week (Monday first) or month that holds `now`, in epoch seconds."""
    if period not in PERIODS:
        raise ValueError(f"a budget period is one of {', '.join(PERIODS)}, not {period!r}")
    t = time.localtime(now)
    if period == "day":
        return _local_midnight(t.tm_year, t.tm_mon, t.tm_mday), _local_midnight(t.tm_year, t.tm_mon, t.tm_mday + 1)
    if period == "week":
        first = t.tm_mday - t.tm_wday                     # tm_wday: Monday = 0
        return _local_midnight(t.tm_year, t.tm_mon, first), _local_midnight(t.tm_year, t.tm_mon, first + 7)
    return _local_midnight(t.tm_year, t.tm_mon, 1), _local_midnight(t.tm_year, t.tm_mon + 1, 1)


def level_for(fraction: float) -> int:
    """The highest alert level crossed: 100 at or over the budget, 80 from 80 % of it, else 0."""
    if fraction >= 1.0:
        return 100
    if fraction >= WARN_FRACTION:
        return 80
    return 0


def forecast(spend: float, start: float, end: float, now: float) -> float:
    """Spend at the period's end if the pace so far goes on (see the module docstring)."""
    elapsed = min(max(now - start, 0.0), end - start)
    if elapsed <= 0 or spend <= 0:
        return spend
    return spend * (end - start) / elapsed


# -- spend -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spend:
    cost_usd: float
    calls: int              # calls of the group in the period (priced or not)
    unpriced_calls: int     # successful calls without a known price (they add nothing to cost_usd)


_SUMS = ("COALESCE(SUM(c.cost_usd), 0), COUNT(*), "     # CASE, not SUM(boolean): PostgreSQL has no such SUM
         "COALESCE(SUM(CASE WHEN c.cost_usd IS NULL AND c.status = 'success' THEN 1 ELSE 0 END), 0)")


def _where(after_id: int) -> str:
    # From the start: the (stream_id, ts) index.  New calls only: the rowid range ("+" keeps SQLite off the
    # index, which would visit the whole period to find a few rows).
    if after_id:
        return "FROM calls c WHERE +c.stream_id = ? AND c.id > ? AND c.id <= ? AND c.ts >= ? AND c.ts < ?"
    return "FROM calls c WHERE c.stream_id = ? AND c.id > ? AND c.id <= ? AND c.ts >= ? AND c.ts < ?"


def _json_path(parts: list[str]) -> str:
    return "$" + "".join('."' + p + '"' for p in parts)


def _label(json_type: str | None, value) -> str | None:
    """The board's group label of an attribute value read with json_type/json_extract (None: absent)."""
    if json_type is None:
        return None
    if json_type == "text":
        return value
    if json_type in ("true", "false", "null"):
        return json_type
    if json_type in ("object", "array"):
        return json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):        # PostgreSQL's json_extract (monitor/pg.py) gives a number as text
        value = float(value) if json_type == "real" else int(value)
    return json.dumps(value)          # integer, real


def group_spend(store: Store, stream: str, group_by: str | None, group_value: str | None,
                start: float, end: float, after_id: int = 0, upto_id: int | None = None) -> Spend:
    """Spend of one group of `stream` (None: the whole stream) with start <= ts < end, over the calls
    with after_id < id <= upto_id (default: all of them).

    One indexed query; an attribute group is summed per distinct attribute value in SQL, so only those few
    values are labelled in Python, never every call's attributes."""
    sid = store.stream_id(stream, create=False)
    if sid is None:
        return Spend(0.0, 0, 0)
    params: list = [sid, after_id, store.max_id() if upto_id is None else upto_id, start, end]
    where = _where(after_id)
    g = group_field(group_by)
    if g is None:
        row = store.conn.execute(f"SELECT {_SUMS} {where}", params).fetchone()
        return Spend(float(row[0]), int(row[1]), int(row[2]))
    if g[0] == "field":
        column = f"c.{g[1]}"                                  # model | status | api (a fixed list)
        if group_value == MISSING_LABEL:
            row = store.conn.execute(f"SELECT {_SUMS} {where} AND {column} IS NULL", params).fetchone()
        else:
            row = store.conn.execute(f"SELECT {_SUMS} {where} AND {column} = ?", [*params, group_value]).fetchone()
        return Spend(float(row[0]), int(row[1]), int(row[2]))
    key = g[1]
    # A key with dots is first a top-level key (as written), else a path into nested dicts: as the board does.
    whole, nested = _json_path([key]), _json_path(key.split("."))
    sql = (f"SELECT json_type(c.attributes, ?), json_extract(c.attributes, ?), json_type(c.attributes, ?), "
           f"json_extract(c.attributes, ?), {_SUMS} {where} AND json_valid(c.attributes) GROUP BY 1, 2, 3, 4")
    total, calls, unpriced = 0.0, 0, 0
    for t1, v1, t2, v2, cost, n, n_unpriced in store.conn.execute(sql, [whole, whole, nested, nested, *params]):
        label = _label(t1, v1)
        if label is None:
            label = _label(t2, v2) if "." in key else None
        if (label if label is not None else MISSING_LABEL) == group_value:
            total, calls, unpriced = total + cost, calls + n, unpriced + n_unpriced
    if group_value == MISSING_LABEL:                           # calls without any attributes at all
        row = store.conn.execute(f"SELECT {_SUMS} {where} AND NOT json_valid(COALESCE(c.attributes, ''))",
                                 params).fetchone()
        total, calls, unpriced = total + row[0], calls + row[1], unpriced + row[2]
    return Spend(float(total), int(calls), int(unpriced))


class SpendCache:
    """Spend per (store, stream, group, period), kept up to date by adding only the calls that landed since
    (ids only grow): a live app re-reads a month of calls once, then a few new rows per check.  A call's
    timestamp may lie anywhere in the period; it is counted when its row appears.  Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[int, Spend]] = {}

    def spend(self, store: Store, stream: str, budget: Budget, start: float, end: float) -> Spend:
        sid = store.stream_id(stream, create=False)
        key = (str(store.path), sid, budget.group_by, budget.group_value, start, end)
        upto = store.max_id()
        with self._lock:
            last, known = self._entries.get(key, (0, Spend(0.0, 0, 0)))
        if last > upto:                                        # the store shrank (a stream deleted): start over
            last, known = 0, Spend(0.0, 0, 0)
        if upto > last:
            new = group_spend(store, stream, budget.group_by, budget.group_value, start, end, last, upto)
            known = Spend(known.cost_usd + new.cost_usd, known.calls + new.calls,
                          known.unpriced_calls + new.unpriced_calls)
        with self._lock:
            if len(self._entries) > 1000:                      # old periods, boards long gone
                self._entries.clear()
            self._entries[key] = (upto, known)
        return known


SPEND_CACHE = SpendCache()


# -- status ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetStatus:
    stream: str
    budget: Budget
    period_start: float
    period_end: float
    now: float
    spend_usd: float
    forecast_usd: float
    calls: int
    unpriced_calls: int

    @property
    def fraction(self) -> float:
        return self.spend_usd / self.budget.amount_usd

    @property
    def forecast_fraction(self) -> float:
        return self.forecast_usd / self.budget.amount_usd

    @property
    def level(self) -> int:
        return level_for(self.fraction)

    @property
    def key(self) -> str:
        return budget_key(self.stream, self.budget)


def budget_key(stream: str, budget: Budget) -> str:
    """A stable id for 'this budget on this stream' (two boards with the same budget share it)."""
    text = json.dumps([stream, budget.group_by, budget.group_value, budget.period, budget.amount_usd])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def budget_status(store: Store, stream: str, budget: Budget, now: float | None = None) -> BudgetStatus:
    now = time.time() if now is None else now
    start, end = period_bounds(budget.period, now)
    spend = SPEND_CACHE.spend(store, stream, budget, start, end)
    return BudgetStatus(stream, budget, start, end, now, spend.cost_usd,
                        forecast(spend.cost_usd, start, end, now), spend.calls, spend.unpriced_calls)


def board_budget_statuses(store: Store, spec: BoardSpec, now: float | None = None) -> list[BudgetStatus]:
    """The board's budgets, in the order of the spec."""
    now = time.time() if now is None else now
    return [budget_status(store, spec.stream, b, now) for b in spec.budgets]


def store_budget_statuses(store: Store, now: float | None = None) -> list[tuple[str, BudgetStatus]]:
    """(board name, status) of every budget of every saved board over a local stream (imported snapshots
    take no new calls), each budget once even if several boards hold it.  Boards that can't be read are
    skipped: they say why when opened."""
    from .repository import BoardError, get_board, list_boards

    now = time.time() if now is None else now
    local = {name for (name,) in store.conn.execute("SELECT name FROM streams WHERE origin = 'local'")}
    out: list[tuple[str, BudgetStatus]] = []
    seen: set[str] = set()
    for info in list_boards(store):
        if info.stream not in local:
            continue
        try:
            spec = get_board(store, info.name)
        except BoardError:
            continue
        for budget in spec.budgets:
            key = budget_key(spec.stream, budget)
            if key not in seen:
                seen.add(key)
                out.append((spec.name, budget_status(store, spec.stream, budget, now)))
    return out
