"""Board scale benchmark: the OpenAI Monitor template board over 1,000,000 (and optionally 10,000,000) calls.

    python benchmarks/boards.py                       # 1M calls
    python benchmarks/boards.py --calls 1000000 --calls 10000000
    python benchmarks/boards.py --workdir /tmp/bench --keep     # reuse generated stores between runs

Targets (issue "Live boards"): with 1,000,000 calls in a stream the whole template board computes in
<= 150 ms, a live tick with 100 new calls in <= 20 ms, and the process holding the board stays under
400 MB resident.

Calls are written straight into the `calls` table with executemany (not through the API), spread over
the last 7 days, 5 models (one without a price), 2 % errors, 1 % cancelled, a third streamed (with a
time to first token), attributes {system_prompt (3 values), user (50 values)}.  Every measurement runs in
a fresh Python process so "cold" means cold for Python (the OS file cache is warm, as it is for an app
reopening its store):

  first open    no column chunks yet: every call read row by row from SQLite, then sealed into chunks
  cold open     chunks present: load them + compute the template board (what opening the app costs)
  compute       the whole template board from the in-memory column cache (median of 5; new engine each)
  tick          100 calls committed by another connection, then engine.refresh() (median / max of 30)
  RSS           resident memory of the process holding the board, after the ticks (and its peak)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STREAM = "bench/boards"
MODELS = [("gpt-4o-mini", 0.15e-6, 0.6e-6), ("gpt-4o", 2.5e-6, 10e-6), ("gpt-4.1-nano", 0.1e-6, 0.4e-6),
          ("o3-mini", 1.1e-6, 4.4e-6), ("my-local-llama", None, None)]
SYSTEM_PROMPTS = ["you're extremely flowery and poetic", "you're very direct and precise",
                  "balance brevity with insight"]


# -- data -------------------------------------------------------------------------------------------------------
def generate(path: Path, n: int, seed: int = 1, batch: int = 200_000) -> float:
    import numpy as np

    from monitor.store import INSERT_CALL_SQL, Store, stream_id

    t0 = time.perf_counter()
    store = Store(path)
    conn = store.conn
    conn.execute("PRAGMA synchronous = OFF")
    rng = np.random.default_rng(seed)
    now = time.time()
    attrs = [json.dumps({"system_prompt": sp, "user": f"user{u}"}) for sp in SYSTEM_PROMPTS for u in range(50)]
    requests = [json.dumps({"model": m, "messages": [{"role": "system", "content": SYSTEM_PROMPTS[i % 3]},
                                                     {"role": "user", "content": f"explain equation {i}"}]})
                for i, (m, _, _) in enumerate(MODELS * 3)]
    with store.transaction() as c:
        sid = stream_id(c, STREAM)
    done = 0
    while done < n:
        k = min(batch, n - done)
        ts = now - 7 * 86400 + (done + np.arange(k) + rng.random(k)) * (7 * 86400 / n)   # ids follow time
        mi = rng.integers(0, len(MODELS), k)
        u = rng.random(k)
        status = np.where(u < 0.02, "error", np.where(u < 0.03, "cancelled", "success"))
        streamed = rng.random(k) < 0.33
        lat = rng.lognormal(6.3, 0.6, k)
        ttft = lat * rng.uniform(0.2, 0.5, k)
        pt = rng.integers(20, 3000, k)
        ct = rng.integers(1, 1200, k)
        cached = np.where(rng.random(k) < 0.3, (pt // 128) * 64, 0)
        reasoning = np.where(mi == 3, ct // 2, 0)
        ai = rng.integers(0, len(attrs), k)
        rows = []
        for i in range(k):
            m, pin, pout = MODELS[mi[i]]
            st = status[i]
            ok = st != "error"
            p, o = int(pt[i]), int(ct[i])
            cost = (p * pin + o * pout) if (pin is not None and ok) else None
            rows.append((sid, float(ts[i]), float(lat[i]), float(ttft[i]) if streamed[i] else None, "chat.completions",
                         m, m, st, None if ok else "Error code: 500 - simulated", p if ok else None, o if ok else None,
                         (p + o) if ok else None, int(cached[i]) if ok else None, int(reasoning[i]) if ok else None,
                         0, cost, int(streamed[i]), requests[(mi[i] * 3 + i) % len(requests)],
                         "the answer, at some length" if ok else None, attrs[ai[i]]))
        with store.transaction() as c:
            c.executemany(INSERT_CALL_SQL, rows)
        done += k
    store.close()
    return time.perf_counter() - t0


def insert_tick(conn: sqlite3.Connection, sid: int, k: int, rng: random.Random) -> None:
    from monitor.store import INSERT_CALL_SQL

    now = time.time()
    rows = []
    for i in range(k):
        m, pin, pout = MODELS[rng.randrange(len(MODELS))]
        p, o = rng.randint(20, 3000), rng.randint(1, 1200)
        ok = rng.random() > 0.02
        rows.append((sid, now - rng.uniform(0, 5), rng.lognormvariate(6.3, 0.6), None, "chat.completions", m, m,
                     "success" if ok else "error", None if ok else "boom", p, o, p + o, 0, 0, 0,
                     (p * pin + o * pout) if pin is not None and ok else None, 0, '{"model": "x"}', "out",
                     json.dumps({"system_prompt": rng.choice(SYSTEM_PROMPTS), "user": f"user{rng.randrange(50)}"})))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT_CALL_SQL, rows)
    conn.execute("COMMIT")


# -- measurements (each in its own process) -----------------------------------------------------------------------
def rss_mb() -> tuple[float, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child(db: str, mode: str) -> dict:
    from monitor.boards import BoardEngine, template_spec
    from monitor.store import Store

    out: dict = {"rss_start_mb": rss_mb()[0]}
    store = Store(db)
    spec = template_spec(STREAM, "bench")
    t = time.perf_counter()
    engine = BoardEngine(store, spec)
    data = engine.refresh()
    out["open_s"] = time.perf_counter() - t
    out["load"] = dict(engine._cache.load_stats)
    out["requests"] = data.summary.requests
    out["buckets"] = len(data.x)
    out["bucket_s"] = data.bucket_s
    if mode == "first":
        out["rss_mb"], out["peak_mb"] = rss_mb()
        return out
    times = []
    for _ in range(5):
        t = time.perf_counter()
        BoardEngine(store, spec).refresh()
        times.append(time.perf_counter() - t)
    out["compute_ms"] = statistics.median(times) * 1e3
    for group_by in ("model", "system_prompt"):
        g = spec.model_copy(update={"group_by": group_by})
        t = time.perf_counter()
        BoardEngine(store, g).refresh()
        first = time.perf_counter() - t
        times = []
        for _ in range(3):
            t = time.perf_counter()
            BoardEngine(store, g).refresh()
            times.append(time.perf_counter() - t)
        out[f"compute_{group_by}_ms"] = statistics.median(times) * 1e3
        out[f"first_{group_by}_ms"] = first * 1e3
    hold = engine                     # the board the app holds open, alive through the ticks and the RSS reading
    writer = sqlite3.connect(db, isolation_level=None, timeout=30)
    sid = store.stream_id(STREAM, create=False)
    rng = random.Random(5)
    for group_by in (None, "model", "system_prompt"):
        e = BoardEngine(store, spec.model_copy(update={"group_by": group_by}))
        e.refresh()
        ticks = []
        for _ in range(30):
            insert_tick(writer, sid, 100, rng)
            t = time.perf_counter()
            d = e.refresh()
            ticks.append(time.perf_counter() - t)
            assert d.incremental
        ticks.sort()
        out[f"tick_{group_by or 'none'}_ms"] = (statistics.median(ticks) * 1e3, ticks[int(len(ticks) * 0.9)] * 1e3,
                                               ticks[-1] * 1e3)
        del e
    # the app holds one board (plus the column cache): measure with `hold` alive and up to date
    import gc
    gc.collect()
    hold.refresh()
    out["rss_mb"], out["peak_mb"] = rss_mb()
    return out


def run_child(db: Path, mode: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, "--db", str(db)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench(n: int, workdir: Path, keep: bool) -> None:
    db = workdir / f"boards-{n}.db"
    if not (keep and db.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        secs = generate(db, n)
        print(f"\n== {n:,} calls ==  generated in {secs:.1f} s ({db.stat().st_size / 2**20:,.0f} MB store)")
        first = run_child(db, "first")
        ld = first["load"]
        print(f"first open (no chunks)    {first['open_s']:.2f} s  = rows from SQLite {ld['tail_s']:.2f} s + "
              f"sealing chunks {ld['seal_s']:.2f} s + compute; RSS {first['rss_mb']:.0f} MB (peak {first['peak_mb']:.0f})")
    else:
        print(f"\n== {n:,} calls ==  (reusing {db})")
    r = run_child(db, "cold")
    again = run_child(db, "cold")          # attribute chunks now exist too
    ld = r["load"]
    print(f"cold open (chunks)        {r['open_s'] * 1e3:.0f} ms  (chunks {ld['chunks_s'] * 1e3:.0f} ms for "
          f"{ld['chunk_rows']:,} calls, tail {ld['tail_s'] * 1e3:.0f} ms for {ld['tail_rows']:,}; the rest is compute)")
    print(f"compute, template board   {r['compute_ms']:.0f} ms   (target <= 150 ms at 1M; {r['buckets']} buckets of "
          f"{r['bucket_s']} s, {r['requests']:,} calls)")
    print(f"  grouped by model        {r['compute_model_ms']:.0f} ms")
    print(f"  grouped by attribute    {r['compute_system_prompt_ms']:.0f} ms  (first grouping by it ever: "
          f"{r['first_system_prompt_ms']:.0f} ms, building the attribute column from SQL; in a later process: "
          f"{again['first_system_prompt_ms']:.0f} ms, from its chunks)")
    print(f"cold open, second time    {again['open_s'] * 1e3:.0f} ms; compute {again['compute_ms']:.0f} ms")
    for key, label in (("tick_none_ms", "no grouping"), ("tick_model_ms", "by model"),
                       ("tick_system_prompt_ms", "by attribute")):
        med, p90, mx = r[key]
        print(f"tick, 100 new calls       {med:.1f} ms median, {p90:.1f} ms p90, {mx:.1f} ms max  ({label}; target <= 20 ms)")
    print(f"RSS holding the board     {r['rss_mb']:.0f} MB  (peak {r['peak_mb']:.0f} MB; target < 400 MB at 1M; "
          f"Python + libraries alone: {r['rss_start_mb']:.0f} MB)")
    if not keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, action="append", help="calls in the stream (repeatable); default 1,000,000")
    ap.add_argument("--workdir", type=Path, help="where the generated stores go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep (and reuse) the generated stores")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.db, args.child)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="boards-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"boards benchmark: Python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    for n in args.calls or [1_000_000]:
        bench(n, workdir, args.keep)


if __name__ == "__main__":
    main()
