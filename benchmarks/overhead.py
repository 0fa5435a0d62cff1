"""How much a monitored call costs over a bare one, and how fast the writer stores records.

    python benchmarks/overhead.py [--calls 3000] [--parts latency,writer,trickle,lag] [--trickle-runs 3]

1. Added latency: the same chat request through a bare `openai.OpenAI` and through a monitored one,
   interleaved (bare, monitored, bare, ...) against the built-in simulator (zero artificial latency),
   so drift on the machine hits both alike.  Reports the medians and their difference in microseconds,
   plus the wrapper's own call-path time measured around a no-network stand-in of `create`.
2. Writer throughput: records/s the background writer commits (finalize + JSON + SQLite), fed with
   real SDK response objects captured from the simulator; anchor: a bare `executemany` of the same rows
   (already turned into tuples) into a fresh store, in the same run; and what building one row costs
   (finalize + record_row on the benchmark's thread: the writer's Python share of a record).
3. Background CPU per call when calls trickle in (200 calls/s): process CPU time minus the submitting
   thread's own CPU time, divided by the calls; the median of --trickle-runs runs (one run swings by
   +-15 us on a shared machine), each run's figure listed.  Where it goes (measured 2026-11-30, writer
   thread CPU): ~45 us per call building rows (capture.finalize + record_row; ~30 us warm, but the first
   call of each 50 ms batch costs ~5x a warm one: caches gone cold), ~15 us per call in the batch's
   transaction (BEGIN ~30, INSERTs ~100, COMMIT ~50 us per ~10-call batch), ~3 us gathering, ~2 us gc.
   With rows built for free the figure is ~20 us.
4. Commit lag under a busy caller: the real openai client over an in-process httpx MockTransport (as in
   users' unit tests), calling as fast as it can for a few seconds; the age of the oldest uncommitted
   call, sampled after every call (p99 and max).  Then the same for a caller that never releases the GIL.

Ends with one JSON line of the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_cache = ROOT.parent / "shared" / "tiktoken-cache"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

import openai  # noqa: E402

from monitor import init_monitor  # noqa: E402
from monitor.capture import PendingCall  # noqa: E402
from monitor.instrument import _sync_wrapper  # noqa: E402
from monitor.simulator import Simulator  # noqa: E402
from monitor.store import INSERT_CALL_SQL, connect, record_row, stream_id  # noqa: E402
from monitor.writer import RecordWriter  # noqa: E402
from monitor import pricing, tokens  # noqa: E402
from monitor.capture import finalize  # noqa: E402

MSG = [{"role": "user", "content": "Give me one short sentence about benchmarks."}]


def added_latency(sim: Simulator, db: Path, calls: int) -> dict:
    bare = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
    m = init_monitor("bench/overhead", db_path=db, quiet=True)
    monitored = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0))
    for _ in range(200):                       # warm both connection pools and code paths
        bare.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        monitored.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    t_bare, t_mon = [], []
    perf = time.perf_counter
    for i in range(calls):
        for client, sink in ((bare, t_bare), (monitored, t_mon)) if i % 2 else ((monitored, t_mon), (bare, t_bare)):
            t0 = perf()
            client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
            sink.append(perf() - t0)
    m.flush()
    logged = len(m.records())
    med_bare, med_mon = statistics.median(t_bare), statistics.median(t_mon)
    return {"calls_each": calls, "median_bare_us": med_bare * 1e6, "median_monitored_us": med_mon * 1e6,
            "added_us": (med_mon - med_bare) * 1e6, "logged": logged}


def wrapper_own_cost(sim: Simulator, db: Path, n: int = 50_000) -> float:
    """Call-path time of the wrapper alone: wrap a stand-in create() that returns a real response."""
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    m = init_monitor("bench/wrapper", db_path=db, quiet=True)
    original = lambda **kw: response  # noqa: E731
    wrapped = _sync_wrapper(m, original, "chat.completions", ("sk-bench",))
    perf = time.perf_counter
    best = []
    for _ in range(5):
        t0 = perf()
        for _ in range(n):
            original(model="gpt-4o-mini", messages=MSG)
        base = perf() - t0
        t0 = perf()
        for _ in range(n):
            wrapped(model="gpt-4o-mini", messages=MSG)
        best.append((perf() - t0 - base) / n)
        m.flush()
    return min(best) * 1e6


def _pending_calls(response, n: int, stream: str) -> list[PendingCall]:
    calls = []
    now = time.time()
    for i in range(n):
        call = PendingCall(stream, now + i * 1e-3, "chat.completions",
                           {"model": "gpt-4o-mini", "messages": MSG}, {"i": i})
        call.latency_ms, call.response = 12.5, response
        calls.append(call)
    return calls


def writer_throughput(response, tmp: Path, n: int = 100_000) -> tuple[float, float, float]:
    """(writer records/s, bare executemany rows/s, µs to build one record's row — finalize + record_row, the
    writer's Python share — on this thread) over the same calls, in this run."""
    calls = _pending_calls(response, n, "bench/writer")
    writer = RecordWriter(tmp / "writer.db")
    t0 = time.perf_counter()
    for call in calls:
        writer.submit(call)
    writer.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    writer.close()
    assert writer.written == n, (writer.written, writer.last_error)
    t0 = time.perf_counter()
    rows = [record_row(1, finalize(call, pricing, tokens)) for call in calls]
    build_us = (time.perf_counter() - t0) / n * 1e6
    conn = connect(tmp / "bare.db")
    stream_id(conn, "bench/bare")
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT_CALL_SQL, rows)
    conn.execute("COMMIT")
    bare = n / (time.perf_counter() - t0)
    conn.close()
    return n / elapsed, bare, build_us


def trickle_cpu(response, tmp: Path, per_s: float = 200.0, seconds: float = 5.0, run: int = 0) -> float:
    """Background CPU (µs) per call when calls arrive one at a time, per_s a second."""
    n = int(per_s * seconds)
    calls = _pending_calls(response, n, "bench/trickle")
    writer = RecordWriter(tmp / f"trickle{run}.db")     # a fresh store per run
    writer.submit(calls[0])
    writer.flush()                               # warm: first-use imports and caches
    proc0, own0 = time.process_time(), time.thread_time()
    start = time.perf_counter()
    for i, call in enumerate(calls[1:], 1):
        delay = start + i / per_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        writer.submit(call)
    writer.flush(timeout=60)
    background = (time.process_time() - proc0) - (time.thread_time() - own0)
    writer.close()
    return background / (n - 1) * 1e6


def commit_lag(tmp: Path, seconds: float = 3.0) -> dict:
    """Age of the oldest uncommitted call, sampled after every call of a caller that never waits."""
    try:
        import httpx2 as httpx                    # the HTTP library this openai SDK is built on
    except ImportError:
        import httpx
    reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
             "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=reply))
    m = init_monitor("bench/busy", db_path=tmp / "busy.db", quiet=True)
    client = m.wrap(openai.OpenAI(api_key="sk-bench", base_url="http://mock.invalid/v1", max_retries=0,
                                  http_client=httpx.Client(transport=transport)))
    writer = m._writer
    for _ in range(50):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    m.flush()
    base = writer.written
    returned, lags = [], []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        now = time.monotonic()
        returned.append(now)
        committed = writer.written - base
        lags.append(now - returned[committed] if committed < len(returned) else 0.0)
    m.flush()
    lags.sort()
    return {"calls": len(returned), "calls_per_s": len(returned) / seconds,
            "p99_ms": lags[int(len(lags) * 0.99)] * 1e3, "max_ms": lags[-1] * 1e3}


def commit_lag_cpu_bound(response, tmp: Path, seconds: float = 3.0) -> dict:
    """The same, for a caller that never releases the GIL: each call submitted as the wrappers do, then
    pure-Python work (the case that starved the writer for seconds)."""
    m = init_monitor("bench/cpu", db_path=tmp / "cpu.db", quiet=True)
    writer = m._writer
    returned, lags = [], []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        call = PendingCall(m.stream, time.time(), "chat.completions", {"model": "gpt-4o-mini", "messages": MSG}, {})
        call.response, call.latency_ms = response, 1.0
        m._submit(call)
        sum(range(3000))
        now = time.monotonic()
        returned.append(now)
        committed = writer.written
        lags.append(now - returned[committed] if committed < len(returned) else 0.0)
    m.flush()
    lags.sort()
    return {"calls_per_s": len(returned) / seconds, "p99_ms": lags[int(len(lags) * 0.99)] * 1e3,
            "max_ms": lags[-1] * 1e3}


PARTS = ("latency", "writer", "trickle", "lag")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--trickle-runs", type=int, default=3, help="trickle runs; their median is reported")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)} (default: all)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp, Simulator() as sim:
        tmp = Path(tmp)
        if "latency" in parts:
            lat = added_latency(sim, tmp / "a.db", args.calls)
            own = wrapper_own_cost(sim, tmp / "b.db")
            print(f"interleaved calls: {lat['calls_each']} bare + {lat['calls_each']} monitored, {lat['logged']} logged")
            print(f"median bare      : {lat['median_bare_us']:9.1f} us")
            print(f"median monitored : {lat['median_monitored_us']:9.1f} us")
            print(f"added per call   : {lat['added_us']:9.1f} us   (target <= 30 us; "
                  f"ratio monitored/bare = {lat['median_monitored_us'] / lat['median_bare_us']:.3f})")
            print(f"wrapper call path: {own:9.2f} us   (stand-in create(), no network)")
            figures.update(added_us_median=round(lat["added_us"], 2), wrapper_us=round(own, 2))
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
        response = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "writer" in parts:
            rate, bare, build_us = writer_throughput(response, tmp)
            print(f"writer throughput: {rate:9,.0f} records/s   (goal >= 100,000/s and >= 0.6x bare)")
            print(f"bare executemany : {bare:9,.0f} rows/s      (same rows, one transaction; writer/bare = {rate / bare:.2f})")
            print(f"building a row   : {build_us:9.1f} us per record (finalize + record_row alone; a bare insert "
                  f"takes {1e6 / bare:.1f} us)")
            figures.update(writer_records_per_s=round(rate), bare_executemany_per_s=round(bare),
                           writer_vs_bare=round(rate / bare, 3), build_row_us=round(build_us, 1))
        if "trickle" in parts:
            runs = [trickle_cpu(response, tmp, run=i) for i in range(max(1, args.trickle_runs))]
            cpu = statistics.median(runs)
            print(f"trickle CPU      : {cpu:9.1f} us per call (200 calls/s; goal <= 60 us; median of "
                  f"{', '.join(f'{r:.1f}' for r in runs)})")
            figures.update(cpu_us_per_trickled_call=round(cpu, 1),
                           cpu_us_per_trickled_call_runs=[round(r, 1) for r in runs])
        if "lag" in parts:
            lag = commit_lag(tmp)
            cpu_lag = commit_lag_cpu_bound(response, tmp)
            print(f"commit lag       : p99 {lag['p99_ms']:.0f} ms, max {lag['max_ms']:.0f} ms under a busy caller "
                  f"({lag['calls_per_s']:,.0f} calls/s over MockTransport; goal < 200 ms)")
            print(f"commit lag       : p99 {cpu_lag['p99_ms']:.0f} ms, max {cpu_lag['max_ms']:.0f} ms under a caller that never "
                  f"releases the GIL ({cpu_lag['calls_per_s']:,.0f} calls/s)")
            figures.update(commit_lag_ms_p99=round(lag["p99_ms"], 1), commit_lag_ms_max=round(lag["max_ms"], 1),
                           busy_calls_per_s=round(lag["calls_per_s"]),
                           commit_lag_cpu_bound_ms_p99=round(cpu_lag["p99_ms"], 1),
                           commit_lag_cpu_bound_ms_max=round(cpu_lag["max_ms"], 1))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
