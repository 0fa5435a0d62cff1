"""Importing a big board file: peak memory, and how long other writers of the store are kept waiting.

    python benchmarks/board_import.py [--mb 199] [--baseline DIR]

Writes a legal board file of about --mb MB (a real export, its records repeated with fresh timestamps),
imports it into a fresh store in a child process (peak RSS = the child's VmHWM) while a second process
writes one small transaction every 20 ms to the same store, as a monitored program does: the longest
wait of that writer is how long the import held the write lock.  --baseline DIR (a source tree, e.g.
`git archive <commit> | tar -x -C DIR`) runs the same import with that code too and prints the ratios.
Ends with one JSON line."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import sys, time
    from monitor.store import Store
    from monitor.boards import import_board
    store = Store(sys.argv[2])
    t = time.perf_counter()
    import_board(store, sys.argv[1])
    took = time.perf_counter() - t
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
    print(took, int(hwm) * 1024)
""")

PROBE = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS probe (t REAL)")
    worst = 0.0
    stop = sys.argv[2]
    import os
    while not os.path.exists(stop):
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE"); conn.execute("INSERT INTO probe VALUES (?)", (t,)); conn.execute("COMMIT")
        worst = max(worst, time.perf_counter() - t)
        time.sleep(0.02)
    print(worst)
""")


def make_file(path: Path, mb: float) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from monitor.boards import export_board, new_template_board
    from monitor.store import Store
    from test_boards_compute import T0, make_records

    with tempfile.TemporaryDirectory() as tmp:
        st = Store(Path(tmp) / "src.db")
        st.insert_records(make_records(500, stream="big", span=86400.0))
        new_template_board(st, "big", "Big")
        export_board(st, "Big", Path(tmp) / "small.json", now=T0 + 86400)
        st.close()
        doc = json.loads((Path(tmp) / "small.json").read_text())
    records = doc.pop("records")
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    per = sum(len(x) + 2 for x in lines) / len(lines)
    n = min(int(mb * 2**20 / per), 1_000_000)
    doc["stream"]["records"] = n
    head = json.dumps(doc, ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head[:-1] + ', "records": [')
        for i in range(n):
            r = dict(records[i % len(records)])
            r["id"] = i + 1
            r["timestamp"] = T0 + i * 0.05
            f.write(("\n" if i == 0 else ",\n") + json.dumps(r, ensure_ascii=False))
        f.write("\n]}\n")
    return n


def run_import(code_dir: Path, board_file: Path, tmp: Path) -> dict:
    db = tmp / f"import-{code_dir.name}.db"
    for p in tmp.glob(db.name + "*"):
        p.unlink()
    # cwd=tmp: `python -c` puts the working directory first on sys.path, before PYTHONPATH
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    subprocess.run([sys.executable, "-c", "import sys; from monitor.store import Store; Store(sys.argv[1])",
                    str(db)], env=env, cwd=tmp, check=True)
    stop = tmp / "stop"
    stop.unlink(missing_ok=True)
    probe = subprocess.Popen([sys.executable, "-c", PROBE, str(db), str(stop)], stdout=subprocess.PIPE, text=True,
                             cwd=tmp)
    child = subprocess.run([sys.executable, "-c", CHILD, str(board_file), str(db)], capture_output=True, text=True,
                           env=env, cwd=tmp)
    stop.touch()
    worst_wait = float(probe.communicate(timeout=120)[0])
    if child.returncode != 0:
        raise SystemExit(child.stderr[-2000:])
    took, rss = child.stdout.split()
    return {"seconds": round(float(took), 2), "peak_rss_mb": round(int(rss) / 2**20), "writer_max_wait_s": round(worst_wait, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=199.0)
    ap.add_argument("--baseline", type=Path, help="source tree of the code to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        board_file = tmp / "big.board.json"
        n = make_file(board_file, args.mb)
        size_mb = board_file.stat().st_size / 2**20
        print(f"board file: {size_mb:.0f} MB, {n:,} records")
        result = {"file_mb": round(size_mb), "records": n, "this": run_import(ROOT, board_file, tmp)}
        print(f"this tree: {result['this']}")
        if args.baseline:
            result["baseline"] = run_import(args.baseline.resolve(), board_file, tmp)
            print(f"baseline:  {result['baseline']}")
            b, t = result["baseline"], result["this"]
            result["rss_ratio"] = round(b["peak_rss_mb"] / max(t["peak_rss_mb"], 1), 1)
            result["lock_ratio"] = round(b["writer_max_wait_s"] / max(t["writer_max_wait_s"], 1e-3), 1)
            print(f"peak RSS {b['peak_rss_mb']} MB -> {t['peak_rss_mb']} MB ({result['rss_ratio']}x less); "
                  f"longest writer wait {b['writer_max_wait_s']} s -> {t['writer_max_wait_s']} s "
                  f"({result['lock_ratio']}x shorter); import time {b['seconds']} s -> {t['seconds']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
