"""The background writer: the call path puts PendingCalls on a queue; one thread per store file commits them.

The thread commits as soon as calls arrive; whatever queued up during one commit goes in the next, so
batches grow with load and a commit is never delayed on purpose.  A hard kill (SIGKILL, power loss) loses
only what was queued but not yet committed — milliseconds of calls; `flush()` and a normal interpreter
exit lose nothing.
"""
from __future__ import annotations

import atexit
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from pathlib import Path

from . import column_seal, pricing, tokens
from .capture import PendingCall, finalize
from .store import INSERT_CALL_SQL, connect, record_row, stream_id
from .streams import finish_open_streams

log = logging.getLogger("openai_monitor")

MAX_BATCH = 5000
LOCK_PATIENCE_S = 120.0   # beyond SQLite's 30 s busy timeout, keep retrying a locked store this long


class _Flush:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


_STOP = object()


class RecordWriter:
    """Owns one SQLite connection and commits queued calls in batches."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stream_ids: dict[str, int] = {}
        self.pid = os.getpid()          # a forked child must not use its parent's (threadless) writer
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None
        connect(self.path).close()          # create/migrate now, so a bad path fails in init_monitor
        self._thread = threading.Thread(target=self._run, name="openai-monitor-writer", daemon=True)
        self._thread.start()

    def submit(self, call: PendingCall) -> None:
        self._queue.put(call)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until everything submitted before this call is committed."""
        if not self._thread.is_alive():
            return False
        marker = _Flush()
        self._queue.put(marker)
        return marker.event.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # -- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        conn = connect(self.path)
        try:
            while True:
                item = self._queue.get()
                batch, markers, stop = [], [], False
                while True:
                    if item is _STOP:
                        stop = True
                    elif isinstance(item, _Flush):
                        markers.append(item)
                    else:
                        batch.append(item)
                    if len(batch) >= MAX_BATCH:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    with _no_fork_during_commit:
                        self._commit(conn, batch)
                for marker in markers:
                    marker.event.set()
                if stop:
                    return
        finally:
            conn.close()

    def _commit(self, conn, batch: list[PendingCall]) -> None:
        rows = []
        for call in batch:
            try:
                record = finalize(call, pricing, tokens)
                rows.append((call.stream, record))
            except Exception as exc:                  # one odd response must not lose the batch
                self.failed += 1
                self.last_error = f"could not record a {call.api} call: {type(exc).__name__}: {exc}"
                log.warning(self.last_error)
        problem = self._insert(conn, rows)
        if problem is None or len(rows) == 1 or _is_locked(problem):
            return
        for row in rows:        # the batch failed for a reason other than a lock: isolate the bad row
            self._insert(conn, [row])

    def _insert(self, conn, rows: list) -> Exception | None:
        """Insert rows in one transaction, waiting out other processes' locks.  Returns what went wrong."""
        deadline = time.monotonic() + LOCK_PATIENCE_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(INSERT_CALL_SQL, self._rows(conn, rows))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    self._stream_ids.clear()     # a rolled-back stream insert must not stay cached
                    raise
                self.written += len(rows)
                column_seal.after_commit(conn, [self._stream_ids[name] for name, _ in rows])   # boards' column chunks
                return None
            except Exception as exc:
                self.last_error = f"could not write {len(rows)} calls to {self.path}: {exc}"
                locked = _is_locked(exc)
                if locked and time.monotonic() < deadline:
                    continue
                log.warning(self.last_error)
                if len(rows) == 1 or locked:
                    self.failed += len(rows)
                return exc

    def _rows(self, conn, rows: list) -> list[tuple]:
        params = []
        for name, record in rows:
            sid = self._sid(conn, name)
            try:
                params.append(record_row(sid, record))
            except (TypeError, ValueError) as exc:
                # e.g. a circular attribute value: keep the call, with the odd part as text
                self.last_error = f"stored a {record.api} call's unserialisable parameters as text: {exc}"
                log.warning(self.last_error)
                record.attributes = {"_unserialisable": repr(record.attributes)[:2000]}
                record.request = {"_unserialisable": repr(record.request)[:2000]}
                params.append(record_row(sid, record))
        return params

    def _sid(self, conn, name: str) -> int:
        sid = self._stream_ids.get(name)
        if sid is None:
            sid = self._stream_ids[name] = stream_id(conn, name, create=True)
        return sid


def _is_locked(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


# fork() while this thread is inside SQLite would hand the child SQLite's (or our) locks held forever,
# so a fork waits for the commit in progress to end.
_no_fork_during_commit = threading.Lock()

_writers: dict[Path, RecordWriter] = {}
_lock = threading.Lock()


def writer_for(path: Path) -> RecordWriter:
    """One writer per store file per process, shared by every Monitor logging to it."""
    key = Path(path).resolve()
    with _lock:
        writer = _writers.get(key)
        if writer is None or not writer._thread.is_alive():
            writer = _writers[key] = RecordWriter(key)
            _drain_at_multiprocessing_exit()
        return writer


def _drain_at_multiprocessing_exit() -> None:
    # multiprocessing children leave through os._exit (no atexit), but run their finalizers first.
    # (Registered here, not at fork: the child's bootstrap clears the registry after forking.)
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        mp.util.Finalize(None, close_all, exitpriority=10)


def close_all() -> None:
    finish_open_streams()
    with _lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()


def _after_fork_in_child() -> None:
    # The writer thread does not survive fork(); a child starts its own on first use.
    global _lock
    _lock = threading.Lock()
    _no_fork_during_commit.release()
    _writers.clear()


atexit.register(close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_no_fork_during_commit.acquire, after_in_parent=_no_fork_during_commit.release,
                        after_in_child=_after_fork_in_child)
