"""Budget checks on a busy store: what the app's DB worker pays per check while calls land.

The app re-checks every budget whenever calls land (at most once a second).  This measures, over a month
of N calls (every call carrying a `user` attribute), a whole-stream, a model and an attribute budget:
the first check (a full sum of the month), a live check after 20 new calls (SpendCache adds those rows
only), and a fresh full sum for comparison.  Prints the ratio full / live and ends with one JSON line.
Figures are from one run on whatever machine runs it (a loaded machine gives noisy times).

    python benchmarks/budgets.py [--calls 200000]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.boards.budget_spec import Budget            # noqa: E402
from monitor.boards.budgets import budget_status, group_spend, period_bounds   # noqa: E402
from monitor.record import Record                        # noqa: E402
from monitor.store import Store                          # noqa: E402

STREAM = "bench/budgets"
NOW = 1_779_969_600.0          # 2026-05-28 12:00 UTC


def record(i: int, ts: float, rng: random.Random) -> Record:
    model = ("gpt-4o", "gpt-4o-mini")[i % 2]
    return Record(id=None, stream=STREAM, timestamp=ts, latency_ms=500.0, ttft_ms=None, api="chat.completions",
                  model=model, response_model=model, status="success", error=None, prompt_tokens=10,
                  completion_tokens=20, total_tokens=30, cached_tokens=0, reasoning_tokens=0, usage_estimated=False,
                  cost_usd=0.001 * rng.random(), streamed=False, request={"model": model}, output="ok",
                  attributes={"user": f"user{i % 50}", "feature": "chat"})


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200_000)
    args = ap.parse_args()
    rng = random.Random(1)
    start, end = period_bounds("month", NOW)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        step = (NOW - start) / args.calls
        store.insert_records(record(i, start + i * step, rng) for i in range(args.calls))
        budgets = {"stream": Budget(amount_usd=100, period="month"),
                   "model": Budget(amount_usd=100, period="month", group_by="model", group_value="gpt-4o"),
                   "attribute": Budget(amount_usd=100, period="month", group_by="user", group_value="user7")}
        out = {}
        print(f"budgets benchmark: {args.calls:,} calls this month, {len(budgets)} budgets")
        for name, budget in budgets.items():
            first, _ = timed(lambda: budget_status(store, STREAM, budget, NOW))
            store.insert_records(record(args.calls + i, NOW - 1, rng) for i in range(20))
            live, status = timed(lambda: budget_status(store, STREAM, budget, NOW))
            full, fresh = timed(lambda: group_spend(store, STREAM, budget.group_by, budget.group_value, start, end))
            assert abs(status.spend_usd - fresh.cost_usd) < 1e-9 and status.calls == fresh.calls
            ratio = full / live if live else float("inf")
            print(f"  {name:9}  first check {first * 1000:8.1f} ms   live check {live * 1000:6.2f} ms   "
                  f"full sum {full * 1000:8.1f} ms   full/live {ratio:7.1f}x")
            out[name] = {"first_ms": round(first * 1000, 2), "live_ms": round(live * 1000, 3),
                         "full_ms": round(full * 1000, 2), "full_over_live": round(ratio, 1)}
        store.close()
    print(json.dumps({"benchmark": "budgets", "calls": args.calls, **out}))


if __name__ == "__main__":
    main()
