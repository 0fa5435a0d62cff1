"""Keeps an open board current: at most one refresh on the DB worker at a time, at most ~4 a second.

A request while one is in flight is remembered and run when it ends; requests closer together than
MIN_INTERVAL_MS wait for the interval.  So a burst of calls costs a few cheap incremental refreshes, and
the newest state is always drawn within about half a second of the last call landing."""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer

MIN_INTERVAL_MS = 250


class RefreshCoalescer(QObject):
    def __init__(self, start: Callable[[Callable[[], None]], None], parent: QObject | None = None):
        """start(done) submits one refresh and calls done() when its answer (or error) is back."""
        super().__init__(parent)
        self._start = start
        self.in_flight = False
        self.pending = False
        self.started = 0
        self._last = 0.0
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._on_timer_timeout)

    def request(self) -> None:
        if self.in_flight:
            self.pending = True
            return
        wait_ms = MIN_INTERVAL_MS - (time.monotonic() - self._last) * 1000
        if wait_ms > 0:
            if not self._timer.isActive():
                self._timer.start(int(wait_ms) + 1)
            return
        self._run()

    def _on_timer_timeout(self) -> None:
        self.request()

    def _run(self) -> None:
        self.in_flight = True
        self.pending = False
        self._last = time.monotonic()
        self.started += 1
        self._start(self._done)

    def _done(self) -> None:
        self.in_flight = False
        if self.pending:
            self.pending = False
            self.request()
