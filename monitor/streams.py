"""Stream proxies: pass chunks through, note text, time to first token and usage, log once at the end.

The end is whichever comes first: the stream is exhausted (success), it raises (error), or the caller
closes or drops it early (cancelled, with the partial output).

The caller sees exactly what the unmonitored stream yields (the same objects, the same exceptions): the
monitor's own reading of a chunk never raises.  Odd shapes (content as a number or a list of parts,
tool-call arguments as an object) are read as text; anything else it cannot read is noted in the
record's `error` ("monitor: …") while the call's status stays what the stream said.
"""
from __future__ import annotations

import json
import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

from .capture import PendingCall, as_text
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
    """Shared bookkeeping of the sync and async proxies."""

    def __init__(self, inner: Any, monitor: "Monitor", call: PendingCall, started: float, hide_usage: bool):
        self._inner = inner
        self._monitor = monitor
        self._call = call
        self._started = started
        self._hide_usage = hide_usage
        self._parts: list[str] = []
        self._tool_calls: dict[int, dict[str, str]] = {}
        self._finish_reason: str | None = None
        self._done = False
        _open_streams.add(self)

    def _observe(self, item: Any) -> bool:
        """Note what the item carries; returns False when the caller must not see it.  Never raises."""
        try:
            return self._read(item)
        except Exception as exc:
            if self._call.note is None:
                self._call.note = f"could not read part of the stream ({type(exc).__name__}: {exc})"
            return True

    def _read(self, item: Any) -> bool:
        call = self._call
        api = call.api
        if api == "responses":
            kind = getattr(item, "type", "")
            if kind == "response.output_text.delta":
                self._text(getattr(item, "delta", ""))
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                response = getattr(item, "response", None)
                call.usage = getattr(response, "usage", None)
                call.response_model = getattr(response, "model", None)
                if kind == "response.failed":
                    err = getattr(response, "error", None)
                    call.status = "error"
                    call.error = getattr(err, "message", None) or "response failed"
            elif kind == "error":
                call.status = "error"
                call.error = getattr(item, "message", None) or "stream error"
            return True
        model = getattr(item, "model", None)
        if model:
            call.response_model = model
        usage = getattr(item, "usage", None)
        if usage is not None:
            call.usage = usage
        choices = getattr(item, "choices", None)
        if not choices:
            return not (self._hide_usage and usage is not None)
        for choice in choices:
            if getattr(choice, "index", 0) != 0:     # n > 1: the record keeps choice 0, like non-stream calls
                continue
            if getattr(choice, "finish_reason", None):
                self._finish_reason = choice.finish_reason
            if api == "completions":
                self._text(getattr(choice, "text", None))
                continue
            delta = getattr(choice, "delta", None)
            self._text(getattr(delta, "content", None))
            for tool in getattr(delta, "tool_calls", None) or []:
                if call.ttft_ms is None:
                    call.ttft_ms = (_perf() - self._started) * 1000.0
                slot = self._tool_calls.setdefault(getattr(tool, "index", 0) or 0, {"name": "", "arguments": ""})
                function = getattr(tool, "function", None)
                slot["name"] += as_text(getattr(function, "name", None)) or ""
                slot["arguments"] += as_text(getattr(function, "arguments", None)) or ""
        return True

    def _text(self, value: Any) -> None:
        text = as_text(value) if value is not None and not isinstance(value, str) else value
        if text:
            if self._call.ttft_ms is None:
                self._call.ttft_ms = (_perf() - self._started) * 1000.0
            self._parts.append(text)

    def _finish(self, status: str, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._settle(status, error)
        except Exception as exc:                 # the caller's exception (or StopIteration) stays its own
            self._call.note = self._call.note or f"{type(exc).__name__}: {exc}"
        submit_safely(self._monitor, self._call)

    def _settle(self, status: str, error: BaseException | None) -> None:
        _open_streams.discard(self)
        call = self._call
        call.latency_ms = (_perf() - self._started) * 1000.0
        if status == "cancelled" and self._finish_reason is not None:
            status = "success"               # closed after the reply was complete (before the usage chunk)
        if call.status != "error":           # a response.failed event already said why
            call.status = status
            call.error = error
        call.output = "".join(self._parts)
        if not call.output and self._tool_calls:
            call.output = json.dumps([self._tool_calls[i] for i in sorted(self._tool_calls)])

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


class MonitoredStream(_Observer):
    def __iter__(self) -> "MonitoredStream":
        return self

    def __next__(self) -> Any:
        while True:
            try:
                item = next(self._inner)
            except StopIteration:
                self._finish("success")
                raise
            except BaseException as exc:
                self._finish(self._status_for(exc), exc)
                raise
            if self._observe(item):
                return item

    def close(self) -> None:
        self._finish("cancelled")
        self._inner.close()

    def __enter__(self) -> "MonitoredStream":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self) -> None:
        if not self.__dict__.get("_done", True):
            try:
                self._finish("cancelled")
                self._inner.close()
            except Exception:
                pass


class AsyncMonitoredStream(_Observer):
    def __aiter__(self) -> "AsyncMonitoredStream":
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                item = await self._inner.__anext__()
            except StopAsyncIteration:
                self._finish("success")
                raise
            except BaseException as exc:
                self._finish(self._status_for(exc), exc)
                raise
            if self._observe(item):
                return item

    async def close(self) -> None:
        self._finish("cancelled")
        await self._inner.close()

    aclose = close

    async def __aenter__(self) -> "AsyncMonitoredStream":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.close()

    def __del__(self) -> None:
        if not self.__dict__.get("_done", True):
            try:
                self._finish("cancelled")
            except Exception:
                pass
