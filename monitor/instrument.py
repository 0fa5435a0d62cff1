"""Instrumenting an openai client: every create() becomes one PendingCall handed to the writer.

The wrapper's own work on the call path is a dict copy, two clock reads and a queue put.  Exceptions
are logged and re-raised unchanged.
"""
from __future__ import annotations

import inspect
import logging
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from . import apis, redact
from .capture import PendingCall
from .streams import submit_safely

if TYPE_CHECKING:
    from .monitor import Monitor

log = logging.getLogger("openai_monitor")
_perf = time.perf_counter
_now = time.time

# (attribute path on the client, the methods wrapped there, api name in the Record), from the adapters
# (monitor/apis). `parse` (structured outputs) posts on its own rather than through create(), so it is
# wrapped too; `.stream()` calls create().
RESOURCES = tuple((path, methods, a.api) for a in apis.ADAPTERS for path, methods in a.resources)
_USAGE_OPTION = frozenset(a.api for a in apis.ADAPTERS if a.stream_usage_option)
_WRAPPED = "__openai_monitor_original__"
RAW_HEADER = "X-Stainless-Raw-Response"
_ABSENT = object()
# Base URLs whose server answered 400 to the stream_options we add: later streams there go without it.
NO_STREAM_OPTIONS: set[str] = set()


def wrap_client(monitor: "Monitor", client: Any) -> Any:
    """Replace create()/parse() on the client's resources with monitored versions; returns the same client.
    Copies made later with `client.copy()` / `client.with_options()` are instrumented too."""
    is_async = type(client).__name__.startswith("Async")
    secrets = redact.secrets_of_client(client)
    base_url = str(getattr(client, "base_url", ""))
    for path, methods, api in RESOURCES:
        resource = client
        try:
            for name in path:
                resource = getattr(resource, name)
        except AttributeError:
            continue
        for method in methods:
            bound = getattr(resource, method, None)
            if bound is None:
                continue
            original = getattr(bound, _WRAPPED, bound)    # re-wrapping moves the client to the new monitor
            maker = _async_wrapper if is_async else _sync_wrapper
            wrapped = maker(monitor, original, api, secrets, base_url)
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


def _prepare(monitor: "Monitor", api: str, kwargs: dict, secrets: tuple,
             base_url: str) -> tuple[PendingCall | None, bool, Any, str | None]:
    """(the PendingCall, whether the monitor added stream_options — then the usage chunk is hidden —,
    the stream_options the caller gave, the raw-response header).  Never raises: a monitor problem only
    costs the record."""
    attributes = kwargs.pop("monitor_attributes", None)
    try:
        if attributes is not None and type(attributes) is not dict and not isinstance(attributes, Mapping):
            attributes = {"monitor_attributes": attributes}    # kept as given, not a TypeError for the caller
        call = PendingCall(monitor.stream, _now(), api, _snapshot(kwargs), monitor._merged_attributes(attributes), secrets)
        headers = kwargs.get("extra_headers")
        raw = headers.get(RAW_HEADER) if isinstance(headers, dict) else None   # with_raw/streaming_response
        added, given = False, _ABSENT
        if kwargs.get("stream") is True:
            call.streamed = True
            options = kwargs.get("stream_options", _ABSENT)
            if raw is None and api in _USAGE_OPTION and base_url not in NO_STREAM_OPTIONS and (
                    options is _ABSENT or type(options).__name__ in ("NotGiven", "Omit")
                    or (isinstance(options, dict) and "include_usage" not in options)):
                # Ask for exact usage on streams; the extra usage-only chunk is hidden from the caller.
                # An explicit stream_options=None is the caller's opt-out (servers that reject the option).
                kwargs["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
                added, given = True, options
        return call, added, given, raw
    except Exception as exc:
        log.warning("openai-monitor: this %s call is not recorded: %s", api,
                    redact.scrub_text(f"{type(exc).__name__}: {exc}", secrets))
        return None, False, _ABSENT, None


def _rejected_stream_options(exc: BaseException) -> bool:
    """A 400/422 that may be about the stream_options the monitor added: it names the option, or names
    no parameter at all (a server that rejects unknown fields).  A 400 about another parameter is not."""
    if getattr(exc, "status_code", None) not in (400, 422):
        return False
    text = f"{exc} {getattr(exc, 'body', '')}"
    if "stream_options" in text or "include_usage" in text:
        return True
    return getattr(exc, "param", None) in (None, "", "stream_options")


def _without_stream_options(kwargs: dict, given: Any) -> dict:
    retry = dict(kwargs)
    if given is _ABSENT:
        retry.pop("stream_options", None)
    else:
        retry["stream_options"] = given
    return retry


def _failed(monitor: "Monitor", call: PendingCall, exc: BaseException, started: float) -> None:
    try:
        call.latency_ms = (_perf() - started) * 1000.0
        call.status = "cancelled" if isinstance(exc, (KeyboardInterrupt, GeneratorExit)) or type(exc).__name__ == "CancelledError" else "error"
        call.error = exc
    except Exception:
        pass                                   # the caller's exception is what matters here
    submit_safely(monitor, call)


def _sync_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple, base_url: str = "") -> Callable:
    def create(*args: Any, **kwargs: Any) -> Any:
        call, added, given, raw = _prepare(monitor, api, kwargs, secrets, base_url)
        if call is None:
            return original(*args, **kwargs)
        started = _perf()
        try:
            refused = False
            try:
                response = original(*args, **kwargs)
            except Exception as exc:
                if not (added and _rejected_stream_options(exc)):
                    raise
                refused = True
            if refused:
                # The server refused the stream_options only the monitor added: ask again as the caller
                # did (outside the except block, so the caller's exception, if any, is the retry's own).
                response = original(*args, **_without_stream_options(kwargs, given))
                NO_STREAM_OPTIONS.add(base_url)
                added = False
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        return _finished(monitor, call, response, started, added, raw, _proxy(False))

    create.__doc__ = original.__doc__
    return create


def _async_wrapper(monitor: "Monitor", original: Callable, api: str, secrets: tuple, base_url: str = "") -> Callable:
    async def create(*args: Any, **kwargs: Any) -> Any:
        call, added, given, raw = _prepare(monitor, api, kwargs, secrets, base_url)
        if call is None:
            return await original(*args, **kwargs)
        started = _perf()
        try:
            refused = False
            try:
                response = await original(*args, **kwargs)
            except Exception as exc:
                if not (added and _rejected_stream_options(exc)):
                    raise
                refused = True
            if refused:
                # The server refused the stream_options only the monitor added: ask again as the caller
                # did (outside the except block, so the caller's exception, if any, is the retry's own).
                response = await original(*args, **_without_stream_options(kwargs, given))
                NO_STREAM_OPTIONS.add(base_url)
                added = False
        except BaseException as exc:
            _failed(monitor, call, exc, started)
            raise
        return _finished(monitor, call, response, started, added, raw, _proxy(True))

    create.__doc__ = original.__doc__
    return create


_proxies: tuple[type, type] | None = None


def _proxy(asynchronous: bool) -> type:
    """The stream proxy class (stream_proxies.py subclasses the SDK's Stream: loaded at first use)."""
    global _proxies
    if _proxies is None:
        from .stream_proxies import AsyncMonitoredStream, MonitoredStream
        _proxies = (MonitoredStream, AsyncMonitoredStream)
    return _proxies[asynchronous]


def _finished(monitor: "Monitor", call: PendingCall, response: Any, started: float, hide_usage: bool,
              raw: str | None, stream_type: type) -> Any:
    try:
        if raw is not None:
            return _watch_raw(monitor, call, response, started, stream_type)
        if call.streamed:
            return stream_type(response, monitor, call, started, hide_usage)
        call.latency_ms = (_perf() - started) * 1000.0
        call.response = response
    except Exception as exc:         # the caller gets its response whatever the monitor's trouble
        call.note = f"{type(exc).__name__}: {exc}"
    submit_safely(monitor, call)
    return response


def _watch_raw(monitor: "Monitor", call: PendingCall, response: Any, started: float, stream_type: type) -> Any:
    """`with_raw_response` / `with_streaming_response`: the body arrives through `.parse()`, so log there.
    A raw response that is never parsed is logged (without usage) when it is dropped."""
    parse = getattr(response, "parse", None)
    if parse is None:
        call.latency_ms = (_perf() - started) * 1000.0
        submit_safely(monitor, call)
        return response
    state: dict[str, Any] = {}

    def observe(result: Any) -> Any:
        if "result" not in state:
            state["result"] = result
            try:
                if call.streamed:
                    state["result"] = stream_type(result, monitor, call, started, False)
                else:
                    call.latency_ms = (_perf() - started) * 1000.0
                    call.response = result
                    submit_safely(monitor, call)
            except Exception as exc:
                call.note = f"{type(exc).__name__}: {exc}"
                submit_safely(monitor, call)
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
            submit_safely(monitor, call)

    response.parse = parse_monitored
    weakref.finalize(response, never_parsed)
    return response
