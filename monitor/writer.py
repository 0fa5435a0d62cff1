"""The background writer: the call path puts PendingCalls on a queue; one thread per store file commits them.

The thread gathers calls for up to BATCH_WINDOW_S (a flush cuts the wait short), turns them into rows in
one pass and inserts them with a few cached multi-row INSERTs, so a commit costs the same few SQLite
statements whatever the batch size.  That keeps background CPU per call low when calls trickle in, and
keeps the commit lag bounded even when the caller never lets go of the GIL (every SQLite statement hands
the GIL over, and waiting for it back can take a switch interval, 5 ms: few statements, few waits).

What a crash can lose: SIGKILL loses the calls of the last batch window and the commit in progress
(about BATCH_WINDOW_S + one commit; ~200 ms at most when the caller hogs the GIL, see BACK_OFF_*); SIGTERM (with the default handler in place) and interpreter exit
flush first, waiting at most SIGTERM_FLUSH_S / EXIT_WAIT_S, then say in one stderr line how many calls
were not stored and why.

fork() never waits on another process's lock: the fork guard is held around single short statements and
around the writer's own transactions from BEGIN to COMMIT (a child forked inside one could never write the
store), with a busy timeout of STATEMENT_BUSY_MS inside it; waiting for another process's lock happens outside.

A PostgreSQL store (a postgresql:// URL, monitor/pg.py) takes the same statements.  When its server does not
answer — at start or mid-run — the writer keeps the calls in memory (at most MAX_HELD; beyond that they are
counted as dropped and said once) and reconnects with backoff (RECONNECT_MAX_S); calls never wait for it.
"""
from __future__ import annotations

import atexit
import functools
import itertools
import logging
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

from . import column_seal, pricing, tokens
from .capture import PendingCall, finalize
from .export import otlp
from .paths import StoreURL, store_location
from .store import CALL_COLUMNS, StoreUnreachable, connect, record_row, stream_id
from .streams import finish_open_streams

log = logging.getLogger("openai_monitor")

BATCH_WINDOW_S = 0.05     # gather calls this long before a commit: the crash window is this plus one commit
MAX_BATCH = 2048
LOCK_PATIENCE_S = 120.0   # keep retrying a store another process keeps locked this long, then drop the batch
STATEMENT_BUSY_MS = 20    # SQLite's own busy wait, inside the fork guard; longer waits back off outside it
EXIT_WAIT_S = 5.0         # interpreter exit waits at most this for unstored calls
SIGTERM_FLUSH_S = 2.0     # SIGTERM waits at most this before the default action (termination)
BACK_OFF_AFTER_S = 0.04   # when a call has waited this long for the writer's next commit, the call path ...
BACK_OFF_S = 0.001        # ... sleeps this long per call, so the writer gets the GIL (bounds the commit lag)
_MAX_ROWS_PER_INSERT = 256    # fastest measured (1024 was slower than executemany); 20 columns each
MAX_HELD = 100_000        # calls kept in memory while a PostgreSQL server is unreachable; more are dropped
RECONNECT_MIN_S = 0.25    # reconnection backoff: doubles from this ...
RECONNECT_MAX_S = 10.0    # ... up to this

_STOP = object()


class _Flush:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


@functools.lru_cache(maxsize=None)
def _insert_sql(rows: int) -> str:
    one = "(" + ", ".join("?" * len(CALL_COLUMNS)) + ")"
    return f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES " + ", ".join([one] * rows)


def _chunk_sizes(n: int):
    """Split n rows into statements of 256 rows, then powers of two for the rest: a few cached statements serve any batch."""
    size = _MAX_ROWS_PER_INSERT
    while n:
        while size > n:
            size //= 2
        yield size
        n -= size


def _count_of(counter: itertools.count) -> int:
    return counter.__reduce__()[1][0]    # the next value = how many times next() was called (from 0)


def _sqlite(fn, *args):
    """One SQLite statement, with fork() held off while it runs (see _no_fork_during_sqlite)."""
    with _no_fork_during_sqlite:
        return fn(*args)


class RecordWriter:
    """Owns one store connection and commits queued calls in batches."""

    def __init__(self, path: Path | StoreURL):
        self.path = store_location(path)
        self.remote = isinstance(self.path, StoreURL)     # PostgreSQL: may be unreachable for a while
        self._held: list[tuple[str, tuple]] = []          # rows waiting for an unreachable server
        self._retry_at = 0.0
        self._retry_delay = RECONNECT_MIN_S
        self._unreachable_cause = ""
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()           # a flush or close: commit now instead of waiting the window
        self._stream_ids: dict[str, int] = {}
        self.pid = os.getpid()          # a forked child must not use its parent's (threadless) writer
        self._logged: dict[str, itertools.count] = {}      # per stream; next() is atomic, so no lock
        self._committed: dict[str, int] = {}               # written by the writer thread only
        self._dropped: dict[str, int] = {}
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None
        self._said: str | None = None            # the cause last said on stderr
        self._give_up_at: float | None = None    # set at exit: stop waiting for locks after this time
        self._waiting_since: float | None = None  # first call submitted since the writer's last commit
        self._store_busy = False                 # the writer is waiting out another process's lock
        self.commit_seconds: list[float] = []    # (benchmarks) how long each commit took, bounded
        self._conn = None
        try:
            self._conn = connect(self.path, probe_write=True)   # create/migrate/probe now, so a bad store fails in init_monitor
            self._conn.execute(f"PRAGMA busy_timeout = {STATEMENT_BUSY_MS}")
        except StoreUnreachable as exc:       # the server is down: log anyway, store the calls once it is back
            self._unreachable(str(exc))
        self._thread = threading.Thread(target=self._run, name="openai-monitor-writer", daemon=True)
        self._thread.start()

    # -- call path ---------------------------------------------------------------------------------
    def submit(self, call: PendingCall) -> None:
        counter = self._logged.get(call.stream)
        if counter is None:
            counter = self._logged.setdefault(call.stream, itertools.count())
        next(counter)
        self._queue.put(call)
        now = time.monotonic()
        since = self._waiting_since
        if since is None:
            self._waiting_since = now
        elif now - since > BACK_OFF_AFTER_S and not self._store_busy and self._thread.is_alive():
            # The writer has not taken calls for a while although it could: this thread is starving it of
            # the GIL (a loop that never waits, e.g. an in-process transport).  Let it run.
            time.sleep(BACK_OFF_S)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until everything submitted before this call is committed (or dropped and counted)."""
        if not self._thread.is_alive():
            return False
        marker = _Flush()
        self._queue.put(marker)
        self._wake.set()
        return marker.event.wait(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._wake.set()
            self._thread.join(timeout)

    def health(self, stream: str | None = None) -> dict:
        """Counts for one stream (or every stream this process logged to this store) and the last error."""
        names = [stream] if stream is not None else list(self._logged)
        logged = sum(_count_of(self._logged[n]) for n in names if n in self._logged)
        return {"logged": logged, "committed": sum(self._committed.get(n, 0) for n in names),
                "dropped": sum(self._dropped.get(n, 0) for n in names), "last_error": self.last_error}

    def unstored(self) -> int:
        """Calls logged but not committed: still queued, or dropped."""
        h = self.health()
        return h["logged"] - h["committed"]

    # -- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                batch, markers, stop = self._gather()
                if batch or self._held:
                    self._commit_batch(self._conn, batch)
                self._waiting_since = None
                for marker in markers:              # (held calls don't hold up a flush: health says them)
                    marker.event.set()
                if stop:
                    while self._held and self._give_up_at and time.monotonic() < self._give_up_at:
                        time.sleep(min(0.1, max(0.0, self._retry_at - time.monotonic())))
                        self._commit_batch(self._conn, [])
                    return
        finally:
            if self._conn is not None:
                with _no_fork_during_sqlite:
                    self._conn.close()

    def _gather(self) -> tuple[list, list, bool]:
        """Block for the first item, wait up to the batch window (unless told to hurry), take what queued."""
        batch, markers, stop = [], [], False
        if self._held:                    # wake up to retry the unreachable server
            try:
                item = self._queue.get(timeout=max(0.01, self._retry_at - time.monotonic()))
            except queue.Empty:
                return batch, markers, stop
        else:
            item = self._queue.get()
        first = True
        while True:
            if item is _STOP:
                stop = True
            elif isinstance(item, _Flush):
                markers.append(item)
            else:
                batch.append(item)
            if len(batch) >= MAX_BATCH:
                break
            if first:
                first = False
                since = self._waiting_since      # (a starved writer's first call may already be old)
                waited = time.monotonic() - since if since is not None else 0.0
                if not (stop or markers) and self._queue.qsize() < MAX_BATCH and waited < BATCH_WINDOW_S:
                    self._wake.wait(BATCH_WINDOW_S - waited)
                self._wake.clear()
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        return batch, markers, stop

    def _commit_batch(self, conn, batch: list[PendingCall]) -> None:
        """The commit step: calls -> rows (Python only), then one transaction.  Counts what was lost."""
        started = time.perf_counter()
        failed_before = self.failed
        rows = self._prepare(batch)
        if self.remote:
            if self._held:
                rows, self._held = self._held + rows, []
            conn = self._conn or self._reconnect()
            if conn is None:
                self._hold(rows)
                return
        problem = self._write(conn, rows)
        if isinstance(problem, StoreUnreachable):
            self._conn.close()
            self._conn = None
            self._unreachable(str(problem))
            self._hold(rows)
            return
        if problem is not None and self._row_specific(problem) and len(rows) > 1:
            self._stream_ids.clear()            # e.g. a stream deleted meanwhile: look its id up again
            for row in rows:                    # isolate the bad row, keep the others
                alone = self._write(conn, [row])
                if alone is not None:
                    self._lost([row[0]], f"could not store a call: {_cause(alone)}")
        elif problem is not None:
            self._lost([name for name, _ in rows], _cause(problem))
        if rows and self.failed == failed_before:
            self.last_error = None              # every call of this batch is stored: all is well (again)
        if len(self.commit_seconds) < 100_000:
            self.commit_seconds.append(time.perf_counter() - started)

    def _prepare(self, batch: list[PendingCall]) -> list[tuple[str, tuple]]:
        """(stream, row) pairs; the row's stream id (first column) is filled in at insert time."""
        rows, records = [], []
        for call in batch:
            try:
                record = finalize(call, pricing, tokens)
                rows.append((call.stream, self._row(record)))
                records.append(record)
            except Exception as exc:                  # one odd response must not lose the batch
                self._lost([call.stream], f"could not record a {call.api} call: {type(exc).__name__}: {exc}")
        otlp.emit(records)                            # OpenTelemetry, when configured (never raises)
        return rows

    def _row_specific(self, exc: BaseException) -> bool:
        if self.remote:
            from .pg import row_specific
            return row_specific(exc)
        return _row_specific(exc)

    def _row(self, record) -> tuple:
        try:
            return record_row(0, record)
        except (TypeError, ValueError) as exc:
            # e.g. a circular attribute value: keep the call, with the odd part as text
            self.last_error = f"stored a {record.api} call's unserialisable parameters as text: {exc}"
            log.warning(self.last_error)
            record.attributes = {"_unserialisable": repr(record.attributes)[:2000]}
            record.request = {"_unserialisable": repr(record.request)[:2000]}
            return record_row(0, record)

    def _write(self, conn, rows: list[tuple[str, tuple]]) -> Exception | None:
        """Insert rows in one transaction; another process's lock is waited out with backoff, outside
        the fork guard.  Returns what went wrong, or None."""
        if not rows:
            return None
        patience = time.monotonic() + LOCK_PATIENCE_S
        delay = 0.002
        while True:
            try:
                self._transaction(conn, rows)
            except Exception as exc:
                if _is_locked(exc) and time.monotonic() < min(patience, self._give_up_at or patience):
                    self._store_busy = True
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
                    continue
                self._store_busy = False
                if not _is_locked(exc):
                    self.last_error = _cause(exc)
                return exc
            self._store_busy = False
            for name, _ in rows:
                self._committed[name] = self._committed.get(name, 0) + 1
            self.written += len(rows)
            self._seal(conn, rows)
            return None

    def _seal(self, conn, rows: list[tuple[str, tuple]]) -> None:
        """Boards' column chunks, sealed as calls land (monitor/column_seal.py: counts until a stream has
        2,048 new calls, then one short transaction; never raises).  Under the fork guard like any statement."""
        ids = [self._stream_ids[name] for name, _ in rows if name in self._stream_ids]    # one per call
        if self.remote:                   # PostgreSQL: no SQLite state to guard from a fork
            column_seal.after_commit(conn, ids)
            return
        with _no_fork_during_sqlite:
            column_seal.after_commit(conn, ids)

    def _stmt(self, fn, *args):
        """One statement; SQLite's under the fork guard.  (A PostgreSQL connection needs none — a child never
        touches it, psycopg checks the pid — and its statements may wait on the network, so a fork must not.)"""
        return fn(*args) if self.remote else _sqlite(fn, *args)

    def _transaction(self, conn, rows: list[tuple[str, tuple]]) -> None:
        params = []
        for name, row in rows:
            sid = self._stream_ids.get(name)
            if sid is None:
                sid = self._stream_ids[name] = self._stmt(stream_id, conn, name)
            params.append(sid)
            params.extend(row[1:])
        width = len(CALL_COLUMNS)
        if self.remote:
            self._pg_transaction(conn, rows, params, width)
            return
        # SQLite: the fork guard is held from BEGIN to COMMIT.  A child forked between them would inherit
        # SQLite's in-process lock bookkeeping ("this process holds the write lock", via a connection the child
        # can never commit) and find the store locked forever.  The wait is one batch's inserts (~ms), never
        # another process's lock: BEGIN waits only STATEMENT_BUSY_MS inside the guard, then backs off outside.
        with _no_fork_during_sqlite:
            conn.execute("BEGIN IMMEDIATE")
            try:
                start = 0
                for size in _chunk_sizes(len(rows)):
                    conn.execute(_insert_sql(size), params[start * width:(start + size) * width])
                    start += size
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:              # SQLite may already have rolled back (e.g. disk full)
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise

    @staticmethod
    def _pg_transaction(conn, rows, params: list, width: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:            # one COPY, 4x the rate of multi-row INSERTs (measured)
            conn.copy_rows("calls", CALL_COLUMNS, [params[i:i + width] for i in range(0, len(params), width)])
            from .pg import notify_calls
            notify_calls(conn, [name for name, _ in rows])     # open apps everywhere learn at commit
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except Exception:
                    pass                         # a lost connection: the first error is the one to report
            raise

    # -- an unreachable PostgreSQL server ------------------------------------------------------------
    def _reconnect(self):
        if time.monotonic() < self._retry_at:
            return None
        try:
            self._conn = connect(self.path)
        except StoreUnreachable as exc:
            self._unreachable(str(exc))
            return None
        except Exception as exc:      # e.g. the password was changed meanwhile: keep holding, keep saying why
            self._unreachable(str(exc))
            return None
        self._retry_delay = RECONNECT_MIN_S
        self._stream_ids.clear()
        self._store_busy = False
        if self._said and self._said.startswith("unreachable:"):
            log.warning("openai-monitor: %s answers again; storing the %d calls held meanwhile", self.path,
                        len(self._held))
            self._said = None
        return self._conn

    def _unreachable(self, cause: str) -> None:
        self.last_error = self._unreachable_cause = cause
        self._store_busy = True                     # the call path must not back off for the writer meanwhile
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, RECONNECT_MAX_S)
        if not (self._said or "").startswith("unreachable:") and self._give_up_at is None:
            self._said = "unreachable:" + cause
            log.warning("openai-monitor: %s; calls are kept in memory (up to %d) and stored when it answers "
                        "(m.health() counts them; said again when it is back)", cause, MAX_HELD)

    def _hold(self, rows: list[tuple[str, tuple]]) -> None:
        """Keep rows for the next attempt; beyond MAX_HELD the newest are dropped (counted, said once)."""
        room = MAX_HELD - len(self._held)
        self._held.extend(rows[:max(room, 0)])
        if len(rows) > room:
            self._lost([name for name, _ in rows[max(room, 0):]],
                       f"{self._unreachable_cause}; more than {MAX_HELD} calls were waiting for it")

    def _lost(self, streams: list[str], cause: str) -> None:
        for name in streams:
            self._dropped[name] = self._dropped.get(name, 0) + 1
        self.failed += len(streams)
        self.last_error = cause
        if cause != self._said and self._give_up_at is None:    # at exit, one summary line says it instead
            self._said = cause
            log.warning("openai-monitor: calls could not be stored in %s: %s (counted in m.health()['dropped'];"
                        " said again only if the cause changes)", self.path, cause)


def _is_locked(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _row_specific(exc: BaseException) -> bool:
    """A failure one odd row can cause (worth retrying rows one by one), not a store-wide one (disk full)."""
    return isinstance(exc, (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError,
                            sqlite3.DataError, OverflowError, ValueError, TypeError))


def _cause(exc: BaseException) -> str:
    if _is_locked(exc):
        return "another process kept the store locked"
    return str(exc) or type(exc).__name__


# fork() while this thread is inside SQLite would hand the child SQLite's (or our) locks held forever, so a
# fork waits for the statement in progress, or for the writer's own transaction to commit (a child forked
# between BEGIN and COMMIT would find the store locked forever) — never for another process's lock.
_no_fork_during_sqlite = threading.Lock()

_writers: dict[Path, RecordWriter] = {}
_lock = threading.Lock()


def _key(path) -> Path | str:
    location = store_location(path)
    return location.dsn if isinstance(location, StoreURL) else location.resolve()


def writer_for(path: Path | StoreURL) -> RecordWriter:
    """One writer per store file (or PostgreSQL URL) per process, shared by every Monitor logging to it."""
    key = _key(path)
    with _lock:
        writer = _writers.get(key)
        if writer is None or not writer._thread.is_alive():
            writer = _writers[key] = RecordWriter(key if isinstance(key, Path) else store_location(path))
            _drain_at_multiprocessing_exit()
            _flush_at_sigterm()
        return writer


def health_for(path: Path) -> dict:
    """This process's counts for one store file (every stream): what the app's status bar shows."""
    writer = _writers.get(_key(path))
    if writer is None:
        return {"logged": 0, "committed": 0, "dropped": 0, "last_error": None}
    return writer.health()


def _drain_at_multiprocessing_exit() -> None:
    # multiprocessing children leave through os._exit (no atexit), but run their finalizers first.
    # (Registered here, not at fork: the child's bootstrap clears the registry after forking.)
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.parent_process() is not None:
        mp.util.Finalize(None, close_all, exitpriority=10)


def _flush_at_sigterm() -> None:
    """Flush (bounded) on SIGTERM, then terminate as the default handler would.  Only when nobody else
    handles SIGTERM: multiprocessing.Pool.__exit__ terminates its workers this way."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):       # not the main interpreter, or no signals here
        pass


_exiting = False                 # close_all is flushing (normal exit): a SIGTERM then waits for it
_pending_signal: int | None = None


def _on_sigterm(signum, frame) -> None:
    # A signal handler runs between two bytecodes of the main thread, which may hold any lock at that moment
    # (an Event's, in close_all's own wake-up): it takes none that main-thread code takes.
    global _pending_signal
    signal.signal(signum, signal.SIG_DFL)
    if _exiting:                 # the exit in progress is flushing already: terminate when it is done
        _pending_signal = signum
        return
    try:
        _finish(SIGTERM_FLUSH_S, "SIGTERM", stop=False, from_signal=True)
    finally:
        os.kill(os.getpid(), signum)


def _finish(wait_s: float, why: str, *, stop: bool, from_signal: bool = False) -> None:
    """Wait at most wait_s for every writer, then say in one line per store how many calls were not stored.
    From a signal handler the writers are not woken through their Event (its lock may be the one the
    interrupted code holds): the queued marker wakes an idle writer, and a batching one looks within 50 ms."""
    deadline = time.monotonic() + wait_s
    writers = list(_writers.values())
    said = {id(w): w.health()["dropped"] for w in writers}     # drops already said when they happened
    markers = []
    for writer in writers:
        writer._give_up_at = deadline
        if writer._thread.is_alive():
            if stop:
                writer._queue.put(_STOP)
            else:
                markers.append(marker := _Flush())
                writer._queue.put(marker)
            if not from_signal:
                writer._wake.set()
    for writer in writers:
        if stop:
            writer._thread.join(max(0.0, deadline - time.monotonic()) + 0.2)
    for marker in markers:
        marker.event.wait(max(0.0, deadline - time.monotonic()) + 0.2)
    for writer in writers:
        missing = writer.unstored() - said[id(writer)]
        if missing > 0:
            log.warning("openai-monitor: %d of %d calls logged by this process were not stored in %s: %s "
                        "(waited at most %.0f s at %s)", missing, writer.health()["logged"], writer.path,
                        writer.last_error or "the store did not answer in time", wait_s, why)


def close_all(wait_s: float = EXIT_WAIT_S) -> None:
    global _exiting
    _exiting = True
    try:
        finish_open_streams()
        with _lock:
            if _writers:
                _finish(wait_s, "exit", stop=True)
                _writers.clear()
        otlp.shutdown_all()          # queued spans get ≤ 2 s to leave; a dead collector can't hold up exit
    finally:
        _exiting = False
        if _pending_signal is not None:      # a SIGTERM came during the exit's flush: now terminate
            os.kill(os.getpid(), _pending_signal)


def _after_fork_in_child() -> None:
    # The writer thread does not survive fork(); a child starts its own on first use.
    global _lock
    _lock = threading.Lock()
    _no_fork_during_sqlite.release()
    _writers.clear()


atexit.register(close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_no_fork_during_sqlite.acquire, after_in_parent=_no_fork_during_sqlite.release,
                        after_in_child=_after_fork_in_child)
