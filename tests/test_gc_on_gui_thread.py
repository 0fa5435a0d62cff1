"""desktop/gc_on_gui_thread.py: collections run on the GUI thread only, often enough that the young generation
stays small, and what imports made is frozen out of later collections.  In a child process: the collector
switches automatic collection off and freezes objects, which must not leak into the test session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import gc, json, sys, threading, time
    from PySide6.QtWidgets import QApplication
    from desktop.gc_on_gui_thread import POLL_MS, GuiThreadCollector

    app = QApplication([])
    gui = threading.get_ident()
    threads = set()
    gc.callbacks.append(lambda phase, info: threads.add(threading.get_ident()) if phase == "start" else None)
    collector = GuiThreadCollector(app)

    def until(condition, timeout=20.0):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.002)
        return condition()

    class Node:
        pass

    def make_garbage(n):                 # reference cycles: only a collection frees them
        for _ in range(n):
            a, b = Node(), Node()
            a.other, b.other = b, a

    make_garbage(1_000)                  # the first poll that finds something to collect freezes the startup heap
    frozen_at_start = until(lambda: gc.get_freeze_count() > 0)

    worker = threading.Thread(target=make_garbage, args=(200_000,))
    worker.start()
    worker.join()
    collected_young = until(lambda: gc.get_count()[0] <= gc.get_threshold()[0])

    frozen_before = gc.get_freeze_count()
    import email.mime.multipart, http.cookiejar, xml.dom.minidom, logging.handlers, unittest.mock  # many modules
    make_garbage(1_000)                  # an allocation, so the next poll looks
    frozen_after_imports = until(lambda: gc.get_freeze_count() > frozen_before)
    print(json.dumps({"frozen_at_start": frozen_at_start, "collected_young": collected_young,
                      "frozen_after_imports": frozen_after_imports, "gc_enabled": gc.isenabled(),
                      "collected_off_gui_thread": sorted(t for t in threads if t != gui) != [],
                      "poll_interval_ms": collector.timer.interval(), "poll_ms": POLL_MS}))
""")


def test_collects_young_garbage_on_the_gui_thread_and_freezes_imports():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["gc_enabled"] is False                  # never a collection started by a worker thread
    assert result["collected_off_gui_thread"] is False
    assert result["frozen_at_start"] is True
    assert result["collected_young"] is True
    assert result["frozen_after_imports"] is True
