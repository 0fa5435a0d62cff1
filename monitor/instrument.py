"""Instrumenting an openai client: every create() becomes one PendingCall handed to the writer.

The wrapper's own work on the call path is a dict copy, two clock reads and a queue put.  Exceptions
are logged and re-raised unchanged.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from .capture import PendingCall
from .streams import AsyncMonitoredStream, MonitoredStream

if TYPE_CHECKING:
    from .monitor import Monitor

_perf = time.perf_counter
_now = time.time

# (attribute path on the client, api name in the Record)
RESOURCES = (
    (("chat", "completions"), "chat.completions"),
    (("responses",), "responses"),
    (("embeddings",), "embeddings"),
    (("completions",), "completions"),
)
# `parse` (structured outputs) posts on its own rather than through create(), so it is wrapped too.
METHODS = ("create", "parse")
_WRAPPED = "__openai_monitor_original__"


def wrap_client(monitor: "Monitor", client: Any) -> Any:
    """Replace create() on the client's resources with monitored versions; returns the same client."""
    is_async = type(client).__name__.startswith("Async")
    secrets = (getattr(client, "api_key", None) or "",)
    for path, api in RESOURCES:
        resource = client
        try:
            for name in path:
                resource = getattr(resource, name)
        except AttributeError:
            continue
        for method in METHODS:
            bound = getattr(resource, method, None)
            if bound is None:
                continue
            original = getattr(bound, _WRAPPED, bound)    # re-wrapping moves the client to the new monitor
            maker = _async_wrapper if is_async else _sync_wrapper
            wrapped = maker(monitor, original, api, secrets)
            setattr(wrapped, _WRAPPED, original)
            setattr(resource, method, wrapped)
    return client


def _prepare(monitor: "Monitor", api: str, kwargs: dict, secrets: tuple) -> tuple[PendingCall, bool]:
    attributes = kwargs.pop("monitor_attributes", None)
    call = PendingCall(monitor.stream, _now(), api, dict(kwargs), monitor._merged_attributes(attributes), secrets)
    hide_usage = False
    if kwargs.get("stream") is True and api in ("chat.completions", "completions"):
        call.streamed = True
        options = kwargs.get("stream_options")
        if not isinstance(options, dict) or "include_usage" not in options:
            # Ask for exact usage on streams; the extra usage-only chunk is hidden from the caller.
            kwargs["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            hide_usage = True
    elif kwargs.get("stream") is True:
        call.streamed = True
    return call, hide_usage


def _failed(monitor: "Monitor", call: PendingCall, exc: BaseException, started: float) -> None:
    call.latency_ms = (_perf() - started) * 1000.0
    call.status = "cancelled" if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) or type(exc).__name__ == "CancelledError" else "error"
    call.error = exc
    monitor._submit(call)


def _sync_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple) -> Callable:
    def create(*args: Any, **kwargs: Any) -> Any:
        call, hide_usage = _prepare(monitor, api, kwargs, secrets)
        started = _perf()
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        if call.streamed:
            return MonitoredStream(response, monitor, call, started, hide_usage)
        call.latency_ms = (_perf() - started) * 1000.0
        call.response = response
        monitor._submit(call)
        return response

    create.__doc__ = original.__doc__
    return create


def _async_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple) -> Callable:
    async def create(*args: Any, **kwargs: Any) -> Any:
        call, hide_usage = _prepare(monitor, api, kwargs, secrets)
        started = _perf()
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        if call.streamed:
            return AsyncMonitoredStream(response, monitor, call, started, hide_usage)
        call.latency_ms = (_perf() - started) * 1000.0
        call.response = response
        monitor._submit(call)
        return response

    create.__doc__ = original.__doc__
    return create
