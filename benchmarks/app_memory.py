"""Resident memory of the whole app (Qt, pyqtgraph, the board page) holding the template board over a
large stream — the issue's "the app holding that board stays under 400 MB".

    python benchmarks/app_memory.py [--calls 1000000] [--reopen] [--unsealed]

Generates the stream like benchmarks/boards.py and seals its column chunks as the writers do when calls
land (--unsealed: a store whose chunks were never written, e.g. by an older version), opens the main window
offscreen on the Boards page, waits for the board to draw, lands 100 calls from another connection a few
times (live ticks), then prints RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import boards as board_bench  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.context import AppContext  # noqa: E402
from desktop.main_window import MainWindow  # noqa: E402
from monitor.boards import new_template_board  # noqa: E402
from monitor.profiles import ProfileStore  # noqa: E402
from monitor.store import Store  # noqa: E402


def wait(app: QApplication, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--reopen", action="store_true", help="measure a store whose board was opened before")
    ap.add_argument("--unsealed", action="store_true", help="no column chunks (a store written by an older version)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "big.db"
        # generate in a child process, so this process's RSS is the app's alone
        import subprocess
        subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = sys.argv[3:]; import boards; "
                        "boards.generate(__import__('pathlib').Path(sys.argv[1]), int(sys.argv[2]))",
                        str(db), str(args.calls), str(ROOT / "benchmarks"), str(ROOT)], check=True)
        if not args.unsealed:   # what the writers leave behind as calls land (monitor/boards/chunks.py)
            subprocess.run([sys.executable, "-c", "import sys, sqlite3; sys.path[:0] = [sys.argv[2]]; "
                            "from monitor.boards.chunks import seal_stream; c = sqlite3.connect(sys.argv[1]); "
                            "seal_stream(c, c.execute('SELECT id FROM streams').fetchone()[0], max_chunks=10**9)",
                            str(db), str(ROOT)], check=True)
        spec = new_template_board(Store(db), board_bench.STREAM)
        if args.reopen:     # a previous session opened this board already (its column chunks exist)
            subprocess.run([sys.executable, "-c", "import sys; sys.path[:0] = [sys.argv[3]]; "
                            "from monitor.store import Store; from monitor.boards import compute_board, get_board; "
                            "s = Store(sys.argv[1]); compute_board(s, get_board(s, sys.argv[2]))",
                            str(db), spec.name, str(ROOT)], check=True)
        print(f"RSS before the window: {board_bench.rss_mb()[0]:.0f} MB")
        if os.environ.get("APP_MEMORY_TRACE"):
            import tracemalloc
            tracemalloc.start()
        app = QApplication.instance() or QApplication([])
        ctx = AppContext(db, profiles=ProfileStore(tmp / "profiles.json"),
                         settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat))
        ctx.start_watching()
        window = MainWindow(ctx, stream=board_bench.STREAM)
        window.resize(1600, 1000)
        window.show()
        window.show_page("boards")
        page = window.page("boards")
        t0 = time.monotonic()
        drawn = wait(app, lambda: page.data is not None and page.data.summary.requests >= args.calls, 120)
        drawn_s = time.monotonic() - t0
        which = "reopened store" if args.reopen else "first open of this store ever"
        which += ", no column chunks" if args.unsealed else ""
        print(f"board drawn: {drawn} after {time.monotonic() - t0:.1f} s ({which})")
        conn = sqlite3.connect(db)
        sid = conn.execute("SELECT id FROM streams WHERE name = ?", (board_bench.STREAM,)).fetchone()[0]
        import random
        rng = random.Random(3)
        ticks_ms = []
        for _ in range(5):
            target = page.data.summary.requests + 100
            board_bench.insert_tick(conn, sid, 100, rng)
            t0 = time.monotonic()
            ok = wait(app, lambda: page.data.summary.requests >= target, 10)
            ticks_ms.append((time.monotonic() - t0) * 1000)
            print(f"live tick of 100 calls on screen: {ok} in {ticks_ms[-1]:.0f} ms")
        if os.environ.get("APP_MEMORY_TRACE"):
            import tracemalloc
            for stat in tracemalloc.take_snapshot().statistics("lineno")[:12]:
                print(stat)
        rss, peak = board_bench.rss_mb()
        print(f"app RSS holding the board over {args.calls:,} calls: {rss:.0f} MB (peak {peak:.0f} MB; target < 400 MB)")
        print(json.dumps({"calls": args.calls, "rss_mb": round(rss), "peak_mb": round(peak), "drawn": drawn,
                          "drawn_s": round(drawn_s, 2), "tick_on_screen_ms_median": round(sorted(ticks_ms)[2]),
                          "sealed": not args.unsealed, "reopen": bool(args.reopen)}))
        window.close()
        ctx.shutdown()


if __name__ == "__main__":
    main()
