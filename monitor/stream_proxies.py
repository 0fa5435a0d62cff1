"""The monitored stream proxies: `openai.Stream` / `openai.AsyncStream` instances (isinstance holds), made
without their __init__, yielding the inner stream's very items (the observing is streams._Observer).
Imported on a wrapped client's first streamed call: loading it loads the openai SDK."""
from __future__ import annotations

from typing import Any

import openai

from .streams import _Observer


class MonitoredStream(_Observer, openai.Stream):
    """An `openai.Stream` (isinstance holds) made without Stream.__init__: it yields the inner stream's items."""

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


class AsyncMonitoredStream(_Observer, openai.AsyncStream):
    """An `openai.AsyncStream` (isinstance holds) made without AsyncStream.__init__."""

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
