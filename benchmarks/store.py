"""Both engines side by side, in one run: how write rate scales with writer processes, and a board over a big
stream opened in a new process — computed by the monitor (client side) and, on PostgreSQL, by the server.

    python benchmarks/store.py [--procs 1,2,4,8,16] [--total 48000 | --calls N] [--board-calls 1000000]
                               [--rounds 3] [--pg postgresql://…]

1. Write rate: for each N in PROCS, N processes log TOTAL/N calls each (or CALLS each) through the real writer (finalize, JSON,
   batched insert; PostgreSQL: COPY) to one store — a SQLite file, then a PostgreSQL database — all starting
   together; records/s = every call committed / wall time from the start signal until the last process has
   flushed.  The 16 processes are started once per engine and reused, so start-up is not timed.
2. Board: BOARD_CALLS calls in one stream of each store (inserted directly, so no column chunks yet), then the
   OpenAI Monitor template board computed in a new process: the stream's first open (reads the rows, seals
   the column chunks), then later opens (from the chunks; ROUNDS of them, alternating between the engines,
   the median shown).  "compute" is BoardEngine.refresh; "open" adds
   opening the store (connecting, checking the schema).  On PostgreSQL the table is ANALYZEd after the first
   open — autovacuum's job on a real server, where a stream grows over days — and the later opens are timed
   before and after that.
3. Server-side aggregation (PostgreSQL): the same per-bucket numbers (requests, errors, cost, tokens, latency
   p50/p95/p99 and time-to-first-token p50/p95 with percentile_cont, the engine's bucket formula) in one
   GROUP BY query, timed in a new process, and checked against the engine's numbers.

Without --pg a throwaway cluster is started (initdb as in the tests; needs PostgreSQL installed).  The
PostgreSQL server runs on this machine with fsync off (a test cluster), so its figures are an upper bound for a
server that syncs, and the writer processes, the server and (for SQLite) the file share the same cores; the
machine is shared, so compare the ratios of one run.  Ends with one JSON line.
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

# A writer process: builds its calls, says "ready", waits for the go file, logs them, says "done"; per round.
WORKER = """
import os, sys, time, openai
sys.path.insert(0, sys.argv[1])
from monitor.capture import PendingCall
from monitor.simulator import Simulator
from monitor.writer import writer_for
store = sys.argv[2]
with Simulator() as sim:
    c = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
    response = c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
writer = writer_for(store)
print("started", flush=True)
for line in sys.stdin:
    n, go = int(line.split()[0]), line.split()[1]
    calls = []
    for i in range(n):
        call = PendingCall("bench/write", 1.7e9 + i, "chat.completions", {"model": "gpt-4o-mini"}, {"i": i})
        call.latency_ms, call.response = 12.5, response
        calls.append(call)
    before = writer.written
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    for call in calls:
        writer.submit(call)
    writer.flush(timeout=600)
    assert writer.written - before == n, (writer.written, writer.last_error)
    print("done", flush=True)
"""


def write_rates(store: str, counts: list[int], total: int, tmp: Path, per_proc: int | None = None) -> dict[int, float]:
    """records/s for each number of writer processes (each logs total/N calls, or per_proc when given)."""
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(ROOT), store], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(max(counts))]
    rates = {}
    try:
        for w in workers:
            assert w.stdout.readline().strip() == "started"
        for n in counts:
            go = tmp / f"go-{time.monotonic_ns()}"
            chosen = workers[:n]
            each = per_proc or total // n
            for w in chosen:
                w.stdin.write(f"{each} {go}\n")
                w.stdin.flush()
            for w in chosen:
                assert w.stdout.readline().strip() == "ready"
            t0 = time.perf_counter()
            go.touch()
            for w in chosen:
                assert w.stdout.readline().strip() == "done"
            rates[n] = n * each / (time.perf_counter() - t0)
    finally:
        for w in workers:
            w.stdin.close()
        for w in workers:
            w.wait(600)
    return rates


BOARD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from monitor.store import Store
from monitor.boards.engine import BoardEngine
from monitor.boards.template import template_spec
t0 = time.perf_counter()
store = Store(sys.argv[2])
t1 = time.perf_counter()
BoardEngine(store, template_spec("bench/board")).refresh(1.7e9 + 10**7)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _board_once(store: str) -> tuple[float, float]:
    """(open s, compute s) of the template board in a new process."""
    out = subprocess.run([sys.executable, "-c", BOARD, str(ROOT), store], capture_output=True, text=True, check=True)
    opened, computed = map(float, out.stdout.strip().splitlines()[-1].split())
    return opened, computed


def fill_board_stream(store: str, n: int) -> None:
    from monitor.record import Record
    from monitor.store import Store

    s = Store(store)
    for start in range(0, n, 20_000):
        s.insert_records(Record(id=None, stream="bench/board", timestamp=1.7e9 + i, latency_ms=100.0 + (i * 7919) % 900,
                                ttft_ms=None if i % 3 else 20.0 + i % 97, api="chat.completions",
                                model=("gpt-4o-mini", "gpt-4o")[i % 2], response_model=None,
                                status="error" if i % 50 == 0 else "success", error=None,
                                prompt_tokens=10 + i % 90, completion_tokens=5, total_tokens=15 + i % 90,
                                cached_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=1e-4,
                                streamed=False, attributes={"user": f"u{i % 7}"})
                         for i in range(start, min(n, start + 20_000)))
    s.close()


def _median(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The run with the median total (open + compute)."""
    return sorted(times, key=sum)[len(times) // 2]


def board_times(sqlite: str, pg: str, rounds: int) -> dict[str, dict[str, tuple[float, float]]]:
    """{"sqlite"|"postgres": {"first"|"later"|"analyzed": (open s, compute s)}}: later opens are ROUNDS rounds
    alternating between the engines (their median), so a change in the machine's load hits both."""
    out = {"sqlite": {"first": _board_once(sqlite)}, "postgres": {"first": _board_once(pg)}}

    def later(case: str) -> None:
        runs = {"sqlite": [], "postgres": []}
        for _ in range(rounds):
            runs["sqlite"].append(_board_once(sqlite))
            runs["postgres"].append(_board_once(pg))
        for engine, times in runs.items():
            out[engine][case] = _median(times)

    later("later")
    import psycopg
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("ANALYZE calls")
    later("analyzed")                      # (SQLite: just more later opens)
    return out


# The template's per-bucket numbers computed by the server: one GROUP BY over the stream's rows, buckets by the
# engine's formula (floor(ts - start) // bucket: date_bin's on epoch seconds), percentile_cont = numpy's linear
# percentiles.  Then the engine's board, and the largest difference between the two.
SERVER = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
t0 = time.perf_counter()
from monitor.store import Store
store = Store(sys.argv[2])
sid = store.stream_id("bench/board", create=False)
from monitor.boards.engine import BoardEngine
from monitor.boards.template import template_spec
data = BoardEngine(store, template_spec("bench/board")).refresh(1.7e9 + 10**7)
t1 = time.perf_counter()
rows = store.conn.execute(
    "SELECT floor(ts - ?)::bigint / ? AS b, count(*), count(*) FILTER (WHERE status = 'error'), "
    "COALESCE(sum(cost_usd), 0), sum(prompt_tokens), sum(completion_tokens), "
    "percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) "
    "  FILTER (WHERE status = 'success' AND latency_ms IS NOT NULL), "
    "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY ttft_ms) "
    "  FILTER (WHERE status = 'success' AND ttft_ms IS NOT NULL) "
    "FROM calls WHERE stream_id = ? AND ts >= ? AND ts <= ? GROUP BY 1 ORDER BY 1",
    (data.start, data.bucket_s, sid, data.start, data.end)).fetchall()
server_s = time.perf_counter() - t1
nb = len(data.x)
got = {k: np.full(nb, np.nan) for k in ("requests.count", "errors.count", "cost_usd.sum", "prompt_tokens.sum",
                                          "latency_ms.p50", "latency_ms.p95", "latency_ms.p99", "ttft_ms.p50", "ttft_ms.p95")}
for b, n, err, cost, pt, ct, lat, ttft in rows:
    got["requests.count"][b], got["errors.count"][b], got["cost_usd.sum"][b], got["prompt_tokens.sum"][b] = n, err, cost, pt
    for q, v in zip(("p50", "p95", "p99"), lat or [None] * 3):
        got["latency_ms." + q][b] = np.nan if v is None else v
    for q, v in zip(("p50", "p95"), ttft or [None] * 2):
        got["ttft_ms." + q][b] = np.nan if v is None else v
want = {s.key: s.y for p in data.panels for s in p.series}
diff = {"percentiles": 0.0, "sums": 0.0}
for key, y in got.items():
    w = np.asarray(want[key], dtype=float)
    if "count" in key or "sum" in key:
        w, y = np.nan_to_num(w), np.nan_to_num(y)
    assert np.array_equal(np.isnan(w), np.isnan(y)), key
    ok = ~np.isnan(w)
    rel = np.abs(w[ok] - y[ok]) / np.maximum(np.abs(w[ok]), 1e-300)
    kind = "sums" if "count" in key or "sum" in key else "percentiles"
    diff[kind] = max(diff[kind], float(rel.max()) if len(rel) else 0.0)
print(json.dumps({"server_s": server_s, "buckets": nb, "max_rel_diff": diff}))
"""


def server_aggregation(store: str) -> dict:
    out = subprocess.run([sys.executable, "-c", SERVER, str(ROOT), store], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", default="1,2,4,8,16", help="numbers of writer processes, comma-separated")
    parser.add_argument("--total", type=int, default=48_000, help="calls logged per round (split among the processes)")
    parser.add_argument("--board-calls", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, help="calls per process instead (each round then logs N x this many)")
    parser.add_argument("--rounds", type=int, default=3, help="later opens per engine and case (the median is shown)")
    parser.add_argument("--pg", help="a postgresql:// URL of an empty database (default: a throwaway cluster)")
    args = parser.parse_args()
    counts = [int(p) for p in args.procs.split(",")]
    cluster = None
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            if args.pg:
                pg_write = pg_board = args.pg
            else:
                from tests.pg_server import PgCluster
                cluster = PgCluster().start()
                pg_write, pg_board = cluster.new_database(), cluster.new_database()
            sqlite_rates = write_rates(str(tmp / "w.db"), counts, args.total, tmp, args.calls)
            pg_rates = write_rates(pg_write, counts, args.total, tmp, args.calls)
            fill_board_stream(str(tmp / "b.db"), args.board_calls)
            fill_board_stream(pg_board, args.board_calls)
            boards = board_times(str(tmp / "b.db"), pg_board, args.rounds)
            sqlite_board, pg_board_t = boards["sqlite"], boards["postgres"]
            server = server_aggregation(pg_board)
        finally:
            if cluster is not None:
                cluster.destroy()
    per_round = f"{args.calls:,} calls per process" if args.calls else f"{args.total:,} calls per round, split among the processes"
    print(f"write rate, records/s ({per_round}):")
    print(f"  {'processes':>9} {'SQLite':>10} {'PostgreSQL':>11}  PostgreSQL/SQLite")
    for n in counts:
        print(f"  {n:>9} {sqlite_rates[n]:>10,.0f} {pg_rates[n]:>11,.0f}  {pg_rates[n] / sqlite_rates[n]:.2f}")
    print(f"template board over {args.board_calls:,} calls, in a new process, open + compute (compute alone):")
    for case, label in (("first", "first open (rows, sealing)"), ("later", "later open (chunks)"),
                        ("analyzed", "later open, PostgreSQL ANALYZEd")):
        (so, sc), (po, pc) = sqlite_board[case], pg_board_t[case]
        print(f"  {label:<33} SQLite {so + sc:6.2f} s ({sc:.2f})  PostgreSQL {po + pc:6.2f} s ({pc:.2f})  "
              f"ratio {(po + pc) / (so + sc):.2f} ({pc / sc:.2f}); goal <= 2")
    print(f"  PostgreSQL computing the per-bucket numbers itself (percentile_cont, GROUP BY): {server['server_s']:.2f} s "
          f"for {server['buckets']} buckets; largest relative difference from the engine: percentiles "
          f"{server['max_rel_diff']['percentiles']:.1e}, sums {server['max_rel_diff']['sums']:.1e} (summed in another order)")
    print(f"({time.perf_counter() - t_start:.0f} s in all)")
    pg_first, pg_later = sum(pg_board_t["first"]), sum(pg_board_t["analyzed"])
    ratio_at = 8 if 8 in counts else max(counts)
    print(json.dumps({
        "procs": counts, "calls_per_round": args.total if not args.calls else None, "calls_per_proc": args.calls,
        "sqlite_writes_per_s": {str(n): round(r) for n, r in sqlite_rates.items()},
        "postgres_writes_per_s": {str(n): round(r) for n, r in pg_rates.items()},
        "writes_ratio_procs": ratio_at,           # the ratio below is at 8 processes (else the most measured)
        "postgres_vs_sqlite_writes": round(pg_rates[ratio_at] / sqlite_rates[ratio_at], 3),
        "board_calls": args.board_calls,
        "sqlite_board_s": round(sum(sqlite_board["first"]), 3), "postgres_board_s": round(pg_first, 3),
        "postgres_vs_sqlite_board": round(pg_first / sum(sqlite_board["first"]), 3),
        "sqlite_board_again_s": round(sum(sqlite_board["analyzed"]), 3), "postgres_board_again_s": round(pg_later, 3),
        "postgres_vs_sqlite_board_again": round(pg_later / sum(sqlite_board["analyzed"]), 3),
        "postgres_board_again_unanalyzed_s": round(sum(pg_board_t["later"]), 3),
        "sqlite_compute_again_s": round(sqlite_board["analyzed"][1], 3),
        "postgres_compute_again_s": round(pg_board_t["analyzed"][1], 3),
        "postgres_server_aggregation_s": round(server["server_s"], 3),
        "server_aggregation_max_rel_diff": server["max_rel_diff"]}))


if __name__ == "__main__":
    main()
