"""Stream proxies: pass chunks through, keep them for the writer, note time to first token, log once at the end.

The end is whichever comes first: the stream is exhausted (success), it raises (error), or the caller
closes or drops it early (cancelled, with the partial output).  The proxies themselves, `openai.Stream` /
`openai.AsyncStream` subclasses, are in stream_proxies.py: this module imports no openai SDK, so the writer
(and `import monitor`) don't load it.

The caller sees exactly what the unmonitored stream yields (the same objects, the same exceptions): the
call path only keeps a reference to each chunk and asks the API's adapter (monitor/apis) two cheap
questions; the writer thread assembles the reply in its non-streamed shape.  Odd shapes (content as a
number or a list of parts, tool-call arguments as an object) are read as text; anything else it cannot
read is noted in the record's `error` ("monitor: …") while the call's status stays what the stream said.
"""
from __future__ import annotations

import logging
import time
import weakref
from typing import TYPE_CHECKING, Any


from . import apis
from .capture import PendingCall
from .redact import scrub_text

if TYPE_CHECKING:
    from .monitor import Monitor

log = logging.getLogger("openai_monitor")
_perf = time.perf_counter

# Streams still open when the interpreter exits are logged (as cancelled) before the writers stop.
_open_streams: "weakref.WeakSet[_Observer]" = weakref.WeakSet()


def submit_safely(monitor: "Monitor", call: PendingCall) -> None:
    """Hand the call to the writer; a writer that cannot take it costs the record, never the caller."""
    try:
        monitor._submit(call)
    except Exception as exc:
        log.warning("openai-monitor: a %s call could not be recorded: %s", call.api,
                    scrub_text(f"{type(exc).__name__}: {exc}", call.secrets))


def finish_open_streams() -> None:
    for proxy in list(_open_streams):
        try:
            proxy._finish("cancelled")
        except Exception:
            pass


class _Observer:
    """Shared bookkeeping of the sync and async proxies: each item is kept (a reference) for the writer
    thread, which assembles the reply through the API's adapter; here only the time to first token and
    the hidden usage chunk are decided."""

    def __init__(self, inner: Any, monitor: "Monitor", call: PendingCall, started: float, hide_usage: bool):
        self._inner = inner
        self._monitor = monitor
        self._call = call
        self._started = started
        self._hide_usage = hide_usage
        self._adapter = apis.adapter(call.api)
        self._items: list | None = [] if self._adapter.streams else None   # others: nothing to assemble
        call.items = self._items
        self._done = False
        _open_streams.add(self)

    def _observe(self, item: Any) -> bool:
        """Note the item; returns False when the caller must not see it.  Never raises."""
        items = self._items
        if items is None:
            return True
        items.append(item)
        try:
            content, usage_only = self._adapter.observe(item)
        except Exception:
            return True                          # the writer thread notes what it cannot read
        if content and self._call.ttft_ms is None:
            self._call.ttft_ms = (_perf() - self._started) * 1000.0
        return not (usage_only and self._hide_usage)

    def _finish(self, status: str, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        try:
            _open_streams.discard(self)
            call = self._call
            call.latency_ms = (_perf() - self._started) * 1000.0
            call.status = status
            call.error = error
        except Exception as exc:                 # the caller's exception (or StopIteration) stays its own
            self._call.note = self._call.note or f"{type(exc).__name__}: {exc}"
        submit_safely(self._monitor, self._call)

    @staticmethod
    def _status_for(exc: BaseException) -> str:
        if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) or type(exc).__name__ == "CancelledError":
            return "cancelled"
        return "error"

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("_inner")     # (absent if __init__ never ran)
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)             # response, ... stay reachable
