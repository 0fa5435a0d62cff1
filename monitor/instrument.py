"""Instrumenting an openai client: every create() becomes one PendingCall handed to the writer.

The wrapper's own work on the call path is a dict copy, two clock reads and a queue put.  Exceptions
are logged and re-raised unchanged.
"""
from __future__ import annotations

import inspect
import time
import weakref
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
RAW_HEADER = "X-Stainless-Raw-Response"
_ABSENT = object()


def wrap_client(monitor: "Monitor", client: Any) -> Any:
    """Replace create()/parse() on the client's resources with monitored versions; returns the same client.
    Copies made later with `client.copy()` / `client.with_options()` are instrumented too."""
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
    copy = getattr(client, "copy", None)
    if callable(copy):
        original_copy = getattr(copy, _WRAPPED, copy)

        def copy_monitored(*args: Any, **kwargs: Any) -> Any:
            return wrap_client(monitor, original_copy(*args, **kwargs))

        setattr(copy_monitored, _WRAPPED, original_copy)
        client.copy = client.with_options = copy_monitored   # the SDK aliases with_options = copy
    return client


def _snapshot(kwargs: dict) -> dict:
    """The parameters as sent: chat loops append to `messages` after the call, so copy the lists."""
    request = dict(kwargs)
    for key in ("messages", "input"):
        value = request.get(key)
        if isinstance(value, list):
            request[key] = [dict(m) if isinstance(m, dict) else m for m in value]
    return request


def _prepare(monitor: "Monitor", api: str, kwargs: dict, secrets: tuple) -> tuple[PendingCall, bool, str | None]:
    attributes = kwargs.pop("monitor_attributes", None)
    call = PendingCall(monitor.stream, _now(), api, _snapshot(kwargs), monitor._merged_attributes(attributes), secrets)
    headers = kwargs.get("extra_headers")
    raw = headers.get(RAW_HEADER) if isinstance(headers, dict) else None   # with_raw/streaming_response
    hide_usage = False
    if kwargs.get("stream") is True:
        call.streamed = True
        options = kwargs.get("stream_options", _ABSENT)
        if raw is None and api in ("chat.completions", "completions") and (
                options is _ABSENT or type(options).__name__ in ("NotGiven", "Omit")
                or (isinstance(options, dict) and "include_usage" not in options)):
            # Ask for exact usage on streams; the extra usage-only chunk is hidden from the caller.
            # An explicit stream_options=None is the caller's opt-out (servers that reject the option).
            kwargs["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            hide_usage = True
    return call, hide_usage, raw


def _failed(monitor: "Monitor", call: PendingCall, exc: BaseException, started: float) -> None:
    call.latency_ms = (_perf() - started) * 1000.0
    call.status = "cancelled" if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) or type(exc).__name__ == "CancelledError" else "error"
    call.error = exc
    monitor._submit(call)


def _sync_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple) -> Callable:
    def create(*args: Any, **kwargs: Any) -> Any:
        call, hide_usage, raw = _prepare(monitor, api, kwargs, secrets)
        started = _perf()
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        return _finished(monitor, call, response, started, hide_usage, raw, MonitoredStream)

    create.__doc__ = original.__doc__
    return create


def _async_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple) -> Callable:
    async def create(*args: Any, **kwargs: Any) -> Any:
        call, hide_usage, raw = _prepare(monitor, api, kwargs, secrets)
        started = _perf()
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        return _finished(monitor, call, response, started, hide_usage, raw, AsyncMonitoredStream)

    create.__doc__ = original.__doc__
    return create


def _finished(monitor: "Monitor", call: PendingCall, response: Any, started: float, hide_usage: bool,
              raw: str | None, stream_type: type) -> Any:
    if raw is not None:
        return _watch_raw(monitor, call, response, started, stream_type)
    if call.streamed:
        return stream_type(response, monitor, call, started, hide_usage)
    call.latency_ms = (_perf() - started) * 1000.0
    call.response = response
    monitor._submit(call)
    return response


def _watch_raw(monitor: "Monitor", call: PendingCall, response: Any, started: float, stream_type: type) -> Any:
    """`with_raw_response` / `with_streaming_response`: the body arrives through `.parse()`, so log there.
    A raw response that is never parsed is logged (without usage) when it is dropped."""
    parse = getattr(response, "parse", None)
    if parse is None:
        call.latency_ms = (_perf() - started) * 1000.0
        monitor._submit(call)
        return response
    state: dict[str, Any] = {}

    def observe(result: Any) -> Any:
        if "result" not in state:
            if call.streamed:
                state["result"] = stream_type(result, monitor, call, started, False)
            else:
                call.latency_ms = (_perf() - started) * 1000.0
                call.response = result
                monitor._submit(call)
                state["result"] = result
        return state["result"]

    if inspect.iscoroutinefunction(parse):
        async def parse_monitored(*args: Any, **kwargs: Any) -> Any:
            return observe(await parse(*args, **kwargs))
    else:
        def parse_monitored(*args: Any, **kwargs: Any) -> Any:
            return observe(parse(*args, **kwargs))

    def never_parsed(latency_ms: float = (_perf() - started) * 1000.0) -> None:
        if "result" not in state:
            call.latency_ms = latency_ms
            monitor._submit(call)

    response.parse = parse_monitored
    weakref.finalize(response, never_parsed)
    return response
