"""Both engines side by side, in one run: write rate with 8 writer processes, and a board's cold compute.

    python benchmarks/store.py [--procs 8] [--calls 5000] [--board-calls 200000] [--pg postgresql://…]

1. Write rate: PROCS processes each log CALLS calls through the real writer (finalize, JSON, batched insert) to
   one store — a SQLite file, then a PostgreSQL database — all starting together; records/s = every call
   committed / wall time from the start signal until the last process has flushed.
2. Board compute: BOARD_CALLS calls in one stream of each store, then the OpenAI Monitor template board
   computed in a new process: the stream's first open, then a later one (SQLite keeps a column-chunk cache
   in the store; PostgreSQL stores don't have one yet, so every new process reads the rows again).

Without --pg a throwaway cluster is started (initdb as in the tests; needs PostgreSQL installed).  The
PostgreSQL server runs on this machine with fsync off (a test cluster), so its figures are an upper bound for a
server that syncs; the machine is shared, so compare the ratios of one run.  Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_cache = ROOT.parent / "shared" / "tiktoken-cache"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

WORKER = """
import sys, time, openai
sys.path.insert(0, sys.argv[1])
from monitor.capture import PendingCall
from monitor.simulator import Simulator
from monitor.writer import writer_for
store, n, go = sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Simulator() as sim:
    c = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
    response = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
writer = writer_for(store)
calls = []
for i in range(n):
    call = PendingCall("bench/write", 1.7e9 + i, "chat.completions", {"model": "gpt-4o-mini"}, {"i": i})
    call.latency_ms, call.response = 12.5, response
    calls.append(call)
print("ready", flush=True)
while not __import__("os").path.exists(go):
    time.sleep(0.001)
for call in calls:
    writer.submit(call)
writer.flush(timeout=600)
assert writer.written == n, (writer.written, writer.last_error)
print("done", flush=True)
"""


def write_rate(store: str, procs: int, calls: int, tmp: Path) -> float:
    go = tmp / f"go-{time.monotonic_ns()}"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT), store, str(calls), str(go)],
                                stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    go.touch()
    for w in workers:
        assert w.stdout.readline().strip() == "done"
        assert w.wait(600) == 0
    return procs * calls / (time.perf_counter() - t0)


BOARD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from monitor.store import Store
from monitor.boards.engine import BoardEngine
from monitor.boards.template import template_spec
store = Store(sys.argv[2])
t0 = time.perf_counter()
BoardEngine(store, template_spec("bench/board")).refresh(1.7e9 + 10**7)
print(time.perf_counter() - t0)
"""


def board_compute(store: str, n: int) -> tuple[float, float]:
    from monitor.record import Record
    from monitor.store import Store

    s = Store(store)
    for start in range(0, n, 20_000):
        s.insert_records(Record(id=None, stream="bench/board", timestamp=1.7e9 + i, latency_ms=100.0 + i % 900,
                                ttft_ms=None, api="chat.completions", model=("gpt-4o-mini", "gpt-4o")[i % 2],
                                response_model=None, status="error" if i % 50 == 0 else "success", error=None,
                                prompt_tokens=10 + i % 90, completion_tokens=5, total_tokens=15 + i % 90,
                                cached_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=1e-4,
                                streamed=False, attributes={"user": f"u{i % 7}"})
                         for i in range(start, min(n, start + 20_000)))
    times = []
    for _ in range(2):           # the first open of the stream, then a later one (SQLite has its chunk cache then)
        out = subprocess.run([sys.executable, "-c", BOARD, str(ROOT), store], capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--calls", type=int, default=5000, help="calls per process")
    parser.add_argument("--board-calls", type=int, default=200_000)
    parser.add_argument("--pg", help="a postgresql:// URL of an empty database (default: a throwaway cluster)")
    args = parser.parse_args()
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            if args.pg:
                pg_write = pg_board = args.pg
            else:
                from tests.pg_server import PgCluster
                cluster = PgCluster().start()
                pg_write, pg_board = cluster.new_database(), cluster.new_database()
            sqlite_rate = write_rate(str(tmp / "w.db"), args.procs, args.calls, tmp)
            pg_rate = write_rate(pg_write, args.procs, args.calls, tmp)
            sqlite_board = board_compute(str(tmp / "b.db"), args.board_calls)
            pg_board_s = board_compute(pg_board, args.board_calls)
        finally:
            if cluster is not None:
                cluster.destroy()
    print(f"write rate, {args.procs} processes x {args.calls:,} calls:")
    print(f"  SQLite     {sqlite_rate:10,.0f} records/s")
    print(f"  PostgreSQL {pg_rate:10,.0f} records/s   (PostgreSQL/SQLite = {pg_rate / sqlite_rate:.2f})")
    (sqlite_board, sqlite_again), (pg_board_s, pg_again) = sqlite_board, pg_board_s
    print(f"board compute, template board over {args.board_calls:,} calls, in a new process (first open / later open):")
    print(f"  SQLite     {sqlite_board:8.2f} s / {sqlite_again:6.2f} s")
    print(f"  PostgreSQL {pg_board_s:8.2f} s / {pg_again:6.2f} s   (PostgreSQL/SQLite = {pg_board_s / sqlite_board:.2f} / "
          f"{pg_again / sqlite_again:.2f}; goal <= 2)")
    print(json.dumps({"procs": args.procs, "calls_per_proc": args.calls,
                      "sqlite_writes_per_s": round(sqlite_rate), "postgres_writes_per_s": round(pg_rate),
                      "postgres_vs_sqlite_writes": round(pg_rate / sqlite_rate, 3),
                      "board_calls": args.board_calls, "sqlite_board_s": round(sqlite_board, 3),
                      "postgres_board_s": round(pg_board_s, 3),
                      "postgres_vs_sqlite_board": round(pg_board_s / sqlite_board, 3),
                      "sqlite_board_again_s": round(sqlite_again, 3), "postgres_board_again_s": round(pg_again, 3),
                      "postgres_vs_sqlite_board_again": round(pg_again / sqlite_again, 3)}))


if __name__ == "__main__":
    main()
