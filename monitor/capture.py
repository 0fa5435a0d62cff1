"""What the call path hands to the writer, and how the writer turns it into a Record.

The call path only takes timestamps and references (a few microseconds); everything that costs —
reading usage off the response, JSON, pricing, tiktoken estimates — happens here, on the writer thread.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from . import apis, redact
from .apis import payloads
from .apis.base import as_text, get as _get, jsonable  # noqa: F401  (as_text, jsonable: public here too)
from .record import Record

# Request keys that may carry credentials or are transport details, never stored.
_DROP_KEYS = {"extra_headers", "extra_query", "api_key", "timeout", "monitor_attributes"}
# Stored JSON nests at most this deep (a board file, which adds a few levels, accepts 64).
MAX_STORED_DEPTH = 48


def _json_encoder():
    """json.JSONEncoder(allow_nan=False).encode, byte for byte, without its per-call Python setup: the C
    encoder built once (json.dumps builds a new one per call — a third of its cost).  No circular check:
    a circular value ends in RecursionError instead of ValueError, and both mean "not plain JSON"."""
    slow = json.JSONEncoder(allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        fast = make(None, slow.default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, False)
    except TypeError:                                   # no C accelerator, or its signature changed
        return slow.encode
    join = "".join
    return lambda value: join(fast(value, 0))


_encode = _json_encoder()
_escape = json.encoder.encode_basestring_ascii         # a str as JSON, quotes included
# JSON text `clean` already made, for store.record_row to reuse (keyed by id, checked by identity; the
# writer thread takes each out once, and a batch that never gets written only costs a bounded dict).
_encoded: dict[int, tuple[Any, str]] = {}
# int -> str refuses beyond 4300 digits (sys.get_int_max_str_digits); stay well below.
_MAX_INT_BITS = 12_000


class PendingCall:
    """One finished (or failed, or abandoned) API call, as captured on the call path."""

    __slots__ = (
        "stream", "ts", "latency_ms", "ttft_ms", "api", "request", "response", "status", "error",
        "output", "usage", "response_model", "attributes", "streamed", "secrets", "note", "items",
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
        self.output: str | None = None     # the text, when the caller's path already knows it
        self.usage: Any = None
        self.response_model: str | None = None
        self.streamed = False
        self.note: str | None = None       # what the monitor itself could not read (kept in `error`)
        self.items: list | None = None     # a stream's chunks / events, assembled on the writer thread


# Thin aliases for code (other branches' export.py) that still imports them from here; the rules live in redact.
SECRET_KEY_NAMES = redact.SECRET_KEY_NAMES


def scrub(text: str, secrets: tuple = ()) -> str:
    return redact.scrub_text(text, redact.usable_secrets(secrets))


def clean_request(request: dict) -> dict:
    """The call's parameters without transport or credential keys (nested credential keys are dropped,
    and everything made storable, by `storable`)."""
    return {k: v for k, v in request.items()
            if _kept_key(k) and type(v).__name__ not in ("NotGiven", "Omit")}


@functools.lru_cache(maxsize=1024)
def _kept_key(key: str) -> bool:             # (a call's parameter names repeat: decided once per name)
    return key not in _DROP_KEYS and not redact.SECRET_KEY_NAMES.match(key)


def storable(value: Any, secrets: tuple = ()) -> Any:
    """`value` as plain JSON data that always serialises: credential-named keys dropped, strings
    scrubbed of secrets, and whatever cannot be stored replaced by a short placeholder — "<circular>",
    "<too deep>", "<unserialisable: T>", "<int too large: N bits>", "NaN"/"Infinity" as strings."""
    try:
        return _plain(value, secrets, 0, set())
    except Exception:                        # (each container already catches its own; this is the last net)
        return _placeholder(value)


def clean(value: Any, secrets: tuple = (), *, from_server: bool = False) -> Any:
    """`storable(value, secrets)`, without its cost for the usual value: plain JSON that holds nothing
    to scrub and cannot nest deeper than the limit is returned as it is (json.dumps and str.count run in C;
    the Python walk only runs when there is something to fix)."""
    return _cleaned(value, secrets, from_server)[0]


def _cleaned(value: Any, secrets: tuple, from_server: bool) -> tuple[Any, str | None]:
    """(clean(value), its JSON text when the value was stored as it is — nothing found to fix —, else None)."""
    try:
        text = _encode(value)
    except Exception:                                   # objects, NaN, huge ints, too deep for json
        return storable(value, secrets), None
    if (text.count("{") + text.count("[") <= MAX_STORED_DEPTH
            and not redact.json_needs_scrub(text, secrets, patterns=from_server) and not _may_hold_payload(text)):
        if value:
            if len(_encoded) > 10_000:
                _encoded.clear()
            _encoded[id(value)] = (value, text)
        return value, text
    return storable(value, secrets), None


# payloads.CUES as one regex pass (their common '"' prefix is a fast literal scan) plus one memchr
_QUOTED_CUES = re.compile("|".join(re.escape(c) for c in payloads.CUES if c.startswith('"')))
_OTHER_CUES = tuple(c for c in payloads.CUES if not c.startswith('"'))


def _may_hold_payload(text: str) -> bool:
    """Whether JSON text may hold base64 data or vectors (payloads.py): a cue, or long enough to hide one."""
    if len(text) > 16_384:
        return True
    for cue in _OTHER_CUES:
        if cue[0] in text and cue in text:
            return True
    return _QUOTED_CUES.search(text) is not None


def _plain(value: Any, secrets: tuple, depth: int, path: set, key: Any = None) -> Any:
    kind = type(value)
    if kind is str:
        if len(value) > 16 and (value.startswith("data:") or len(value) >= payloads.MIN_BASE64):
            value = payloads.string(value, key)
            if type(value) is not str:
                return value
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
                return {_plain_key(k, secrets): _plain(payloads.vector(v) if k == "embedding" else v,
                                                       secrets, depth + 1, path, k)
                        for k, v in value.items() if not (isinstance(k, str) and redact.SECRET_KEY_NAMES.match(k))}
            return [_plain(v, secrets, depth + 1, path) for v in value]
        except Exception:
            return _placeholder(value)
        finally:
            path.discard(id(value))
    stand_in = payloads.binary(value) or payloads.file_like(value)     # uploads: never their bytes
    if stand_in is not None:
        return stand_in
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


def usage_numbers(api: str, usage: Any) -> tuple[int | None, int | None, int | None, int | None, int | None]:
    """(prompt, completion, total, cached, reasoning) from the API's usage object."""
    return apis.adapter(api).usage(usage)


def response_text(api: str, response: Any) -> str | None:
    """The reply's text (or a short description: embeddings, images, tool calls)."""
    return apis.adapter(api).text(response) if response is not None else None


def prompt_messages(api: str, request: dict) -> list[dict]:
    """The request's input as chat messages, for token estimates and displays."""
    return apis.adapter(api).messages(request)


def _refused_by_server(error: Any) -> bool:
    """An HTTP error status from the server (openai.APIStatusError carries status_code)."""
    return isinstance(getattr(error, "status_code", None), int)


def finalize(call: PendingCall, pricing, tokens) -> Record:
    """Build the stored Record through the call's API adapter (monitor/apis).  `pricing` and `tokens` are
    the modules (passed in to keep imports lazy).  Every stored text is scrubbed of the client's and the
    call's credentials (redact.py); request, response and attributes are made storable (`clean`: also
    base64 payloads and vectors replaced by their {"omitted", "bytes", "sha256"} stand-ins)."""
    api = call.api
    adapter = apis.adapter(api)
    response = call.response
    secrets = call.secrets                     # the client's (redact.usable_secrets at wrap time)
    if call.request.get("extra_headers") or call.request.get("extra_query"):
        secrets = redact.usable_secrets(secrets + redact.secrets_of_headers(call.request.get("extra_headers"))
                                        + redact.secrets_of_headers(call.request.get("extra_query")))
    note = call.note
    status, error = call.status, call.error
    if call.items is not None:                 # a stream: the reply in its non-streamed shape
        try:
            response, said_status, said_error, stream_note = adapter.assemble(call.items)
            note = note or stream_note
            if said_status is not None and status != "cancelled":
                status, error = said_status, said_error
        except Exception as exc:
            response, note = None, note or f"could not read the stream ({type(exc).__name__}: {exc})"
    elif hasattr(response, "model_dump"):
        try:
            response = apis.base.plain(response)   # read once as plain data: adapters, storage, exports
        except Exception as exc:
            note = note or f"could not read the reply ({type(exc).__name__}: {exc})"
    try:
        finish_reason = as_text(adapter.finish_reason(response))
    except Exception:
        finish_reason = None
    if status == "cancelled" and call.items is not None and finish_reason is not None:
        status, error = "success", None        # closed after the reply was complete (before the usage chunk)
    try:
        output = as_text(call.output if call.output is not None else response_text(api, response))
    except Exception as exc:                      # a reply in a shape nobody expected: keep the record
        output, note = None, note or f"could not read the reply ({type(exc).__name__}: {exc})"
    if output is None and call.items is not None:
        output = ""                              # a stream's text is what arrived, maybe nothing
    response_model = as_text(call.response_model or _get(response, "model"))
    usage = call.usage if call.usage is not None else _get(response, "usage")
    try:
        prompt, completion, total, cached, reasoning = adapter.usage(usage)
    except Exception as exc:
        prompt = completion = total = cached = reasoning = None
        note = note or f"could not read the usage ({type(exc).__name__}: {exc})"
    estimated = False
    model = call.request.get("model")
    model = model if isinstance(model, str) else as_text(model)
    if prompt is None and adapter.token_billed and (status != "error" or output):
        # No usage from the server (a non-OpenAI server, or a stream cut short): count it ourselves.
        try:
            prompt, completion = _estimate(adapter, model, call.request, output, tokens)
            total, cached, reasoning = prompt + completion, 0, 0
            estimated = True
        except Exception as exc:                  # odd input: keep the record without token counts
            note = note or f"could not estimate tokens ({type(exc).__name__}: {exc})"
    cost = None
    stored = None
    try:
        if status != "error" or response is not None:
            cost = adapter.cost(pricing, (response_model, model), (prompt, completion, total, cached, reasoning),
                                usage, response, call.request)
            note = note or adapter.note(call.request, response)
        stored = adapter.stored_response(response)
        billing = adapter.billing(call.request, response) if status != "error" else None
        if billing is not None:
            stored = {**(stored or {}), "billing": billing}
    except Exception as exc:
        note = note or f"could not price or store the reply ({type(exc).__name__}: {exc})"
    if cost is None and prompt is None and (status == "error" and _refused_by_server(error)
                                            and pricing.default_table().price_for(response_model or model) is not None):
        cost = 0.0   # an HTTP error answer is not billed and the price is known, so 0 is the truth
    # (timeouts and dropped connections stay None: the server may have run — and billed — the request)
    try:
        response_id = adapter.response_id(response)
    except Exception:
        response_id = None
    if isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}"
    error = as_text(error)
    if note and status != "error":
        error = f"monitor: {note}"               # the call succeeded; this says what the record may lack
    stored, stored_text = _cleaned(stored, secrets, True) if stored else (None, None)
    texts = (model, response_model, error, output, response_id, finish_reason)
    looked_at = texts
    if output and stored_text is not None and redact.covered_by_json(output, _escape(output), stored_text):
        looked_at = (model, response_model, error, response_id, finish_reason)   # the reply's check saw it
    if redact.needs_scrub("\n".join(t for t in looked_at if t), secrets):       # one look at them all
        model, response_model, error, output, response_id, finish_reason = (
            redact.scrub_text(t, secrets) if t else t for t in texts)
    request, attributes = clean(clean_request(call.request), secrets), clean(call.attributes, secrets)
    return Record(
        id=None, stream=call.stream, timestamp=call.ts, latency_ms=call.latency_ms, ttft_ms=call.ttft_ms,
        api=api, model=model, response_model=response_model, status=status, error=error or None,
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, cached_tokens=cached,
        reasoning_tokens=reasoning, usage_estimated=estimated, cost_usd=cost, streamed=call.streamed,
        request=request, output=output, attributes=attributes, response_id=response_id,
        finish_reason=finish_reason, response=stored,
    )


def _estimate(adapter: Any, model: Any, request: dict, output: str | None, tokens) -> tuple[int, int]:
    """(prompt, completion) tokens counted with tiktoken, for calls whose server reported no usage."""
    messages = adapter.messages(request)
    if adapter.api in ("chat.completions", "responses"):
        count = tokens.count_chat_prompt(model, messages, tools=request.get("tools"))
    else:                                  # plain text in: no chat framing to add
        count = tokens.count_text(model, messages[0]["content"])
    completion = tokens.count_completion(model, output or "").tokens if adapter.api != "embeddings" else 0
    return count.tokens, completion
