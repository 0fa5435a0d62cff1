"""Call a function at most once per interval: at once when idle, else once more when the interval ends.

Live updates fire up to four times a second; the sidebar and status bar need not query that often.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    def __init__(self, interval_ms: int, fn: Callable[[], None], parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn
        self._pending = False
        self._timer = QTimer(self, singleShot=True, interval=interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    def __call__(self, *_args) -> None:
        if self._timer.isActive():
            self._pending = True
            return
        self._fn()
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        if self._pending:
            self._pending = False
            self._fn()
            self._timer.start()
