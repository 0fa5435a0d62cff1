"""What the call path hands to the writer, and how the writer turns it into a Record.

The call path only takes timestamps and references (a few microseconds); everything that costs —
reading usage off the response, JSON, pricing, tiktoken estimates — happens here, on the writer thread.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from . import redact
from .record import Record

# Request keys that may carry credentials or are transport details, never stored.
_DROP_KEYS = {"extra_headers", "extra_query", "api_key", "timeout", "monitor_attributes"}
# Stored JSON nests at most this deep (a board file, which adds a few levels, accepts 64).
MAX_STORED_DEPTH = 48
# One encoder: json.dumps(..., allow_nan=False) would build a new one per call (a third of its cost).
_encode = json.JSONEncoder(allow_nan=False).encode
# JSON text `clean` already made, for store.record_row to reuse (keyed by id, checked by identity; the
# writer thread takes each out once, and a batch that never gets written only costs a bounded dict).
_encoded: dict[int, tuple[Any, str]] = {}
# int -> str refuses beyond 4300 digits (sys.get_int_max_str_digits); stay well below.
_MAX_INT_BITS = 12_000


class PendingCall:
    """One finished (or failed, or abandoned) API call, as captured on the call path."""

    __slots__ = (
        "stream", "ts", "latency_ms", "ttft_ms", "api", "request", "response", "status", "error",
        "output", "usage", "response_model", "attributes", "streamed", "secrets", "note",
    )

    def __init__(self, stream: str, ts: float, api: str, request: dict, attributes: dict, secrets: tuple = ()):
        self.stream = stream
        self.ts = ts
        self.api = api
        self.request = request
        self.attributes = attributes
        self.secrets = secrets
        self.latency_ms: float | None = None
        self.ttft_ms: float | None = None
        self.response: Any = None          # the SDK's response object (non-stream)
        self.status = "success"
        self.error: BaseException | str | None = None
        self.output: str | None = None     # assembled text (streams)
        self.usage: Any = None             # usage object seen in a stream
        self.response_model: str | None = None
        self.streamed = False
        self.note: str | None = None       # what the monitor itself could not read (kept in `error`)


# Thin aliases for code (other branches' export.py) that still imports them from here; the rules live in redact.
SECRET_KEY_NAMES = redact.SECRET_KEY_NAMES


def scrub(text: str, secrets: tuple = ()) -> str:
    return redact.scrub_text(text, redact.usable_secrets(secrets))


def jsonable(value: Any) -> Any:
    """json.dumps(default=...) for SDK objects: pydantic models, NotGiven, classes."""
    if isinstance(value, type):
        return value.__name__                 # e.g. a pydantic class passed as response_format
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True, warnings=False)
    cls = type(value).__name__
    if cls in ("NotGiven", "Omit"):
        return None
    return repr(value)


def clean_request(request: dict) -> dict:
    """The call's parameters without transport or credential keys (nested credential keys are dropped,
    and everything made storable, by `storable`)."""
    return {k: v for k, v in request.items()
            if k not in _DROP_KEYS and not redact.SECRET_KEY_NAMES.match(k) and type(v).__name__ not in ("NotGiven", "Omit")}


def storable(value: Any, secrets: tuple = ()) -> Any:
    """`value` as plain JSON data that always serialises: credential-named keys dropped, strings
    scrubbed of secrets, and whatever cannot be stored replaced by a short placeholder — "<circular>",
    "<too deep>", "<unserialisable: T>", "<int too large: N bits>", "NaN"/"Infinity" as strings."""
    try:
        return _plain(value, secrets, 0, set())
    except Exception:                        # (each container already catches its own; this is the last net)
        return _placeholder(value)


def clean(value: Any, secrets: tuple = ()) -> Any:
    """`storable(value, secrets)`, without its cost for the usual value: plain JSON that holds nothing
    to scrub and cannot nest deeper than the limit is returned as it is (json.dumps and str.count run in C;
    the Python walk only runs when there is something to fix)."""
    try:
        text = _encode(value)
    except Exception:                                   # objects, NaN, huge ints, too deep for json
        return storable(value, secrets)
    if text.count("{") + text.count("[") <= MAX_STORED_DEPTH and not redact.json_needs_scrub(text, secrets):
        if value:
            if len(_encoded) > 10_000:
                _encoded.clear()
            _encoded[id(value)] = (value, text)
        return value
    return storable(value, secrets)


def _plain(value: Any, secrets: tuple, depth: int, path: set) -> Any:
    kind = type(value)
    if kind is str:
        return redact.scrub_text(value, secrets)
    if value is None or kind is bool or kind is int and value.bit_length() <= _MAX_INT_BITS:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return redact.scrub_text(str.__str__(value), secrets)      # a subclass's own __str__ may raise
    if isinstance(value, int):
        return int(value) if value.bit_length() <= _MAX_INT_BITS else f"<int too large: {value.bit_length()} bits>"
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else ("NaN" if value != value else "Infinity" if value > 0 else "-Infinity")
    if depth >= MAX_STORED_DEPTH:
        return "<too deep>"
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in path:
            return "<circular>"
        path.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {_plain_key(k, secrets): _plain(v, secrets, depth + 1, path) for k, v in value.items()
                        if not (isinstance(k, str) and redact.SECRET_KEY_NAMES.match(k))}
            return [_plain(v, secrets, depth + 1, path) for v in value]
        except Exception:
            return _placeholder(value)
        finally:
            path.discard(id(value))
    try:
        converted = jsonable(value)            # pydantic models, classes, NotGiven, else repr()
    except Exception:
        return _placeholder(value)
    if converted is value:
        return _placeholder(value)
    return _plain(converted, secrets, depth + 1, path)


def _plain_key(key: Any, secrets: tuple) -> Any:
    """A dict key JSON can write: str, int, finite float, bool, None; anything else as its repr."""
    if isinstance(key, str):
        return redact.scrub_text(str.__str__(key), secrets)
    if key is None or isinstance(key, bool) or (isinstance(key, float) and math.isfinite(key)):
        return key
    if isinstance(key, int) and key.bit_length() <= _MAX_INT_BITS:
        return int(key)
    try:
        return redact.scrub_text(repr(key), secrets)
    except Exception:
        return _placeholder(key)


def _placeholder(value: Any) -> str:
    return f"<unserialisable: {type(value).__name__}>"


def storable_json(value: Any) -> str | None:
    """The JSON text stored for `request` / `attributes`: None when empty, always valid JSON (no NaN, no
    unbounded nesting), whatever the value holds.  Runs on the writer thread."""
    if not value:
        return None
    known = _encoded.pop(id(value), None)
    if known is not None and known[0] is value:
        return known[1]
    try:
        return _encode(value)                         # finalize already made it plain: the fast path
    except Exception:
        return _encode(storable(value))


def as_text(value: Any) -> str | None:
    """A text field from whatever a server sent: content parts joined, numbers and objects as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        parts = []
        for part in value:
            text = part if isinstance(part, str) else _get(part, "text")
            if text is None and not isinstance(part, str):
                text = _get(part, "refusal")
            parts.append(text if isinstance(text, str) else as_text(text) or "")
        return "".join(parts)
    if hasattr(value, "model_dump") or isinstance(value, dict):
        try:
            return json.dumps(jsonable(value) if hasattr(value, "model_dump") else value,
                              default=jsonable, allow_nan=False)
        except Exception:
            pass
    try:
        return str(value)
    except Exception:
        return _placeholder(value)


def _count(value: Any) -> int | None:
    """A token count from a usage object: an int, or None when the server sent something else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def usage_numbers(api: str, usage: Any) -> tuple[int | None, int | None, int | None, int | None, int | None]:
    """(prompt, completion, total, cached, reasoning) from a Chat/Completions or Responses usage object."""
    if usage is None:
        return (None,) * 5
    if api == "responses":
        prompt, completion = _get(usage, "input_tokens"), _get(usage, "output_tokens")
        cached = _get(_get(usage, "input_tokens_details"), "cached_tokens")
        reasoning = _get(_get(usage, "output_tokens_details"), "reasoning_tokens")
    else:
        prompt, completion = _get(usage, "prompt_tokens"), _get(usage, "completion_tokens")
        cached = _get(_get(usage, "prompt_tokens_details"), "cached_tokens")
        reasoning = _get(_get(usage, "completion_tokens_details"), "reasoning_tokens")
    prompt, completion, cached, reasoning = _count(prompt), _count(completion), _count(cached), _count(reasoning)
    if api == "embeddings":
        completion = 0
    total = _count(_get(usage, "total_tokens"))
    if total is None and prompt is not None:
        total = prompt + (completion or 0)
    return prompt, completion, total, cached or 0, reasoning or 0


def response_text(api: str, response: Any) -> str | None:
    """The assistant's text (or a short description for embeddings and tool calls)."""
    if response is None:
        return None
    if api == "embeddings":
        data = _get(response, "data") or []
        dim = len(_get(data[0], "embedding") or []) if data else 0
        return f"[{len(data)} embedding{'s' if len(data) != 1 else ''} × {dim}]"
    if api == "responses":
        try:
            text = _get(response, "output_text")      # the SDK's own join raises on non-text parts
        except Exception:
            text = None
        if text:
            return text
        parts = []
        for item in _get(response, "output") or []:
            for content in _get(item, "content") or []:
                if _get(content, "type") == "output_text":
                    parts.append(as_text(_get(content, "text")) or "")
        return "".join(parts) or None
    choices = _get(response, "choices") or []
    if not choices:
        return None
    if api == "completions":
        return _get(choices[0], "text")
    message = _get(choices[0], "message")
    content = _get(message, "content")
    if content is None:
        calls = _get(message, "tool_calls") or []
        if calls:
            return json.dumps(
                [{"name": _get(_get(c, "function"), "name"), "arguments": _get(_get(c, "function"), "arguments")}
                 for c in calls]
            )
    return content


def prompt_messages(api: str, request: dict) -> list[dict]:
    """The request's input as chat messages, for token estimates."""
    if api == "chat.completions":
        return [m.model_dump() if hasattr(m, "model_dump") else dict(m) if isinstance(m, Mapping) else {"content": str(m)}
                for m in request.get("messages") or []]
    if api == "responses":
        messages = []
        if request.get("instructions"):
            messages.append({"role": "system", "content": request["instructions"]})
        value = request.get("input")
        if isinstance(value, str):
            messages.append({"role": "user", "content": value})
        elif isinstance(value, list):
            messages.extend(m if isinstance(m, dict) else {"content": str(m)} for m in value)
        return messages
    value = request.get("prompt") if api == "completions" else request.get("input")
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    return [{"role": "user", "content": str(value or "")}]


def _refused_by_server(error: Any) -> bool:
    """An HTTP error status from the server (openai.APIStatusError carries status_code)."""
    return isinstance(getattr(error, "status_code", None), int)


def finalize(call: PendingCall, pricing, tokens) -> Record:
    """Build the stored Record.  `pricing` and `tokens` are the modules (passed in to keep imports lazy).
    Every stored text is scrubbed of the client's and the call's credentials (redact.py), and request and
    attributes are made storable (`storable`)."""
    api = call.api
    response = call.response
    secrets = call.secrets                     # the client's (redact.usable_secrets at wrap time)
    if call.request.get("extra_headers") or call.request.get("extra_query"):
        secrets = redact.usable_secrets(secrets + redact.secrets_of_headers(call.request.get("extra_headers"))
                                        + redact.secrets_of_headers(call.request.get("extra_query")))
    note = call.note
    try:
        output = as_text(call.output if call.output is not None else response_text(api, response))
    except Exception as exc:                      # a reply in a shape nobody expected: keep the record
        output, note = None, note or f"could not read the reply ({type(exc).__name__}: {exc})"
    response_model = as_text(call.response_model or _get(response, "model"))
    try:
        usage = call.usage if call.usage is not None else _get(response, "usage")
        prompt, completion, total, cached, reasoning = usage_numbers(api, usage)
    except Exception as exc:
        prompt = completion = total = cached = reasoning = None
        note = note or f"could not read the usage ({type(exc).__name__}: {exc})"
    estimated = False
    model = call.request.get("model")
    model = model if isinstance(model, str) else as_text(model)
    if prompt is None and (call.status != "error" or output):
        # No usage from the server (a non-OpenAI server, or a stream cut short): count it ourselves.
        try:
            prompt, completion = _estimate(api, model, call.request, output, tokens)
            total, cached, reasoning = prompt + completion, 0, 0
            estimated = True
        except Exception as exc:                  # odd input: keep the record without token counts
            note = note or f"could not estimate tokens ({type(exc).__name__}: {exc})"
    cost = None
    if prompt is not None:
        billing = dict(pricing.media_tokens(usage), service_tier=_get(response, "service_tier"))
        for name in (response_model, model):
            cost = pricing.cost_usd(name, prompt, completion or 0, cached or 0, reasoning or 0, **billing) if name else None
            if cost is not None:
                break
    elif (call.status == "error" and _refused_by_server(call.error)
          and pricing.default_table().price_for(response_model or model) is not None):
        cost = 0.0   # an HTTP error answer is not billed and the price is known, so 0 is the truth
    # (timeouts and dropped connections stay None: the server may have run — and billed — the request)
    error = call.error
    if isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}"
    error = as_text(error)
    if note and call.status != "error":
        error = f"monitor: {note}"               # the call succeeded; this says what the record may lack
    texts = (model, response_model, error, output)
    if redact.needs_scrub("\n".join(t for t in texts if t), secrets):       # one look at them all
        model, response_model, error, output = (redact.scrub_text(t, secrets) if t else t for t in texts)
    request, attributes = clean(clean_request(call.request), secrets), clean(call.attributes, secrets)
    return Record(
        id=None, stream=call.stream, timestamp=call.ts, latency_ms=call.latency_ms, ttft_ms=call.ttft_ms,
        api=api, model=model, response_model=response_model, status=call.status, error=error or None,
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, cached_tokens=cached,
        reasoning_tokens=reasoning, usage_estimated=estimated, cost_usd=cost, streamed=call.streamed,
        request=request, output=output, attributes=attributes,
    )


def _estimate(api: str, model: Any, request: dict, output: str | None, tokens) -> tuple[int, int]:
    """(prompt, completion) tokens counted with tiktoken, for calls whose server reported no usage."""
    if api in ("chat.completions", "responses"):
        count = tokens.count_chat_prompt(model, prompt_messages(api, request), tools=request.get("tools"))
    else:                                  # plain text in: no chat framing to add
        count = tokens.count_text(model, prompt_messages(api, request)[0]["content"])
    completion = tokens.count_completion(model, output or "").tokens if api != "embeddings" else 0
    return count.tokens, completion
