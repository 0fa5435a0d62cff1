"""The one way to run work off the GUI thread (modelled on Anki's QueryOp and taskman).

    QueryOp(ctx.db, lambda store: store.record(7), parent=self).success(show).latest("detail").run_in_background()
    NetOp(lambda: fetch_models(...), parent=self).success(fill).failure(warn).run_in_background()
    task = StreamOp(lambda cancel: chat_pieces(...), parent=self).on_yield(append).success(done).run_in_background()
    task.cancel()

Two lanes:
- the DB lane (`DbLane`, one per store, `ctx.db`): one thread owns the store's reads and small writes and runs
  jobs in order, as Anki's collection worker does;
- the network lane: a private QThreadPool (superqt's default is the global pool, one thread per core here,
  so a long stream would starve short jobs queued behind it).

Every answer is delivered on the GUI thread, and only when it still matters:
- `parent` destroyed (a page closed) -> no callback;
- `.latest(key)`: a newer op with the same key (per parent) was started -> the older answer is dropped
  (and a DB job not yet started is skipped).
`failure` receives the exception itself (typed: `Cancelled`, the store's or openai's errors); without a
failure callback the error is printed, never swallowed.
"""
from __future__ import annotations

import itertools
import queue
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Generator

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from monitor.paths import store_location
from monitor.store import Store

NET_THREADS = 16


class Cancelled(Exception):
    """The op was cancelled before it finished (StreamOp.cancel, or the lane stopped)."""


class CancelToken:
    """Handed to a stream op's generator: check `cancelled`, or register `on_cancel` (e.g. close a socket)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        with self._lock:
            run_now = self._event.is_set()
            if not run_now:
                self._hooks.append(hook)
        if run_now:
            _quietly(hook)

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            _quietly(hook)


def _quietly(hook: Callable[[], None]) -> None:
    try:
        hook()
    except Exception:  # noqa: BLE001 - closing an already-closed stream is fine
        pass


# -- delivery to the GUI thread ------------------------------------------------------------------------

class _Bridge(QObject):
    """Lives on the GUI thread; worker threads emit closures that run there (queued connection)."""
    deliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._run)

    @staticmethod
    def _run(box: list) -> None:
        fn = box.pop()          # the box held the only reference: released here, on the GUI thread
        fn()


_bridge: _Bridge | None = None
_seq = itertools.count(1)
_latest: dict[tuple, int] = {}       # (parent id, key) -> newest op's sequence number


def _gui_bridge() -> _Bridge:
    global _bridge
    if _bridge is None:
        _bridge = _Bridge()
    return _bridge


def _post(fn: Callable[[], None]) -> None:
    _gui_bridge().deliver.emit([fn])


def post_to_gui_thread(fn: Callable[[], None]) -> None:
    """Run fn on the GUI thread, from any thread (a listener's, a library callback's): the one bridge."""
    _post(fn)


# -- ops --------------------------------------------------------------------------------------------------

class Op:
    """A unit of background work and what to do with its answer. Build it, then run_in_background()."""

    def __init__(self, op: Callable[..., Any], *, parent: QObject | None = None,
                 success: Callable[[Any], None] | None = None):
        self._op = op
        self._parent = parent
        self._success = success
        self._failure: Callable[[BaseException], None] | None = None
        self._finished: Callable[[], None] | None = None
        self._key: tuple | None = None
        self._seq = next(_seq)
        self.task: Task | None = None

    def success(self, callback: Callable[[Any], None]) -> "Op":
        self._success = callback
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> "Op":
        self._failure = callback
        return self

    def finished(self, callback: Callable[[], None]) -> "Op":
        """After success or failure (not when the answer was dropped)."""
        self._finished = callback
        return self

    def latest(self, key: str) -> "Op":
        """Latest wins: a newer op with this key (for the same parent) makes this one's answer stale, and a
        DB op still queued is skipped — so never key a write."""
        self._key = (id(self._parent) if self._parent is not None else None, key)
        return self

    # -- state the lanes ask about -------------------------------------------------------------------
    def is_stale(self) -> bool:
        return self._key is not None and _latest.get(self._key) != self._seq

    def wanted(self) -> bool:
        """Should the answer reach its callbacks? (parent alive, not superseded, not cancelled)"""
        if self._parent is not None and not shiboken6.isValid(self._parent):
            return False
        if self.task is not None and self.task.cancelled:
            return False
        return not self.is_stale()

    def _claim_key(self) -> None:
        if self._key is not None:
            _latest[self._key] = self._seq

    def _finish(self, value: Any = None, error: BaseException | None = None) -> None:
        """GUI thread: the answer arrived."""
        if self.task is not None:
            self.task.done = True
        wanted = self.wanted()
        if self._key is not None and _latest.get(self._key) == self._seq:
            del _latest[self._key]             # keep the registry small
        if not wanted:
            return
        if error is None:
            if self._success is not None:
                self._success(value)
        elif self._failure is not None:
            self._failure(error)
        elif not isinstance(error, Cancelled):
            traceback.print_exception(type(error), error, error.__traceback__)
        if self._finished is not None:
            self._finished()


class Task:
    """A started op: cancel() it, or ask whether it is done (GUI thread)."""

    def __init__(self, op: Op, token: CancelToken | None = None):
        self.op = op
        self.token = token or CancelToken()
        self.done = False

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def cancel(self) -> None:
        """Its callbacks will not be called; a stream's generator sees token.cancelled / its hooks run."""
        self.token.cancel()


class QueryOp(Op):
    """`op(store)` on the DB lane (one thread, in order)."""

    def __init__(self, lane: "DbLane", op: Callable[[Store], Any], *, parent: QObject | None = None,
                 success: Callable[[Any], None] | None = None):
        super().__init__(op, parent=parent, success=success)
        self.lane = lane

    def run_in_background(self) -> Task:
        self._claim_key()
        self.task = Task(self)
        self.lane._put(self)
        return self.task


class NetOp(Op):
    """`op()` on the network lane (a private pool: it may block on a socket for minutes)."""

    def run_in_background(self) -> Task:
        self._claim_key()
        self.task = Task(self)
        _net_pool().start(_Runnable(self._run))
        return self.task

    def _run(self) -> None:
        if self.is_stale() or self.task.cancelled:
            _post(lambda: self._finish(error=Cancelled()))
            return
        try:
            value = self._op()
        except BaseException as exc:  # noqa: BLE001 - handed to failure() on the GUI thread
            _post(lambda exc=exc: self._finish(error=exc))
        else:
            _post(lambda: self._finish(value))


class StreamOp(Op):
    """`op(token)` is a generator on the network lane; each value it yields reaches `on_yield` on the GUI
    thread, in order, then its return value reaches `success`.  Values yielded while the GUI thread is busy
    are delivered together in one event (no signal storm); cancel() stops delivery at once."""

    def __init__(self, op: Callable[[CancelToken], Generator], *, parent: QObject | None = None,
                 success: Callable[[Any], None] | None = None):
        super().__init__(op, parent=parent, success=success)
        self._on_yield: Callable[[Any], None] | None = None
        self._pending: list = []
        self._lock = threading.Lock()
        self._posted = False

    def on_yield(self, callback: Callable[[Any], None]) -> "StreamOp":
        self._on_yield = callback
        return self

    def run_in_background(self) -> Task:
        self._claim_key()
        self.task = Task(self)
        _net_pool().start(_Runnable(self._run))
        return self.task

    def _run(self) -> None:
        token = self.task.token
        result: Any = None
        try:
            gen = self._op(token)
            while True:
                try:
                    value = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                if token.cancelled:
                    gen.close()
                    break
                self._queue_yield(value)
        except BaseException as exc:  # noqa: BLE001 - handed to failure() on the GUI thread
            _post(lambda exc=exc: self._finish(error=Cancelled() if token.cancelled else exc))
            return
        _post(lambda: (self._drain(), self._finish(Cancelled() if token.cancelled else result)))

    def _queue_yield(self, value: Any) -> None:
        with self._lock:
            self._pending.append(value)
            if self._posted:
                return
            self._posted = True
        _post(self._drain)

    def _drain(self) -> None:
        with self._lock:
            values, self._pending, self._posted = self._pending, [], False
        if self._on_yield is None or not self.wanted():
            return
        for value in values:
            self._on_yield(value)

    def _finish(self, value: Any = None, error: BaseException | None = None) -> None:
        if error is None and isinstance(value, Cancelled):
            value, error = None, value
        super()._finish(value, error)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], None]):
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        fn, self._fn = self._fn, None
        fn()


_pool: QThreadPool | None = None


def _net_pool() -> QThreadPool:
    global _pool
    if _pool is None:
        _gui_bridge()                      # made on the GUI thread, before any worker emits
        _pool = QThreadPool()
        _pool.setMaxThreadCount(NET_THREADS)
    return _pool


def net_pool() -> QThreadPool:
    return _net_pool()


def wait_for_network(msecs: int = 10_000) -> bool:
    """For tests and shutdown: wait until every network op started so far has finished."""
    return _net_pool().waitForDone(msecs)


# -- the DB lane ----------------------------------------------------------------------------------------------

class DbLane(QObject):
    """One thread owning one Store (opened lazily on that thread); ops run in the order they were started."""

    def __init__(self, db_path: Path | str, parent: QObject | None = None):
        super().__init__(parent)
        _gui_bridge()
        self.db_path = store_location(db_path)      # a file's Path or a postgresql:// StoreURL
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="openai-monitor-db", daemon=True)
        self._thread.start()

    def _put(self, op: QueryOp) -> None:
        self._queue.put(op)

    def submit(self, fn: Callable[[Store], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, key: str | None = None,
               parent: QObject | None = None) -> Task:
        """Shorthand for a QueryOp (on_error gets the error as one line of text).  Without `parent`, a bound
        method's QObject is the parent, so a page closed meanwhile is not called back."""
        if parent is None and isinstance(getattr(on_done, "__self__", None), QObject):
            parent = on_done.__self__
        op = QueryOp(self, fn, parent=parent, success=on_done)
        if on_error is not None:
            op.failure(lambda exc: on_error(f"{type(exc).__name__}: {exc}"))
        if key is not None:
            op.latest(key)
        return op.run_in_background()

    def call(self, fn: Callable[[Store], Any], timeout: float = 30.0) -> Any:
        """Run fn on the lane and wait (tests and shutdown paths only — never from a slot)."""
        done = threading.Event()
        box: dict[str, Any] = {}

        def job(store: Store) -> None:
            try:
                box["value"] = fn(store)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                box["error"] = exc
            finally:
                done.set()

        self._queue.put(_Direct(job))
        if not done.wait(timeout):
            raise TimeoutError("database lane busy")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        store: Store | None = None
        while True:
            op = self._queue.get()
            if op is None:
                break
            if isinstance(op, _Direct):
                try:
                    if store is None:
                        store = Store(self.db_path)
                except Exception as exc:  # noqa: BLE001 - the waiting caller gets it on first use
                    op.fn(_Broken(exc))
                else:
                    op.fn(store)
                continue
            if op.is_stale() or op.task.cancelled:
                # Skipped, but still finished on the GUI thread: its closures may hold the last
                # reference to a Qt object, which must not be destroyed on this thread.
                _post(lambda op=op: op._finish(error=Cancelled()))
                continue
            try:
                if store is None:
                    store = Store(self.db_path)
                value = op._op(store)
            except Exception as exc:  # noqa: BLE001 - handed to failure() on the GUI thread
                _post(lambda op=op, exc=exc: op._finish(error=exc))
            else:
                _post(lambda op=op, value=value: op._finish(value))
            op = value = None      # the posted closure now holds the only references
        if store is not None:
            store.close()


class _Direct:
    def __init__(self, fn: Callable[[Store], None]):
        self.fn = fn


class _Broken:
    """Stands in for a store that could not be opened: call()'s job raises the reason on first use."""

    def __init__(self, exc: BaseException):
        self._exc = exc

    def __getattr__(self, _name: str) -> Any:
        raise self._exc
