"""What OpenTelemetry export costs a monitored call: none, a live OTLP receiver, a closed collector port;
and what it adds to a program's exit when the collector is stuck (takes the request, never answers).

    python benchmarks/otlp.py [--calls 1500]

Three monitored clients logging to three streams (each routed differently) take turns on the same chat
request against the built-in simulator, so drift on the machine hits all alike. Prints each median, the
differences to "no export" in microseconds, how many spans the live receiver got, and a JSON line.
The closed port's export thread retries in the background; the call path never sees it.
Exit: a small program (5 calls, flush) ends while its exporter is inside an unanswered request; the time
from its last statement to the process being gone, against the same program without export (the design
gives queued spans at most 2 s; the tests check only that exit never waits for the collector).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_cache = ROOT.parent / "shared" / "tiktoken-cache"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))

import openai  # noqa: E402

from monitor import init_monitor  # noqa: E402
from monitor.simulator import Simulator  # noqa: E402
from tests.otlp_receiver import OtlpReceiver  # noqa: E402

MSG = [{"role": "user", "content": "One short sentence about telemetry."}]


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


EXIT_PROGRAM = textwrap.dedent("""
    import os, sys, time
    import openai
    from monitor import init_monitor
    m = init_monitor("bench/otlp-exit", db_path=sys.argv[1], quiet=True, otlp_endpoint=sys.argv[3] or None)
    c = m.wrap(openai.OpenAI(base_url=sys.argv[2], api_key="sk-bench", max_retries=0))
    for _ in range(5):
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    m.flush()
    while sys.argv[4] and not os.path.exists(sys.argv[4]):     # until the exporter is inside its request
        time.sleep(0.02)
    print(time.monotonic(), flush=True)
""")


def exit_seconds(db: Path, base_url: str, endpoint: str, held: threading.Event | None, flag: Path) -> float:
    """Seconds from the program's last statement until it is gone (CLOCK_MONOTONIC is system-wide)."""
    flag.unlink(missing_ok=True)
    if held is not None:
        threading.Thread(target=lambda: held.wait(120) and flag.touch(), daemon=True).start()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", EXIT_PROGRAM, str(db), base_url, endpoint,
                          str(flag) if held is not None else ""],
                         capture_output=True, text=True, timeout=300, env=env, check=True)
    return time.monotonic() - float(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1500)
    args = ap.parse_args()
    os.environ.pop("OPENAI_MONITOR_OTLP_ENDPOINT", None)
    with tempfile.TemporaryDirectory() as tmp, Simulator() as sim, OtlpReceiver() as rx:
        db = Path(tmp) / "bench.db"
        setups = {"none": None, "live": rx.endpoint, "closed": closed_port()}
        clients = {}
        for name, endpoint in setups.items():
            m = init_monitor(f"bench/otlp-{name}", db_path=db, quiet=True, otlp_endpoint=endpoint)
            clients[name] = (m, m.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-bench", max_retries=0)))
        for _ in range(100):
            for _, c in clients.values():
                c.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        times = {name: [] for name in clients}
        order = list(clients)
        perf = time.perf_counter
        for i in range(args.calls):
            for name in order[i % 3:] + order[:i % 3]:       # rotate who goes first
                t0 = perf()
                clients[name][1].chat.completions.create(model="gpt-4o-mini", messages=MSG)
                times[name].append(perf() - t0)
        for m, _ in clients.values():
            m.flush()
        spans = len(rx.wait_for(args.calls + 100, timeout=10))
        med = {name: statistics.median(t) * 1e6 for name, t in times.items()}
        with OtlpReceiver(hold=True) as stuck:
            exits = {"none": [], "stuck": []}
            for _ in range(3):                                   # interleaved rounds
                exits["none"].append(exit_seconds(Path(tmp) / "exit.db", sim.base_url, "", None, Path(tmp) / "held"))
                exits["stuck"].append(exit_seconds(Path(tmp) / "exit.db", sim.base_url, stuck.endpoint,
                                                   stuck.holding, Path(tmp) / "held"))
            exit_med = {name: statistics.median(t) for name, t in exits.items()}
    figures = {"calls_each": args.calls, "median_none_us": round(med["none"], 1),
               "added_live_us": round(med["live"] - med["none"], 1),
               "added_closed_port_us": round(med["closed"] - med["none"], 1),
               "spans_received_live": spans, "spans_expected_live": args.calls + 100,
               "exit_no_export_s": round(exit_med["none"], 3), "exit_stuck_collector_s": round(exit_med["stuck"], 3)}
    print(f"median call, no export:      {med['none']:8.1f} µs")
    print(f"added, live OTLP receiver:   {figures['added_live_us']:+8.1f} µs   ({spans} of {args.calls + 100} spans received)")
    print(f"added, closed collector port:{figures['added_closed_port_us']:+8.1f} µs")
    print(f"exit, no export:             {exit_med['none']:8.3f} s")
    print(f"exit, stuck collector:       {exit_med['stuck']:8.3f} s   (median of 3; queued spans get ≤ 2 s)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
