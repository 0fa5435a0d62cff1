"""Every record also as an OpenTelemetry span (OTLP/HTTP), following the GenAI semantic conventions.

Turned on by `$OPENAI_MONITOR_OTLP_ENDPOINT` or `init_monitor(..., otlp_endpoint=...)` (e.g.
``http://127.0.0.1:4318``; spans go to ``<endpoint>/v1/traces``). Headers come from
`$OTEL_EXPORTER_OTLP_HEADERS` (read by the OTLP exporter itself). Prompt and output text are sent only when
`$OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is ``true``.

Off the call path twice over: spans are made on the store writer's thread from finished Records, and
sent in batches by the SDK's BatchSpanProcessor thread, whose queue is bounded (a dead collector drops
spans, counted in `dropped_spans`, and never slows or breaks a call). The opentelemetry packages are
imported only when an endpoint is configured.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, Iterable

from ..apis import ADAPTERS
from ..forksafe import ForkSafeLock

log = logging.getLogger("openai_monitor")

ENDPOINT_ENV = "OPENAI_MONITOR_OTLP_ENDPOINT"
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# the GenAI conventions' operation names, by the record's api (each adapter in monitor/apis says its own)
OPERATIONS = {a.api: a.otel_operation for a in ADAPTERS}
# request parameter -> gen_ai.request.* attribute
REQUEST_PARAMS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens",
                  "max_completion_tokens": "max_tokens", "max_output_tokens": "max_tokens",
                  "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty",
                  "seed": "seed", "n": "choice.count", "stop": "stop_sequences", "top_k": "top_k"}
_OWN_KEYS = {"stream", "cost_usd", "latency_ms", "ttft_ms", "cached_tokens", "reasoning_tokens",
             "usage_estimated", "streamed", "status", "record_id"}


def capture_content() -> bool:
    return os.environ.get(CONTENT_ENV, "").strip().lower() == "true"


def _primitive(value: Any) -> Any:
    """An OTel attribute value: str/bool/int/float or a homogeneous list of them; anything else as JSON."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)[:4096]
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def _error_type(error: str | None) -> str:
    # stored errors read "APIStatusError: Error code: 500 - ..." (redacted); the class name is the type
    head = (error or "").split(":", 1)[0].strip()
    return head if head and " " not in head else "_OTHER"


def span_name(record: Any) -> str:
    operation = OPERATIONS.get(record.api, record.api)
    return f"{operation} {record.model}" if record.model else operation


def span_attributes(record: Any, *, with_content: bool = False) -> dict[str, Any]:
    """The span's attributes for one Record (pure: the tests check this and the wire)."""
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS.get(record.api, record.api),
        "gen_ai.provider.name": "openai",
        "openai_monitor.stream": record.stream,
        "openai_monitor.api": record.api,
        "openai_monitor.status": record.status,
        "openai_monitor.streamed": bool(record.streamed),
        "openai_monitor.usage_estimated": bool(record.usage_estimated),
    }
    optional = {
        "gen_ai.request.model": record.model,
        "gen_ai.response.model": record.response_model,
        "gen_ai.response.id": getattr(record, "response_id", None),
        "gen_ai.usage.input_tokens": record.prompt_tokens,
        "gen_ai.usage.output_tokens": record.completion_tokens,
        "openai_monitor.cost_usd": record.cost_usd,
        "openai_monitor.latency_ms": record.latency_ms,
        "openai_monitor.ttft_ms": record.ttft_ms,
        "openai_monitor.cached_tokens": record.cached_tokens,
        "openai_monitor.reasoning_tokens": record.reasoning_tokens,
        "openai_monitor.record_id": record.id,
    }
    attrs.update({k: v for k, v in optional.items() if v is not None})
    finish = getattr(record, "finish_reason", None)
    if finish:
        attrs["gen_ai.response.finish_reasons"] = [str(finish)]
    request = record.request or {}
    for param, name in REQUEST_PARAMS.items():
        value = request.get(param)
        if value is not None:
            if name == "stop_sequences" and isinstance(value, str):
                value = [value]
            attrs[f"gen_ai.request.{name}"] = _primitive(value)
    if record.status == "error":
        attrs["error.type"] = _error_type(record.error)
    for key, value in (record.attributes or {}).items():
        key = str(key)
        name = f"openai_monitor.{key}" if key not in _OWN_KEYS else f"openai_monitor.attributes.{key}"
        attrs[name] = _primitive(value)
    if with_content:
        attrs.update(_content(record))
    return attrs


def _content(record: Any) -> dict[str, str]:
    from ..capture import prompt_messages     # the one reading of a request's messages
    try:
        messages = prompt_messages(record.api, record.request or {})
    except Exception:                         # an odd request shape: send what we have, no messages
        messages = []
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    others = [m for m in messages if m not in system]

    def parts(content: Any) -> list[dict]:
        if isinstance(content, str):
            return [{"type": "text", "content": content}]
        return [{"type": "text", "content": json.dumps(content, default=str)}]

    out: dict[str, str] = {
        "gen_ai.input.messages": json.dumps([{"role": m.get("role", "user"), "parts": parts(m.get("content"))}
                                             for m in others], ensure_ascii=False)}
    if system:
        out["gen_ai.system_instructions"] = json.dumps(
            [p for m in system for p in parts(m.get("content"))], ensure_ascii=False)
    if record.output is not None:
        out["gen_ai.output.messages"] = json.dumps([{
            "role": "assistant", "parts": [{"type": "text", "content": record.output}],
            "finish_reason": getattr(record, "finish_reason", None) or ("error" if record.status == "error" else "stop"),
        }], ensure_ascii=False)
    return out


def traces_url(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


class OtlpExporter:
    """One OTLP/HTTP span exporter (its own TracerProvider: the host program's global one is left alone)."""

    def __init__(self, endpoint: str, *, timeout_s: float = 5.0, max_queue: int = 8192):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from .. import __version__

        self.url = traces_url(endpoint)
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "openai-monitor"})
        # shutdown_on_exit=False: the SDK's own atexit hook would run before the writer's last commit
        self._provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        exporter = _SaidOnce(OTLPSpanExporter(endpoint=self.url, timeout=timeout_s), self.url)
        self._processor = BatchSpanProcessor(
            exporter, max_queue_size=max_queue,
            schedule_delay_millis=500, max_export_batch_size=512, export_timeout_millis=timeout_s * 1000)
        self._provider.add_span_processor(self._processor)
        self._tracer = self._provider.get_tracer("openai-monitor", __version__)
        self.exported = 0

    def emit(self, record: Any, *, with_content: bool) -> None:
        from opentelemetry.trace import Status, StatusCode

        start = int(record.timestamp * 1e9)
        end = start + int((record.latency_ms or 0.0) * 1e6)
        span = self._tracer.start_span(span_name(record), start_time=start,
                                       attributes=span_attributes(record, with_content=with_content))
        if record.status == "error":
            span.set_status(Status(StatusCode.ERROR, (record.error or "")[:500]))
        span.end(end_time=end)
        self.exported += 1

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Send what is queued, waiting at most `timeout_s` (a dead collector must not hold up exit)."""
        worker = threading.Thread(target=self._provider.shutdown, daemon=True, name="openai-monitor-otlp-exit")
        worker.start()
        worker.join(timeout_s)


def _said_once_class():
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class SaidOnce(SpanExporter):
        """The OTLP exporter, but an unreachable collector is said once on stderr (and its recovery once),
        not once per batch and retry; spans that could not be sent are counted in `dropped`."""

        def __init__(self, inner, url: str):
            self.inner, self.url, self.dropped, self._failing = inner, url, 0, False
            client = getattr(inner, "_client", None)      # its transport logs every retry: keep it quiet
            if client is not None and hasattr(client, "_logger"):
                client._logger = _QUIET

        def export(self, spans):
            try:
                result = self.inner.export(spans)
            except Exception:                              # noqa: BLE001
                result = SpanExportResult.FAILURE
            if result is SpanExportResult.SUCCESS:
                if self._failing:
                    self._failing = False
                    log.warning("openai-monitor: the OTLP collector at %s answers again", self.url)
            else:
                self.dropped += len(spans)
                if not self._failing:
                    self._failing = True
                    log.warning("openai-monitor: could not send spans to %s (collector unreachable?); "
                                "dropping them until it answers", self.url)
            return result

        def shutdown(self):
            self.inner.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return self.inner.force_flush(timeout_millis)

    return SaidOnce


def _SaidOnce(inner, url):
    return _said_once_class()(inner, url)


_QUIET = logging.getLogger("openai_monitor.otlp_transport")
_QUIET.propagate = False
_QUIET.addHandler(logging.NullHandler())

_lock = ForkSafeLock()     # a forked child gets it unlocked
_exporters: dict[str, OtlpExporter] = {}     # by traces URL
_routes: dict[str, OtlpExporter] = {}        # by stream name


def route(stream: str, endpoint: str | None) -> OtlpExporter | None:
    """Send `stream`'s records to `endpoint` (None: the environment's, or nowhere)."""
    endpoint = endpoint or os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        return None
    url = traces_url(endpoint)
    with _lock:
        exporter = _exporters.get(url)
        if exporter is None:
            try:
                exporter = _exporters[url] = OtlpExporter(url)
            except ImportError as exc:      # a trimmed install: say how to get it, never break the program
                log.warning("openai-monitor: OpenTelemetry export needs opentelemetry-sdk and "
                            "opentelemetry-exporter-otlp-proto-http (%s); not exporting", exc)
                return None
        _routes[stream] = exporter
    return exporter


def active() -> bool:
    return bool(_routes)


def emit(records: Iterable[Any]) -> None:
    """Called by the store writer with finished Records; never raises (a span is not worth a call)."""
    if not _routes:
        return
    with_content = capture_content()
    for record in records:
        exporter = _routes.get(record.stream)
        if exporter is None:
            continue
        try:
            exporter.emit(record, with_content=with_content)
        except Exception as exc:                # noqa: BLE001 - telemetry must never break logging
            log.debug("openai-monitor: could not make a span: %s", exc)


def shutdown_all(timeout_s: float = 2.0) -> None:
    with _lock:
        exporters = list(_exporters.values())
        _exporters.clear()
        _routes.clear()
    for exporter in exporters:
        exporter.shutdown(timeout_s)
