"""Review finding on desktop/gc_on_gui_thread.py: gc.freeze() moves every tracked object to the permanent
generation — garbage too.  A reference cycle that became garbage after it reached the old generation (a closed
window's widgets and closures, a swapped-out store's context) is freed only by a gen-2 collection; if a freeze
(after ~10 new imports: a page's first build, the SDK's warm-up) came first, it was never freed; a freeze now
collects first."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import gc, json, time, weakref
    from PySide6.QtWidgets import QApplication
    from desktop.gc_on_gui_thread import GuiThreadCollector

    app = QApplication([])
    collector = GuiThreadCollector(app)

    class Window:                         # stands for a closed window: its parts refer back to it
        pass

    window = Window()
    window.parts = [Window() for _ in range(100)]
    for part in window.parts:
        part.owner = window
    gc.collect(); gc.collect()           # long-lived by now: in the old generation
    gone = weakref.ref(window)
    del window, part                     # closed: garbage, in a cycle, in the old generation

    import email.mime.multipart, http.cookiejar, xml.dom.minidom, logging.handlers, unittest.mock  # many modules
    junk = [[] for _ in range(2_000)]     # allocations, so the next poll looks (and freezes)
    deadline = time.monotonic() + 20
    while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    frozen = gc.get_freeze_count() > 0
    gc.collect()                          # the fullest collection there is
    print(json.dumps({"frozen": frozen, "freed": gone() is None}))
""")


def test_a_freeze_does_not_keep_garbage_alive():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frozen"] is True
    assert result["freed"] is True
