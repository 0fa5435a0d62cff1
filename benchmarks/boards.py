"""Board scale benchmark: the OpenAI Monitor template board over 1,000,000 calls (or --calls N).

    python benchmarks/boards.py                      # 1M calls, best of 3 rounds
    python benchmarks/boards.py --calls 10000000 --rounds 1
    pip install 'openai-monitor[bench]'              # adds the DuckDB anchors

Goals (issue 10, 2 cores): first open of a never-seen stream (board drawn) 1M < 0.5 s, 10M < 4 s and under
1 GB, ahead of DuckDB over the same SQLite file; full recompute of the board grouped by model at 10M <= 1.2 s
and at most x11 the 1M figure; first grouping by an attribute at 10M < 3 s; a live tick (100 new calls) at 1M
<= 3 ms.  The machine is shared, so the script also measures its anchors in the same run and prints ratios:
a plain numpy pass over the same columns, DuckDB over the SQLite file (needs DuckDB's sqlite extension) and
DuckDB in memory.

Calls are written straight into the `calls` table with executemany (not through the API), spread over the
last 7 days, 5 models (one without a price), 2 % errors, 1 % cancelled, a third streamed (with a time to
first token), attributes {system_prompt (3 values), user (50 values)}.  The generated store is cached in
--workdir (default /tmp/openai-monitor-bench) and reused; each round works on a copy.  The writer seals
column chunks as calls land (monitor/boards/chunks.py); here the whole stream is sealed once, timed, and
reported per call (the writer's share).  Every measurement runs in a fresh Python process, so "first"
means first for Python (the OS file cache is warm):

  first open    a process that never saw the stream opens it and computes the template board
  compute       the whole board from the in-memory column cache (best of 5, a new engine each time),
                ungrouped, grouped by model, grouped by the attribute system_prompt
  first group   the first grouping by an attribute in a process
  tick          100 calls committed by another connection, then engine.refresh() (median of 30 per grouping)
  RSS           resident memory of the process holding the board, after the ticks
Ends with one JSON line: {"calls", "first_open_s", "compute_ms", "tick_ms", "rss_mb", "numpy_ms", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
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

    from monitor.store import Store, stream_id

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
            c.executemany(_insert_sql(), rows)
        done += k
    store.close()
    return time.perf_counter() - t0


def _insert_sql() -> str:
    """INSERT for the generated rows: every column up to attributes (the reply fields of schema 3 stay NULL)."""
    from monitor.store import CALL_COLUMNS
    columns = CALL_COLUMNS[:CALL_COLUMNS.index("attributes") + 1]
    return f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def insert_tick(conn: sqlite3.Connection, sid: int, k: int, rng: random.Random) -> None:
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
    conn.executemany(_insert_sql(), rows)
    conn.execute("COMMIT")


# -- measurements (each in its own process) -----------------------------------------------------------------------
def rss_mb() -> tuple[float, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _best_ms(fn, repeat: int, cpu: list | None = None) -> float:
    """Best wall time in ms; the best CPU time of this process (all its threads) is appended to `cpu`
    (on a loaded machine it says what the work itself costs)."""
    times, cpus = [], []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(min(cpus) * 1e3)
    return min(times) * 1e3


def child_first(db: str) -> dict:
    from monitor.boards import BoardEngine, template_spec
    from monitor.store import Store

    out: dict = {"rss_start_mb": rss_mb()[0]}
    c, t = time.process_time(), time.perf_counter()
    store = Store(db)
    engine = BoardEngine(store, template_spec(STREAM, "bench"))
    data = engine.refresh()
    out["open_s"] = time.perf_counter() - t
    out["open_cpu_s"] = time.process_time() - c
    out["load"] = dict(engine._cache.load_stats)
    out["requests"], out["buckets"], out["bucket_s"] = data.summary.requests, len(data.x), data.bucket_s
    out["rss_mb"], out["peak_mb"] = rss_mb()
    return out


def child_warm(db: str) -> dict:
    from monitor.boards import BoardEngine, template_spec
    from monitor.store import Store

    store = Store(db)
    spec = template_spec(STREAM, "bench")
    hold = BoardEngine(store, spec)          # the board the app holds open, alive through the ticks and the RSS reading
    hold.refresh()
    cpu: list = []
    out: dict = {"compute_none_ms": _best_ms(lambda: BoardEngine(store, spec).refresh(), 5)}
    for group_by in ("model", "system_prompt"):
        g = spec.updated(group_by=group_by)
        t = time.perf_counter()
        BoardEngine(store, g).refresh()
        out[f"first_{group_by}_ms"] = (time.perf_counter() - t) * 1e3
        out[f"compute_{group_by}_ms"] = _best_ms(lambda: BoardEngine(store, g).refresh(), 3, cpu)
    out["compute_model_cpu_ms"] = cpu[0]
    writer = sqlite3.connect(db, isolation_level=None, timeout=30)
    sid = store.stream_id(STREAM, create=False)
    rng = random.Random(5)
    for group_by in (None, "model", "system_prompt"):
        e = BoardEngine(store, spec.updated(group_by=group_by))
        e.refresh()
        ticks = []
        for _ in range(30):
            insert_tick(writer, sid, 100, rng)
            t = time.perf_counter()
            d = e.refresh()
            ticks.append(time.perf_counter() - t)
            assert d.incremental
        ticks.sort()
        out[f"tick_{group_by or 'none'}_ms"] = (statistics.median(ticks) * 1e3, ticks[int(len(ticks) * 0.9)] * 1e3)
        del e
    import gc
    gc.collect()
    hold.refresh()
    out["rss_mb"], out["peak_mb"] = rss_mb()
    return out


def child_anchors(db: str) -> dict:
    """The same grouped board (by model) computed by others: a plain numpy pass over the same columns,
    DuckDB over the SQLite file, DuckDB in memory."""
    import numpy as np

    from monitor.boards.columns import columns_for
    from monitor.store import Store

    out: dict = {"duckdb_file_s": None, "duckdb_mem_ms": None, "duckdb": None}
    try:
        import duckdb
        out["duckdb"] = duckdb.__version__
    except ImportError:
        duckdb = None
    store = Store(db)
    bucket = 7200
    if duckdb is not None:
        con = duckdb.connect()
        try:
            con.execute("LOAD sqlite")
        except Exception:
            try:
                con.execute("INSTALL sqlite")
                con.execute("LOAD sqlite")
            except Exception as exc:
                out["duckdb_file_error"] = str(exc).splitlines()[0][:160]
        if "duckdb_file_error" not in out:
            t = time.perf_counter()
            con.execute(f"ATTACH '{db}' AS s (TYPE sqlite, READ_ONLY)")
            con.execute(
                "SELECT floor((c.ts - m.t0) / ?)::BIGINT AS b, c.model, count(*), sum((c.status = 'error')::INT), "
                "sum(c.cost_usd), sum(c.prompt_tokens), sum(c.completion_tokens), sum(c.cached_tokens), "
                "sum(c.reasoning_tokens), quantile_cont(c.latency_ms, [0.5, 0.95, 0.99]) FILTER (WHERE c.status = 'success'), "
                "quantile_cont(c.ttft_ms, [0.5, 0.95]) FILTER (WHERE c.status = 'success') "
                "FROM s.calls c, (SELECT min(ts) AS t0 FROM s.calls) m GROUP BY ALL", [bucket]).fetchall()
            out["duckdb_file_s"] = time.perf_counter() - t
        con.close()
    cache = columns_for(store, STREAM)
    cache.sync(store)
    v = {k: np.ascontiguousarray(a) for k, a in cache.view().items()}
    succ_code = cache.labels("status").index("success")
    err_code = cache.labels("status").index("error")
    G = len(cache.labels("model"))

    def numpy_pass():
        ts = v["ts"]
        b = ((ts - ts.min()) // bucket).astype(np.int64)
        cell = b * G + v["model"]
        ncell = int(cell.max()) + 1
        res = {"n": np.bincount(cell, minlength=ncell),
               "err": np.bincount(cell, weights=v["status"] == err_code, minlength=ncell),
               "cost": np.bincount(cell, weights=np.nan_to_num(v["cost_usd"]), minlength=ncell)}
        for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"):
            res[name] = np.bincount(cell, weights=v[name], minlength=ncell)
        for metric, qs in (("latency_ms", (50, 95, 99)), ("ttft_ms", (50, 95))):
            x = v[metric]
            ok = (v["status"] == succ_code) & ~np.isnan(x)
            xs, cs = x[ok], cell[ok]
            order = np.argsort(xs, kind="stable")                       # by value, then (stable) by cell
            order = order[np.argsort(cs[order], kind="stable")]
            xs = xs[order]
            counts = np.bincount(cs, minlength=ncell)
            starts = np.cumsum(counts) - counts
            has = counts > 0
            for q in qs:
                pos = (counts[has] - 1) * q / 100.0
                lo = np.floor(pos).astype(np.int64)
                hi = np.minimum(lo + 1, counts[has] - 1)
                a, c = xs[starts[has] + lo], xs[starts[has] + hi]
                res[f"{metric}.p{q}"] = a + (c - a) * (pos - lo)
        return res

    cpu: list = []
    out["numpy_ms"] = _best_ms(numpy_pass, 3, cpu)
    out["numpy_cpu_ms"] = cpu[0]
    if duckdb is not None:
        con = duckdb.connect()
        cols = {k: v[k] for k in ("ts", "latency_ms", "ttft_ms", "cost_usd", "prompt_tokens", "completion_tokens",
                                  "cached_tokens", "reasoning_tokens", "status", "model")}
        con.execute("CREATE TABLE calls AS SELECT * FROM cols")
        sql = ("SELECT floor((ts - (SELECT min(ts) FROM calls)) / ?)::BIGINT AS b, model, count(*), "
               f"sum((status = {err_code})::INT), sum(cost_usd), sum(prompt_tokens), sum(completion_tokens), "
               "sum(cached_tokens), sum(reasoning_tokens), "
               f"quantile_cont(latency_ms, [0.5, 0.95, 0.99]) FILTER (WHERE status = {succ_code}), "
               f"quantile_cont(ttft_ms, [0.5, 0.95]) FILTER (WHERE status = {succ_code}) FROM calls GROUP BY ALL")
        out["duckdb_mem_ms"] = _best_ms(lambda: con.execute(sql, [bucket]).fetchall(), 3)
        con.close()
    return out


CHILDREN = {"first": child_first, "warm": child_warm, "anchors": child_anchors}


def run_child(db: Path, mode: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", mode, "--db", str(db)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _copy(src: Path, dst: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)


def prepare(n: int, workdir: Path) -> tuple[Path, float | None]:
    """(a store whose stream is sealed as the writers would have left it, seal cost per call in µs)."""
    base = workdir / f"calls-{n}.db"
    if not base.exists():
        tmp = workdir / f"calls-{n}.tmp.db"
        secs = generate(tmp, n)
        tmp.rename(base)
        print(f"generated {n:,} calls in {secs:.1f} s ({base.stat().st_size / 2**20:,.0f} MB): {base}")
    from monitor.store import Store
    Store(base).close()            # a base generated by an older version: migrated once here, not in every open
    try:
        from monitor.boards.chunks import CHUNK_FORMAT, seal_stream
    except ImportError:            # a version without sealing on write: its first open converts rows
        return base, None
    from monitor.store import SCHEMA_VERSION
    sealed = workdir / f"sealed-{n}-v{CHUNK_FORMAT}-s{SCHEMA_VERSION}.db"
    meta = Path(str(sealed) + ".json")
    if not (sealed.exists() and meta.exists()):
        _copy(base, sealed)
        conn = sqlite3.connect(sealed, isolation_level=None)
        sid = conn.execute("SELECT id FROM streams WHERE name = ?", (STREAM,)).fetchone()[0]
        c, t = time.process_time(), time.perf_counter()
        seal_stream(conn, sid, max_chunks=10**9)
        us, cpu_us = (time.perf_counter() - t) / n * 1e6, (time.process_time() - c) / n * 1e6
        conn.close()
        meta.write_text(json.dumps({"seal_us_per_call": us, "seal_cpu_us_per_call": cpu_us}))
    seal = json.loads(meta.read_text())
    return sealed, seal.get("seal_cpu_us_per_call", seal["seal_us_per_call"])


def _ratio(a: float | None, b: float | None) -> str:
    return f"x{a / b:.2f}" if a and b else "n/a"


def bench(n: int, workdir: Path, rounds: int) -> dict:
    source, seal_us = prepare(n, workdir)
    work = workdir / f"work-{os.getpid()}.db"
    firsts, warms = [], []
    try:
        for _ in range(rounds):
            _copy(source, work)
            firsts.append(run_child(work, "first"))
            warms.append(run_child(work, "warm"))
        anchors = run_child(work, "anchors")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
    best = lambda key, rows: min(r[key] for r in rows)          # noqa: E731
    first_s = best("open_s", firsts)
    first_cpu = best("open_cpu_s", firsts)
    comp_cpu = best("compute_model_cpu_ms", warms)
    peak = max(r["peak_mb"] for r in firsts)
    ld = min(firsts, key=lambda r: r["open_s"])["load"]
    comp = {k: best(f"compute_{k}_ms", warms) for k in ("none", "model", "system_prompt")}
    first_attr = best("first_system_prompt_ms", warms)
    ticks = {k: min(r[f"tick_{k}_ms"][0] for r in warms) for k in ("none", "model", "system_prompt")}
    tick_p90 = min(max(r[f"tick_{k}_ms"][1] for k in ("none", "model", "system_prompt")) for r in warms)
    rss = min(r["rss_mb"] for r in warms)
    numpy_ms, dmem, dfile = anchors["numpy_ms"], anchors["duckdb_mem_ms"], anchors["duckdb_file_s"]
    print(f"\n== {n:,} calls, best of {rounds} ({firsts[0]['buckets']} buckets of {firsts[0]['bucket_s']} s) ==")
    print(f"first open, board drawn   {first_s:.2f} s   peak RSS {peak:.0f} MB  (chunks {ld.get('chunks_s', 0):.2f} s for "
          f"{ld.get('chunk_rows', 0):,} calls, rows {ld.get('tail_s', 0):.2f} s for {ld.get('tail_rows', 0):,}); "
          f"DuckDB over the file {('%.2f s' % dfile) if dfile else 'n/a'} -> {_ratio(first_s, dfile)}")
    if seal_us is not None:
        print(f"  sealing on write        {seal_us:.2f} µs CPU per call (the writers' share, paid as calls land)")
    print(f"  CPU time of the open     {first_cpu:.2f} s")
    print(f"compute, grouped by model {comp['model']:.0f} ms  = {_ratio(comp['model'], numpy_ms)} the numpy pass "
          f"({numpy_ms:.0f} ms), {_ratio(comp['model'], dmem)} DuckDB in memory ({('%.0f ms' % dmem) if dmem else 'n/a'})")
    print(f"  CPU time                {comp_cpu:.0f} ms = {_ratio(comp_cpu, anchors['numpy_cpu_ms'])} the numpy pass's "
          f"({anchors['numpy_cpu_ms']:.0f} ms)")
    print(f"  ungrouped               {comp['none']:.0f} ms;  by attribute {comp['system_prompt']:.0f} ms")
    print(f"first grouping by an attribute in a process: {first_attr:.0f} ms")
    print(f"tick, 100 new calls       median {ticks['none']:.1f} ms ungrouped, {ticks['model']:.1f} by model, "
          f"{ticks['system_prompt']:.1f} by attribute; p90 {tick_p90:.1f} ms")
    print(f"RSS holding the board     {rss:.0f} MB")
    if anchors.get("duckdb_file_error"):
        print(f"(DuckDB over the SQLite file not measured: {anchors['duckdb_file_error']})")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"calls": n, "first_open_s": round(first_s, 3), "compute_ms": round(comp["model"], 1),
            "tick_ms": round(ticks["none"], 2), "rss_mb": round(rss), "numpy_ms": round(numpy_ms, 1),
            "first_open_peak_mb": round(peak), "first_open_cpu_s": round(first_cpu, 3),
            "compute_cpu_ms": round(comp_cpu, 1), "numpy_cpu_ms": round(anchors["numpy_cpu_ms"], 1), "compute_ungrouped_ms": round(comp["none"], 1),
            "compute_attribute_ms": round(comp["system_prompt"], 1), "first_attribute_group_ms": round(first_attr),
            "tick_model_ms": round(ticks["model"], 2), "tick_attribute_ms": round(ticks["system_prompt"], 2),
            "tick_p90_ms": round(tick_p90, 2), "seal_cpu_us_per_call": None if seal_us is None else round(seal_us, 2),
            "duckdb_file_s": None if dfile is None else round(dfile, 3),
            "duckdb_mem_ms": None if dmem is None else round(dmem, 1), "rounds": rounds, "load_avg": load,
            "cpus": os.cpu_count()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000, help="calls in the stream (default 1,000,000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported (default 3)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/openai-monitor-bench"),
                    help="where the generated stores are cached (default /tmp/openai-monitor-bench)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.db)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"boards benchmark: Python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(json.dumps(bench(args.calls, args.workdir, max(args.rounds, 1))))


if __name__ == "__main__":
    main()
