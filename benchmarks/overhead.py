"""How much a monitored call costs over a bare one, and how fast the writer stores records.

    python benchmarks/overhead.py [--calls 3000]

1. Added latency: the same chat request through a bare `openai.OpenAI` and through a monitored one,
   interleaved (bare, monitored, bare, ...) against the built-in simulator (zero artificial latency),
   so drift on the machine hits both alike.  Reports the medians and their difference in microseconds,
   plus the wrapper's own call-path time measured around a no-network stand-in of `create`.
2. Writer throughput: records/s the background writer commits (finalize + JSON + SQLite), fed with
   real SDK response objects captured from the simulator.
"""
from __future__ import annotations

import argparse
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
from monitor.writer import RecordWriter  # noqa: E402

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


def writer_throughput(sim: Simulator, db: Path, n: int = 100_000) -> float:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)
    response = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    writer = RecordWriter(db)
    calls = []
    now = time.time()
    for i in range(n):
        call = PendingCall("bench/writer", now + i * 1e-3, "chat.completions",
                           {"model": "gpt-4o-mini", "messages": MSG}, {"i": i})
        call.latency_ms, call.response = 12.5, response
        calls.append(call)
    t0 = time.perf_counter()
    for call in calls:
        writer.submit(call)
    writer.flush(timeout=600)
    elapsed = time.perf_counter() - t0
    writer.close()
    assert writer.written == n, (writer.written, writer.last_error)
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Simulator() as sim:
        tmp = Path(tmp)
        lat = added_latency(sim, tmp / "a.db", args.calls)
        own = wrapper_own_cost(sim, tmp / "b.db")
        rate = writer_throughput(sim, tmp / "c.db")
    print(f"interleaved calls: {lat['calls_each']} bare + {lat['calls_each']} monitored, {lat['logged']} logged")
    print(f"median bare      : {lat['median_bare_us']:9.1f} us")
    print(f"median monitored : {lat['median_monitored_us']:9.1f} us")
    print(f"added per call   : {lat['added_us']:9.1f} us   (target <= 30 us; "
          f"ratio monitored/bare = {lat['median_monitored_us'] / lat['median_bare_us']:.3f})")
    print(f"wrapper call path: {own:9.2f} us   (stand-in create(), no network)")
    print(f"writer throughput: {rate:9,.0f} records/s   (target >= 50,000/s)")


if __name__ == "__main__":
    main()
