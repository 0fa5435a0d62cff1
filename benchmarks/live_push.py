"""How soon does the app on a team store see a call committed elsewhere?  Push (LISTEN/NOTIFY) vs the poll it
replaced, measured on the same commits in one run.

    python benchmarks/live_push.py [--calls 50] [--pg postgresql://…]

Two AppContexts watch one PostgreSQL store at once: "push" as the app runs now (the listener wakes a max_id
read; its safety poll set to a minute so only the push counts), and "poll" as the app ran before (max_id read
every 0.25 s, no listener).  A thread commits one call at a time (Store.insert_records, then the NOTIFY the
monitor's writer sends inside its commit — here right after it, so one extra round trip is counted), at
random gaps of 0.25–0.6 s (beyond the push's 0.2 s read spacing; the poll's phase is uniform).  Latency =
commit returned → recordsChanged(id) on the GUI thread.  Then a burst: --burst commits ~10 ms apart; how
many recordsChanged the push gave per second (coalesced: at most 5) and how soon after the last commit the
last id was seen.  Without --pg a throwaway cluster is started (as the tests do).  The machine is shared: compare
the two columns of one run.  Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = Path(tempfile.mkdtemp(prefix="live-push-"))
os.environ["OPENAI_MONITOR_CONFIG_DIR"] = str(_tmp / "config")       # never the user's settings

import psycopg  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402

import monitor.store as store_module  # noqa: E402
from app_helpers import make_record  # noqa: E402
from desktop.app import application  # noqa: E402
from desktop.context import AppContext  # noqa: E402
from monitor.pg import CHANNEL  # noqa: E402
from monitor.profiles import ProfileStore  # noqa: E402
from monitor.store import Store  # noqa: E402

OLD_POLL_S = 0.25
BURST_GAP_S = 0.01        # the burst: a commit every ~10 ms (several busy writers), for a few seconds


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait(app, condition, timeout_s: float) -> bool:
    loop, deadline = QEventLoop(), time.monotonic() + timeout_s
    timer = QTimer(interval=2)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    return condition()


def run(url: str, calls: int, burst: int) -> dict:
    app = application()
    profiles = ProfileStore(_tmp / "profiles.json")
    store = Store(url)
    push = AppContext(url, profiles=profiles)
    push.safety_poll_s = 60.0
    poll = AppContext(url, profiles=profiles)
    real_watch = store_module.watch_calls
    store_module.watch_calls = lambda *a, **k: None          # the poll as it was: no listener
    try:
        poll.start_watching(safety_poll_s=OLD_POLL_S)
    finally:
        store_module.watch_calls = real_watch
    push.start_watching()
    seen: dict[str, dict[int, float]] = {"push": {}, "poll": {}}
    push.recordsChanged.connect(lambda i: seen["push"].setdefault(i, time.perf_counter()))
    poll.recordsChanged.connect(lambda i: seen["poll"].setdefault(i, time.perf_counter()))
    assert _wait(app, lambda: push._listener.wait_listening(0), 30), "the listener never started"
    _wait(app, lambda: False, 0.5)            # past the start's first read (reads are 0.2 s apart at least)
    start_id = store.max_id()
    notify = psycopg.connect(url, autocommit=True)
    committed: dict[int, float] = {}
    latencies: dict[str, list[float]] = {"push": [], "poll": []}
    rng = random.Random(7)
    try:
        for i in range(calls):
            def commit(i=i) -> None:
                store.insert_records([make_record("bench/live", i)])
                committed[start_id + i + 1] = time.perf_counter()
                notify.execute("SELECT pg_notify(%s, %s)", (CHANNEL, '["bench/live"]'))
            threading.Thread(target=commit).start()
            want = start_id + i + 1
            ok = _wait(app, lambda: all(max(s, default=0) >= want for s in seen.values()), 10)
            if not ok:
                raise SystemExit(f"call {i} was not seen within 10 s: {seen}")
            for name, times in seen.items():
                first = min(t for k, t in times.items() if k >= want)      # (a read may skip to a later id)
                latencies[name].append((first - committed[want]) * 1000)
            _wait(app, lambda: False, rng.uniform(0.25, 0.6))
        burst_seen: list[float] = []
        push.recordsChanged.connect(lambda _i: burst_seen.append(time.perf_counter()))
        first_id = store.max_id() + 1
        def commit_burst() -> None:
            for j in range(burst):
                store.insert_records([make_record("bench/live", j)])
                notify.execute("SELECT pg_notify(%s, %s)", (CHANNEL, '["bench/live"]'))
                time.sleep(BURST_GAP_S)
            committed["burst_end"] = time.perf_counter()
        started = time.perf_counter()
        burst_reads = push.reads
        threading.Thread(target=commit_burst).start()
        last = first_id + burst - 1
        if not _wait(app, lambda: push.max_id >= last and "burst_end" in committed, 60):
            raise SystemExit("the burst's last call was not seen within 60 s")
        burst_out = {"commits": burst, "commit_s": round(committed["burst_end"] - started, 2),
                     "records_changed": len(burst_seen), "reads": push.reads - burst_reads,
                     "per_s": round(len(burst_seen) / max(burst_seen[-1] - started, 1e-9), 1),
                     "last_seen_after_ms": round((burst_seen[-1] - committed["burst_end"]) * 1000, 1)}
    finally:
        notify.close()
        push.shutdown()
        poll.shutdown()
        store.close()
    out = {"calls": calls, "push_notifications": push.pushes, "burst": burst_out}
    for name, values in latencies.items():
        out[f"{name}_ms"] = {"p50": round(statistics.median(values), 1), "p99": round(_pct(values, 0.99), 1),
                             "max": round(max(values), 1)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--pg", help="a postgresql:// URL (default: a throwaway cluster)")
    args = parser.parse_args()
    cluster = None
    if args.pg:
        url = args.pg
    else:
        from pg_server import PgCluster

        cluster = PgCluster().start()
        url = cluster.new_database()
    try:
        out = run(url, args.calls, args.burst)
    finally:
        if cluster is not None:
            cluster.destroy()
    push, poll = out["push_ms"], out["poll_ms"]
    print(f"commit -> recordsChanged over {out['calls']} calls (load: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")
    print(f"  push (LISTEN/NOTIFY): p50 {push['p50']} ms, p99 {push['p99']} ms, max {push['max']} ms")
    print(f"  poll every {OLD_POLL_S} s:  p50 {poll['p50']} ms, p99 {poll['p99']} ms, max {poll['max']} ms")
    print(f"  push / poll p50: {push['p50'] / poll['p50']:.2f}x")
    b = out["burst"]
    print(f"burst: {b['commits']} commits in {b['commit_s']} s -> {b['records_changed']} recordsChanged "
          f"({b['per_s']}/s, {b['reads']} reads); the last id seen {b['last_seen_after_ms']} ms after the last commit")
    print(json.dumps({"benchmark": "live_push", **out, "push_over_poll_p50": round(push["p50"] / poll["p50"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
