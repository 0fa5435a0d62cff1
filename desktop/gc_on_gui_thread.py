"""Python's garbage collector runs on the GUI thread only (Anki's GarbageCollector is the model).

Left automatic, a collection starts in whichever thread happens to allocate — the store writer, a network
or DB lane — and frees the Qt objects in the garbage there: a QWidget/QMenu destroyed off the GUI thread
takes Qt's per-object mutex and then waits for the GIL held by the GUI thread, which may be waiting for that
same mutex (a deadlock seen as a hung test run). So automatic collection is switched off and a timer on the
GUI thread collects, generation by generation, when the counts pass the usual thresholds.

A collection's cost grows with the objects it walks, and on the GUI thread that cost is a stall
(benchmarks/gui_stall.py):
- the young generation holds every object allocated since the last look, by every thread — polled every
  500 ms, the openai SDK's import on a lane (the warm-up after startup) left ~80,000 objects for one
  collection: 16–41 ms; so the timer polls often (every POLL_MS) while objects are being made, and backs
  off to IDLE_POLL_MS when nothing is;
- a full collection walks the whole heap (~175,000 objects once the window is up: 40–160 ms), most of it
  modules, classes and functions that live as long as the process.  After imports (startup, the SDK's
  warm-up, a page's first build) what is alive is frozen (`gc.freeze()`), so no collection walks it again.
  A full collection comes first, so no garbage is frozen (a closed window's cycle would be kept forever).
  Frozen objects are still freed by reference counting; the price is that a reference cycle among them
  that later becomes garbage is never collected — bounded, since a freeze follows only new imports, and
  a store swap (the old window and context become garbage) thaws everything and freezes again after.
"""
from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QTimer

POLL_MS = 20                # while objects are being made: keeps a young collection around a millisecond
IDLE_POLL_MS = 100          # nothing to collect: poll less (an idle app should not wake 50 times a second),
                            # but not so seldom that a burst (an import on a lane) piles up unwalked
FIRST_POLL_MS = 500        # the first look comes after the window's first paint, which it must not delay
FREEZE_AFTER_IMPORTS = 10   # modules imported since the last freeze that make the next poll freeze the heap

_collector: "GuiThreadCollector | None" = None


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, poll_ms: int = POLL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.poll_ms = poll_ms
        self.frozen_modules = 0          # len(sys.modules) at the last freeze
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start(FIRST_POLL_MS)

    def collect_if_due(self) -> None:
        """Collect as automatic collection would have (a young generation often, an old one rarely)."""
        count0, count1, count2 = gc.get_count()
        if count0 <= self.thresholds[0]:
            self.timer.setInterval(min(self.timer.interval() * 2, IDLE_POLL_MS))
            return
        self.timer.setInterval(self.poll_ms)
        gc.collect(0)
        if len(sys.modules) - self.frozen_modules >= FREEZE_AFTER_IMPORTS:
            self.freeze_imports()
        elif count1 > self.thresholds[1]:
            gc.collect(1)
            if count2 > self.thresholds[2]:
                gc.collect(2)

    def freeze_imports(self) -> None:
        """Modules were imported: the objects alive now (mostly what the imports made) are left out of every
        later collection, so no collection walks them again.  Garbage is collected first, never frozen."""
        gc.collect()
        gc.freeze()
        self.frozen_modules = len(sys.modules)

    def thaw(self) -> None:
        """Whole parts of the heap are about to become garbage (a store swap drops a window and its context):
        unfreeze, so the next poll's freeze_imports collects them and freezes only what is still alive."""
        gc.unfreeze()
        self.frozen_modules = -FREEZE_AFTER_IMPORTS


def thaw() -> None:
    """See GuiThreadCollector.thaw (a no-op where the collector is not installed, e.g. in tests)."""
    if _collector is not None:
        _collector.thaw()


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Install once per process (the QApplication is the parent)."""
    global _collector
    if _collector is None:
        _collector = GuiThreadCollector(app)
    return _collector
