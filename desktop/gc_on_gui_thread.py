"""Python's garbage collector runs on the GUI thread only (Anki's GarbageCollector is the model).

Left automatic, a collection starts in whichever thread happens to allocate — the store writer, a network
or DB lane — and frees the Qt objects in the garbage there: a QWidget/QMenu destroyed off the GUI thread
takes Qt's per-object mutex and then waits for the GIL held by the GUI thread, which may be waiting for that
same mutex (a deadlock seen as a hung test run). So automatic collection is switched off and a timer on the
GUI thread collects, generation by generation, when the counts pass the usual thresholds.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

_collector: "GuiThreadCollector | None" = None


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 500):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start()

    def collect_if_due(self) -> None:
        """Collect as automatic collection would have (a young generation often, an old one rarely)."""
        count0, count1, count2 = gc.get_count()
        if count0 > self.thresholds[0]:
            gc.collect(0)
            if count1 > self.thresholds[1]:
                gc.collect(1)
                if count2 > self.thresholds[2]:
                    gc.collect(2)


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Install once per process (the QApplication is the parent)."""
    global _collector
    if _collector is None:
        _collector = GuiThreadCollector(app)
    return _collector
