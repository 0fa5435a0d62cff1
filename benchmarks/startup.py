"""How fast do the library, the CLI and the app start?  (issue 10, "A window in a second")

    python benchmarks/startup.py [--rounds 3] [--against DIR]

Each figure is a fresh process, so nothing is cached in the interpreter; rounds are interleaved so a busy
machine slows every scenario alike:
- `import monitor`: the import's own time, and which heavy packages it pulled in (printed, not asserted);
- `openai-monitor streams` on a small store: wall time from spawn to exit, and the heavy packages it loaded;
- launch -> first painted window: `openai-monitor --db <new file>` (an empty store), `openai-monitor --demo`
  on a fresh demo store, and `--demo` on a demo store that already holds 300 calls.  The app is told by
  OPENAI_MONITOR_EXIT_AFTER_PAINT=1 to print the moments of its first paint (the window saying "Opening
  store…") and of its first page's first paint, then quit; the figures are those moments minus the moment
  the process was spawned (QT_QPA_PLATFORM=offscreen, temp config and data dirs).
Targets: launch -> paint <= 1.0 s on an empty store, <= 1.5 s with --demo.  `--against DIR` runs the same
scenarios, interleaved in the same rounds, on another checkout (e.g. `git worktree add /tmp/before HEAD~3`
plus this script's exit-after-paint hook in its desktop/app.py) and prints the ratios.  Ends with one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HEAVY = ("openai", "httpx", "PySide6", "pyqtgraph", "superqt", "numpy", "pydantic", "tiktoken", "keyring")
DEMO_HISTORY = 300

IMPORT_PROBE = f"""
import json, sys, time
t = time.perf_counter()
import monitor
s = time.perf_counter() - t
print(json.dumps({{"s": s, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
# The console script's own body, plus a report of what the process had imported when it ended.
CLI_PROBE = f"""
import atexit, json, sys
atexit.register(lambda: print("HEAVY " + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr))
from desktop.launch import main
sys.exit(main())
"""


def child_env(tmp: Path, root: Path = ROOT) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               OPENAI_MONITOR_CONFIG_DIR=str(tmp / "config"), XDG_CONFIG_HOME=str(tmp / "xdg-config"),
               XDG_DATA_HOME=str(tmp / "xdg-data"))
    env.pop("OPENAI_MONITOR_DB", None)
    tmp.mkdir(parents=True, exist_ok=True)          # also the children's cwd: `python -c` puts cwd first on sys.path
    cache = ROOT.parent / "shared" / "tiktoken-cache"
    if cache.is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    return env


def time_import(tmp: Path, root: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=child_env(tmp, root), cwd=tmp, capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_cli_streams(tmp: Path, root: Path, db: Path) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CLI_PROBE, "streams", "--db", str(db)], env=child_env(tmp, root), cwd=tmp,
                         capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"openai-monitor streams failed: {out.stderr.strip()}")
    heavy = next(json.loads(line[6:]) for line in out.stderr.splitlines() if line.startswith("HEAVY "))
    return {"s": wall, "heavy": heavy}


def time_first_paint(tmp: Path, root: Path, args: list[str]) -> dict:
    env = child_env(tmp, root)
    env["OPENAI_MONITOR_EXIT_AFTER_PAINT"] = "1"
    spawned = time.time()
    proc = subprocess.Popen([sys.executable, "-c", CLI_PROBE, *args], env=env, cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    report = None
    try:
        for line in proc.stdout:
            if line.startswith("{") and "first_paint" in line:
                report = json.loads(line)
                break
        proc.wait(timeout=60)           # the app closes its window right after the first paint
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if report is None:
        raise RuntimeError(f"no first paint from openai-monitor {' '.join(args)}: {proc.stderr.read()[-2000:]}")
    # An app that builds its page before the first paint (an older checkout) reports no page_painted.
    page = report.get("page_painted", report["first_paint"])
    return {"s": report["first_paint"] - spawned, "page_s": page - spawned, "process_age_s": report.get("process_age_s"),
            "heavy": report.get("loaded")}     # None: a checkout whose app does not report it


def seeded_demo_store(path: Path) -> None:
    """A demo store holding DEMO_HISTORY calls over the last hours, as a second `--demo` launch finds it."""
    from monitor.record import Record
    from monitor.store import Store

    now = time.time()
    records = [Record(id=None, stream="demo/openai_logs", timestamp=now - 4 * 3600 + i * 40, latency_ms=500.0 + i,
                      ttft_ms=None, api="chat.completions", model="gpt-4o-mini", response_model="gpt-4o-mini",
                      status="success", error=None, prompt_tokens=30, completion_tokens=40, total_tokens=70,
                      cached_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=0.00003, streamed=False,
                      request={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {i}"}]},
                      output=f"answer {i}", attributes={"feature": "chat", "user": f"u{i % 7}"})
               for i in range(DEMO_HISTORY)]
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    try:
        store.insert_records(records)
    finally:
        store.close()


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})"


def one_round(root: Path, tmp: Path, small: Path) -> dict[str, dict]:
    seeded = tmp / "seeded"
    seeded_demo_store(seeded / "xdg-data" / "openai-monitor" / "demo.db")
    return {"import": time_import(tmp, root), "cli": time_cli_streams(tmp, root, small),
            "empty": time_first_paint(tmp / "empty", root, ["--db", str(tmp / "empty" / "monitor.db")]),
            "demo": time_first_paint(tmp / "demo", root, ["--demo"]),
            "demo_seeded": time_first_paint(seeded, root, ["--demo"])}


LABELS = {"import": "import monitor", "cli": "openai-monitor streams (wall)",
          "empty": "launch -> first paint, empty store", "demo": "launch -> first paint, --demo (new)",
          "demo_seeded": "launch -> first paint, --demo (300)"}
TARGETS = {"empty": 1.0, "demo": 1.5, "demo_seeded": 1.5}


def report(results: dict[str, list[dict]], title: str) -> dict[str, float]:
    med = {k: statistics.median(x["s"] for x in v) for k, v in results.items()}
    print(title)
    for key, label in LABELS.items():
        values = [x["s"] for x in results[key]]
        target = f"  (target <= {TARGETS[key]} s)" if key in TARGETS else ""
        heavy = results[key][-1].get("heavy")
        heavy = "not reported" if heavy is None else ", ".join(heavy) or "nothing heavy"
        print(f"  {label:<37} {summary(values)}{target}; loaded by then: {heavy}")
        if key in TARGETS:
            print(f"  {'... its first page painted':<37} {summary([x['page_s'] for x in results[key]])}")
            med[f"page_{key}"] = statistics.median(x["page_s"] for x in results[key])
    return med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another checkout to measure in the same rounds")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    small = base / "small.db"
    seeded_demo_store(small)                         # the CLI's store: 300 calls in one stream
    roots = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    results = {name: {k: [] for k in LABELS} for name in roots}
    for name, root in roots.items():                 # warm-up, not counted: byte-compiles a fresh checkout
        one_round(root, base / f"{name}-warmup", small)
    for r in range(args.rounds):
        for name, root in roots.items():             # interleaved: a busy moment slows both alike
            for key, value in one_round(root, base / f"{name}-round{r}", small).items():
                results[name][key].append(value)

    print(f"startup, {args.rounds} rounds, Python {platform.python_version()}, {os.cpu_count()} cores "
          f"(load {os.getloadavg()[0]:.1f})")
    med = report(results["this"], f"this checkout ({ROOT}):")
    figures = {"rounds": args.rounds, "import_monitor_s": round(med["import"], 4),
               "import_monitor_heavy": results["this"]["import"][-1]["heavy"],
               "cli_streams_s": round(med["cli"], 4), "cli_streams_heavy": results["this"]["cli"][-1]["heavy"],
               "paint_empty_s": round(med["empty"], 4), "paint_demo_s": round(med["demo"], 4),
               "paint_demo_seeded_s": round(med["demo_seeded"], 4), "page_empty_s": round(med["page_empty"], 4),
               "page_demo_s": round(med["page_demo"], 4), "page_demo_seeded_s": round(med["page_demo_seeded"], 4)}
    if args.against:
        other = report(results["against"], f"against {roots['against']}:")
        print("ratios (this / against, medians of the same rounds): " +
              ", ".join(f"{k} {med[k] / other[k]:.2f}" for k in med if other.get(k)))
        figures["against"] = {k: round(v, 4) for k, v in other.items()}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
