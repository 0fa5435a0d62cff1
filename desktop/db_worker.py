"""One background thread owns the app's database reads and small writes (as Anki's collection worker does).

`worker.submit(fn, on_done, on_error)` runs `fn(store)` on that thread and calls the callbacks on the GUI
thread.  Jobs run in order; a page that only wants the newest answer passes a `key`, and older queued
jobs with the same key are skipped.
"""
from __future__ import annotations

import itertools
import queue
import threading
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from monitor.store import Store


class DbWorker(QObject):
    _finished = Signal(object, object, object)      # callback, value, is_error

    def __init__(self, db_path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self._queue: queue.Queue = queue.Queue()
        self._latest: dict[str, int] = {}
        self._seq = itertools.count()
        self._finished.connect(self._deliver)
        self._thread = threading.Thread(target=self._run, name="openai-monitor-db", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Store], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, key: str | None = None) -> None:
        seq = next(self._seq)
        if key is not None:
            self._latest[key] = seq
        self._queue.put((seq, key, fn, on_done, on_error))

    def call(self, fn: Callable[[Store], Any], timeout: float = 30.0) -> Any:
        """Run fn on the worker and wait (for tests and shutdown paths only — never from a slot)."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def job(store: Store) -> None:
            try:
                box["value"] = fn(store)
            except BaseException as exc:   # handed back to the caller
                box["error"] = exc
            finally:
                done.set()

        self._queue.put((next(self._seq), None, job, None, None))
        if not done.wait(timeout):
            raise TimeoutError("database worker busy")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        store: Store | None = None
        while True:
            job = self._queue.get()
            if job is None:
                break
            seq, key, fn, on_done, on_error = job
            job = None
            if key is not None and self._latest.get(key) != seq:
                # A newer request for the same thing is queued.  The job still goes back to the GUI
                # thread: its closures may hold the last reference to a Qt object, which must not be
                # destroyed on this thread.
                self._finished.emit(None, (fn, on_done, on_error), False)
                continue
            try:
                if store is None:
                    store = Store(self.db_path)
                value = fn(store)
            except Exception as exc:
                if on_error is None:
                    traceback.print_exc()
                self._finished.emit(on_error, (fn, f"{type(exc).__name__}: {exc}", on_done), True)
            else:
                self._finished.emit(on_done, (fn, value, on_error), False)
            fn = on_done = on_error = value = None      # the signal now holds the only references
        if store is not None:
            store.close()

    def _deliver(self, callback: Callable | None, payload: tuple, is_error: bool) -> None:
        # payload = (fn, value, other callback): delivered here so it is also released here
        if callback is not None:
            callback(payload[1])
