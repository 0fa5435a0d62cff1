"""Does the main window keep answering while an experiment's calls land?  (issue 3, "Never frozen")

    python benchmarks/gui_stall.py [--calls 100] [--concurrency 8] [--latency-ms 50] [--history 20000]

The real main window (offscreen) shows the Requests page of the stream being written, with the
sidebar's live counts and the status bar's "today" figures, over a store that already holds
`--history` calls.  A thread pool makes `--calls` experiment-like calls (system prompt x topic x
repeat, attributes on every call) through `ctx.client(...)` — the real openai client wrapped by the
monitor library — against the built-in simulator with ~50 ms latency.  Meanwhile a 5 ms QTimer
records the gaps between its ticks; a gap longer than the interval is time the event loop could not
answer.  Prints the longest stall (target < 100 ms), the 99th-percentile gap, and how soon the last
call showed up in the table.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
_cache = ROOT.parent / "shared" / "tiktoken-cache"
if _cache.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_cache))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = Path(tempfile.mkdtemp(prefix="gui-stall-"))
os.environ["OPENAI_MONITOR_CONFIG_DIR"] = str(_tmp / "config")       # never the user's settings

from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app_helpers import insert, make_record  # noqa: E402
from desktop.app import application  # noqa: E402
from desktop.context import AppContext  # noqa: E402
from desktop.main_window import MainWindow  # noqa: E402
from monitor.profiles import Profile, ProfileStore  # noqa: E402
from monitor.simulator import Simulator, SimulatorConfig  # noqa: E402

STREAM = "bench/experiment"
SYSTEM_PROMPTS = ("You are a terse assistant.", "You are a helpful teacher who explains step by step.")
TOPICS = ("tides", "compilers", "sourdough", "black holes", "tax brackets")


def experiment_calls(n: int) -> list[dict]:
    grid = itertools.cycle(itertools.product(SYSTEM_PROMPTS, TOPICS))
    return [{"system": s, "topic": t, "repeat": i} for i, (s, t) in zip(range(n), grid)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--history", type=int, default=20_000, help="calls already in the stream")
    parser.add_argument("--tick-ms", type=int, default=5)
    args = parser.parse_args()

    app: QApplication = application()
    sim = Simulator(SimulatorConfig(latency_ms=args.latency_ms, ttft_ms=args.latency_ms / 2, jitter=0.3)).start()
    db = _tmp / "bench.db"
    insert(db, [make_record(STREAM, i, ts=time.time() - 3600 + i * 0.1) for i in range(args.history)])
    profiles = ProfileStore(_tmp / "profiles.json")
    profiles.save(Profile("sim", base_url=sim.base_url, kind="demo"))
    ctx = AppContext(db, profiles=profiles, simulator=sim)
    ctx.set_current_profile("sim")
    window = MainWindow(ctx, stream=STREAM)
    window.show_page("requests")
    window.resize(1360, 860)
    window.show()

    gaps: list[float] = []
    clock = QElapsedTimer()
    ticker = QTimer(interval=args.tick_ms, timerType=Qt.PreciseTimer)

    def tick() -> None:
        gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    ticker.timeout.connect(tick)
    expected = args.history + args.calls
    done = threading.Event()
    timing: dict[str, float] = {}

    def run_experiment() -> None:
        client = ctx.client("sim", STREAM)
        monitor = ctx.monitor(STREAM)

        def one(call: dict) -> None:
            client.chat.completions.create(
                model="gpt-4o-mini", max_tokens=60,
                messages=[{"role": "system", "content": call["system"]},
                          {"role": "user", "content": f"Explain {call['topic']} in two sentences."}],
                monitor_attributes={"experiment": "bench", "system_prompt": call["system"],
                                    "topic": call["topic"], "repeat": call["repeat"]})

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, experiment_calls(args.calls)))
        monitor.flush()
        timing["calls_s"] = time.perf_counter() - started
        timing["landed"] = time.perf_counter()
        done.set()

    def start() -> None:
        clock.start()
        ticker.start()
        threading.Thread(target=run_experiment, daemon=True).start()

    def check() -> None:
        rows_total = window.requests_page.model.total
        if done.is_set() and "shown" not in timing and rows_total >= expected \
                and window.sidebar.stream_count(STREAM) == expected:
            timing["shown"] = time.perf_counter()
            QTimer.singleShot(1000, app.quit)                  # keep measuring a moment after the last update

    QTimer.singleShot(1500, start)                             # after the first page and counts have loaded
    checker = QTimer(interval=20)
    checker.timeout.connect(check)
    checker.start()
    QTimer.singleShot(120_000, app.quit)                       # never hang a benchmark
    app.exec()
    ticker.stop()
    window.close()
    ctx.shutdown()

    if "shown" not in timing:
        print("the calls did not all reach the window within 120 s", file=sys.stderr)
        return 1
    stalls = sorted(g - args.tick_ms for g in gaps)
    p99 = stalls[int(len(stalls) * 0.99)]
    print(f"{args.calls} calls, concurrency {args.concurrency}, simulator latency ~{args.latency_ms:.0f} ms, "
          f"{args.history:,} calls already in the stream")
    print(f"calls took {timing['calls_s']:.2f} s; the last one was in the table and the sidebar "
          f"{(timing['shown'] - timing['landed']) * 1000:.0f} ms after it was committed")
    print(f"event loop: {len(gaps)} ticks of {args.tick_ms} ms; median gap {statistics.median(gaps):.1f} ms, "
          f"p99 stall {p99:.1f} ms")
    print(f"longest event-loop stall: {stalls[-1]:.1f} ms (target < 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
