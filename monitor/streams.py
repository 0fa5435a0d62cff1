"""Stream proxies: pass chunks through, note text, time to first token and usage, log once at the end.

The end is whichever comes first: the stream is exhausted (success), it raises (error), or the caller
closes or drops it early (cancelled, with the partial output).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .capture import PendingCall

if TYPE_CHECKING:
    from .monitor import Monitor

_perf = time.perf_counter


class _Observer:
    """Shared bookkeeping of the sync and async proxies."""

    def __init__(self, inner: Any, monitor: "Monitor", call: PendingCall, started: float, hide_usage: bool):
        self._inner = inner
        self._monitor = monitor
        self._call = call
        self._started = started
        self._hide_usage = hide_usage
        self._parts: list[str] = []
        self._done = False

    def _observe(self, item: Any) -> bool:
        """Note what the item carries; returns False when the caller must not see it."""
        call = self._call
        api = call.api
        if api == "responses":
            kind = getattr(item, "type", "")
            if kind == "response.output_text.delta":
                self._text(getattr(item, "delta", "") or "")
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
        choice = choices[0]
        if api == "completions":
            self._text(getattr(choice, "text", None) or "")
        else:
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None)
            if content:
                self._text(content)
            elif getattr(delta, "tool_calls", None) and call.ttft_ms is None:
                call.ttft_ms = (_perf() - self._started) * 1000.0
        return True

    def _text(self, text: str) -> None:
        if text:
            if self._call.ttft_ms is None:
                self._call.ttft_ms = (_perf() - self._started) * 1000.0
            self._parts.append(text)

    def _finish(self, status: str, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        call = self._call
        call.latency_ms = (_perf() - self._started) * 1000.0
        if call.status != "error":           # a response.failed event already said why
            call.status = status
            call.error = error
        call.output = "".join(self._parts)
        self._monitor._submit(call)

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
