"""What the call path hands to the writer, and how the writer turns it into a Record.

The call path only takes timestamps and references (a few microseconds); everything that costs —
reading usage off the response, JSON, pricing, tiktoken estimates — happens here, on the writer thread.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .record import Record

# Request keys that may carry credentials or are transport details, never stored.
_DROP_KEYS = {"extra_headers", "extra_query", "api_key", "timeout", "monitor_attributes"}
# Credential-like key names, dropped at any depth of a stored dict (extra_body, metadata) and of exports.
SECRET_KEY_NAMES = re.compile(r"^(api[-_]?key|authorization|proxy-authorization|(extra|default)?[-_]?headers|"
                              r"x-api-key|api-key|cookie|set-cookie|password|secret|client[-_]?secret|bearer)$", re.I)
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+[A-Za-z0-9_\-.*]{6,})")


class PendingCall:
    """One finished (or failed, or abandoned) API call, as captured on the call path."""

    __slots__ = (
        "stream", "ts", "latency_ms", "ttft_ms", "api", "request", "response", "status", "error",
        "output", "usage", "response_model", "attributes", "streamed", "secrets",
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


def scrub(text: str, secrets: tuple = ()) -> str:
    """Remove anything that looks like an API key from error text (OpenAI's 401 echoes part of it)."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("sk-***", text)


def jsonable(value: Any) -> Any:
    """json.dumps(default=...) for SDK objects: pydantic models, NotGiven, classes."""
    if isinstance(value, type):
        return value.__name__                 # e.g. a pydantic class passed as response_format
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    cls = type(value).__name__
    if cls in ("NotGiven", "Omit"):
        return None
    return repr(value)


def clean_request(request: dict) -> dict:
    """The call's parameters without transport or credential keys (serialised later with `jsonable`)."""
    return {k: drop_secret_keys(v) if isinstance(v, dict) else v for k, v in request.items()
            if k not in _DROP_KEYS and not SECRET_KEY_NAMES.match(k) and type(v).__name__ not in ("NotGiven", "Omit")}


def drop_secret_keys(value: Any) -> Any:
    """A copy of nested dicts/lists without credential-like keys."""
    if isinstance(value, dict):
        return {k: drop_secret_keys(v) for k, v in value.items() if not (isinstance(k, str) and SECRET_KEY_NAMES.match(k))}
    if isinstance(value, list):
        return [drop_secret_keys(v) for v in value]
    return value


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
    if api == "embeddings":
        completion = 0
    total = _get(usage, "total_tokens")
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
        text = _get(response, "output_text")
        if text:
            return text
        parts = []
        for item in _get(response, "output") or []:
            for content in _get(item, "content") or []:
                if _get(content, "type") == "output_text":
                    parts.append(_get(content, "text") or "")
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
        return [m.model_dump() if hasattr(m, "model_dump") else dict(m) for m in request.get("messages") or []]
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
    """Build the stored Record.  `pricing` and `tokens` are the modules (passed in to keep imports lazy)."""
    api = call.api
    response = call.response
    output = call.output if call.output is not None else response_text(api, response)
    response_model = call.response_model or _get(response, "model")
    usage = call.usage if call.usage is not None else _get(response, "usage")
    prompt, completion, total, cached, reasoning = usage_numbers(api, usage)
    estimated = False
    model = call.request.get("model")
    if prompt is None and (call.status != "error" or output):
        # No usage from the server (a non-OpenAI server, or a stream cut short): count it ourselves.
        if api in ("chat.completions", "responses"):
            count = tokens.count_chat_prompt(model, prompt_messages(api, call.request), tools=call.request.get("tools"))
        else:                                  # plain text in: no chat framing to add
            count = tokens.count_text(model, prompt_messages(api, call.request)[0]["content"])
        out_count = tokens.count_completion(model, output or "") if api != "embeddings" else None
        prompt = count.tokens
        completion = out_count.tokens if out_count else 0
        total = prompt + completion
        cached, reasoning = 0, 0
        estimated = True
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
    return Record(
        id=None, stream=call.stream, timestamp=call.ts, latency_ms=call.latency_ms, ttft_ms=call.ttft_ms,
        api=api, model=model, response_model=response_model, status=call.status,
        error=scrub(error, call.secrets) if error else None,
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, cached_tokens=cached,
        reasoning_tokens=reasoning, usage_estimated=estimated, cost_usd=cost, streamed=call.streamed,
        request=clean_request(call.request), output=output, attributes=call.attributes,
    )
