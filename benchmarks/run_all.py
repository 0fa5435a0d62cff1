"""Every benchmark in one go, for the README's "Benchmarks" table: the machine, the date, one row per script.

    python benchmarks/run_all.py                 # every script at its default size (tens of minutes)
    python benchmarks/run_all.py --quick         # small sizes: a smoke run that checks each script still works
    python benchmarks/run_all.py overhead otlp   # only these (names as in --list)
    python benchmarks/run_all.py --set "boards=--calls 10000000 --rounds 1" boards
    python benchmarks/run_all.py --list

Each script runs in its own process group with a timeout (the whole group is killed on expiry); its last
stdout line that parses as a JSON object is its figures.  A script that fails, times out or prints no JSON
line is a row saying so (with its last line of output), never a crash of this runner.  The figures column
lists every key of the JSON line (nested objects as dotted keys), so a script that renames or adds keys
still shows them all; HEADLINE picks the keys shown first when present.  Markdown goes to stdout (progress
to stderr); `--json-out FILE` also keeps everything raw.  The machine is shared: the load average is taken
at the start, at the end and before each script — ratios within one script's run are the figures to trust.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@dataclass
class Bench:
    name: str                       # the row's name and the filter on the command line
    script: str
    args: list[str] = field(default_factory=list)          # the default (full) run
    quick: list[str] = field(default_factory=list)         # --quick
    timeout_s: float = 900
    headline: tuple[str, ...] = ()


# Order: cheap and independent first, so a late failure still leaves most of the table.  Sizes for --quick
# are small enough to check a script end to end in a minute or two; their figures are not the README's.
BENCHES = [
    Bench("overhead", "overhead.py", quick=["--calls", "300"], timeout_s=900,
          headline=("added_us_median", "wrapper_us", "writer_records_per_s", "writer_vs_bare",
                    "cpu_us_per_trickled_call", "commit_lag_ms_p99")),
    Bench("otlp", "otlp.py", quick=["--calls", "200"], timeout_s=600,
          headline=("added_live_us", "added_closed_port_us", "exit_stuck_collector_s")),
    Bench("startup", "startup.py", quick=["--rounds", "1"], timeout_s=900,
          headline=("import_monitor_s", "cli_streams_s", "paint_empty_s", "paint_demo_s", "paint_demo_seeded_s")),
    Bench("budgets", "budgets.py", quick=["--calls", "20000"], timeout_s=600,
          headline=("calls", "stream.live_ms", "model.live_ms", "attribute.live_ms")),
    Bench("conversations", "conversations.py", quick=["--calls", "50000"], timeout_s=1200,
          headline=("calls", "migration_s", "insert_slowdown")),
    Bench("gui_stall", "gui_stall.py", quick=["--calls", "30", "--history", "2000"], timeout_s=900,
          headline=("worst.experiment_longest_stall_ms", "worst.compare_longest_stall_ms", "every_run_under_target",
                    "experiment_longest_stall_ms", "experiment_idle_longest_stall_ms", "longest_stall_ms",
                    "idle_longest_stall_ms", "compare_longest_stall_ms", "compare_idle_longest_stall_ms")),
    Bench("gui_stall_matrix", "gui_stall.py", args=["--experiment-matrix"], quick=["--experiment-matrix"],
          timeout_s=900, headline=("worst.longest_stall_ms", "every_run_under_target", "longest_stall_ms",
                                   "idle_longest_stall_ms", "stall_vs_idle",
                                   "longest_page_task_ms")),
    Bench("boards", "boards.py", quick=["--calls", "100000", "--rounds", "1", "--workdir", "{tmp}/boards"],
          timeout_s=3600, headline=("calls", "first_open_s", "compute_ms", "tick_ms", "rss_mb", "numpy_ms")),
    Bench("app_memory", "app_memory.py", quick=["--calls", "100000"], timeout_s=1800,
          headline=("calls", "rss_mb", "drawn_s", "tick_on_screen_ms_median")),
    Bench("board_import", "board_import.py", quick=["--mb", "10"], timeout_s=1800,
          headline=("file_mb", "records", "this.seconds", "this.peak_rss_mb", "this.writer_max_wait_s")),
    Bench("store", "store.py", quick=["--procs", "2", "--calls", "500", "--board-calls", "20000"], timeout_s=2400,
          headline=("sqlite_writes_per_s", "postgres_writes_per_s", "postgres_vs_sqlite_writes",
                    "postgres_vs_sqlite_board", "postgres_vs_sqlite_board_again")),
]


def discovered() -> list[Bench]:
    """The table above, plus any newer script in benchmarks/ (run with no arguments)."""
    known = {b.script for b in BENCHES} | {Path(__file__).name}
    extra = [Bench(p.stem, p.name) for p in sorted(HERE.glob("*.py"))
             if p.name not in known and "__main__" in p.read_text(errors="replace")]
    return [b for b in BENCHES if (HERE / b.script).exists()] + extra


# -- the machine --------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev + (" + uncommitted changes" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    return {"cpu": cpu_model(), "cores": cpus, "usable_cores": usable, "ram_gb": ram_gb(),
            "python": platform.python_version(), "os": platform.platform(terse=True), "revision": git_revision()}


# -- running one script -------------------------------------------------------------------------------------
def last_json_object(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(bench: Bench, args: list[str], timeout_s: float, env: dict, shown_args: list[str] | None = None) -> dict:
    cmd = [sys.executable, str(HERE / bench.script), *args]
    shown = " ".join(["python", f"benchmarks/{bench.script}", *map(shlex.quote, args if shown_args is None else shown_args)])
    row = {"name": bench.name, "command": shown,
           "load_before": load(), "status": "ok", "figures": None, "seconds": None, "last_line": ""}
    started = time.monotonic()
    # its own process group: a timeout takes its children (simulators, app windows, postgres) with it
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        out, err = _kill(proc)
        row["status"] = f"timed out after {timeout_s:.0f} s"
    except KeyboardInterrupt:
        _kill(proc)
        raise
    row["seconds"] = round(time.monotonic() - started, 1)
    row["figures"] = last_json_object(out or "")
    if row["status"] == "ok" and proc.returncode != 0:
        row["status"] = f"failed (exit {proc.returncode})"
    if row["status"] == "ok" and row["figures"] is None:
        row["status"] = "no JSON line"
    if row["status"] == "no JSON line":                 # what it printed last says what it measured
        row["last_line"] = last_line(out or "")
    elif row["status"] != "ok":                         # the error, usually
        row["last_line"] = last_line(err or "") or last_line(out or "")
    row["stderr_tail"] = "\n".join((err or "").splitlines()[-15:])
    return row


def _kill(proc: subprocess.Popen) -> tuple[str, str]:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            return proc.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return "", ""


# -- the table ----------------------------------------------------------------------------------------------
def flatten(value: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


def fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 10:
            return f"{value:.1f}"
        if magnitude >= 0.01 or magnitude == 0:
            return f"{value:.3g}"
        return f"{value:.2g}"
    if isinstance(value, str):
        return value
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, list) and len(text) > 120:      # per-round details: in --json-out, not in a table cell
        return f"[{len(value)} items]"
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def figures_cells(row: dict, headline: tuple[str, ...]) -> tuple[str, str]:
    if row["figures"] is None:
        return (f"_{cell(row['last_line'][:200])}_" if row["last_line"] else "—"), ""
    flat = flatten(row["figures"])
    head = [k for k in headline if k in flat]
    rest = [k for k in flat if k not in head]
    return (", ".join(f"{k} **{fmt(flat[k])}**" for k in head) or "—",
            ", ".join(f"{k} {fmt(flat[k])}" for k in rest))


def loads(values: list[float] | None) -> str:
    return " / ".join(f"{v:.1f}" for v in values) if values else "unknown"


def markdown(info: dict, rows: list[dict], benches: dict[str, Bench]) -> str:
    ram = f"{info['ram_gb']:.1f} GB RAM" if info["ram_gb"] else "RAM unknown"
    cores = f"{info['cores']} cores" + (f" ({info['usable_cores']} usable)" if info["usable_cores"] != info["cores"] else "")
    lines = [
        f"Measured {info['date']} with `python benchmarks/run_all.py{' --quick' if info['quick'] else ''}` "
        f"at {info['revision']}: {info['cpu']}, {cores}, {ram}, Python {info['python']}, {info['os']}; "
        f"load average (1/5/15 min) {loads(info['load_start'])} at the start, {loads(info['load_end'])} at the end "
        f"({info['seconds']:.0f} s in all).",
        "",
        "| script | status | s | load (1 min) | headline figures | other figures |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        head, rest = figures_cells(row, benches[row["name"]].headline)
        status = row["status"] if row["status"] == "ok" else f"**{row['status']}**"
        if row["status"] != "ok" and row["figures"] is None and row["last_line"]:
            status += f": {row['last_line'][:160]}"
            head = "—"
        load1 = fmt(row["load_before"][0]) if row.get("load_before") else "?"
        lines.append(f"| `{cell(row['command'][len('python benchmarks/'):])}` | {cell(status)} | "
                     f"{fmt(row['seconds']) if row['seconds'] is not None else '—'} | {load1} | {head} | {cell(rest)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="run only these (see --list)")
    ap.add_argument("--quick", action="store_true", help="small sizes: checks every script works, not the README's figures")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=ARGS",
                    help='arguments for one script instead of its defaults, e.g. "boards=--calls 10000000 --rounds 1"')
    ap.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every script's timeout")
    ap.add_argument("--json-out", type=Path, help="also write the machine and every row (all figures) here")
    ap.add_argument("--list", action="store_true", help="list the scripts, their arguments and timeouts")
    args = ap.parse_args(argv)

    benches = discovered()
    by_name = {b.name: b for b in benches}
    unknown = [n for n in args.names if n not in by_name]
    overrides = {}
    for item in args.set:
        name, sep, rest = item.partition("=")
        if not sep or name not in by_name:
            unknown.append(name)
        overrides[name] = shlex.split(rest)
    if unknown:
        print(f"run_all: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(by_name)}", file=sys.stderr)
        return 2
    chosen = [b for b in benches if not args.names or b.name in args.names]
    if args.list:
        for b in chosen:
            print(f"{b.name:18} {b.script:18} full: {shlex.join(b.args) or '(defaults)':40} "
                  f"quick: {shlex.join(b.quick) or '(defaults)':50} timeout {b.timeout_s:.0f} s")
        return 0

    import tempfile
    with tempfile.TemporaryDirectory(prefix="openai-monitor-run-all-") as tmp:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        cache = ROOT.parent / "shared" / "tiktoken-cache"
        if cache.is_dir():
            env.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
        info = {**machine(), "quick": args.quick,
                "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load()}
        started = time.monotonic()
        rows: list[dict] = []
        try:
            for b in chosen:
                shown_args = overrides.get(b.name, b.quick if args.quick else b.args)
                script_args = [a.replace("{tmp}", tmp) for a in shown_args]
                timeout_s = (min(b.timeout_s, 600) if args.quick else b.timeout_s) * args.timeout_scale
                print(f"run_all: {b.name} ({shlex.join(script_args) or 'defaults'}, timeout {timeout_s:.0f} s) ...",
                      file=sys.stderr, flush=True)
                row = run(b, script_args, timeout_s, env, shown_args)
                rows.append(row)
                print(f"run_all: {b.name}: {row['status']} in {row['seconds']} s", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            print("run_all: interrupted; the table holds the scripts that finished", file=sys.stderr)
        info["load_end"] = load()
        info["seconds"] = time.monotonic() - started
    print(markdown(info, rows, by_name))
    if args.json_out:
        args.json_out.write_text(json.dumps({"machine": info, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
