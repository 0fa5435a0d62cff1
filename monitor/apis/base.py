"""What every API adapter shares: reading SDK objects or dicts, and the default (token-billed) adapter.

An adapter is one API's knowledge (see monitor/apis/__init__.py). Its methods run on the writer thread,
except `observe`, which runs on the caller's path for each streamed item and must stay cheap and never
raise (the proxy catches anyway).
"""
from __future__ import annotations

import json
import math
from typing import Any, ClassVar

Usage = tuple  # (prompt, completion, total, cached, reasoning), each int or None


def get(obj: Any, name: str) -> Any:
    """obj.name or obj[name], None when absent (SDK objects and plain dicts alike)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def count(value: Any) -> int | None:
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


def as_text(value: Any) -> str | None:
    """A text field from whatever a server sent: content parts joined, numbers and objects as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        parts = []
        for part in value:
            text = part if isinstance(part, str) else get(part, "text")
            if text is None and not isinstance(part, str):
                text = get(part, "refusal")
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
        return f"<unserialisable: {type(value).__name__}>"


def plain(obj: Any) -> Any:
    """An SDK reply as plain JSON data without None fields (the same shape streamed or not)."""
    if hasattr(obj, "model_dump"):
        try:
            return obj.model_dump(exclude_none=True, warnings=False)   # pydantic's own, in Rust
        except Exception:
            obj = obj.model_dump(warnings=False)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


class Adapter:
    """One API. Subclasses set the class attributes and override what differs from token billing."""

    api: ClassVar[str]
    # (attribute path on the client, method names wrapped there)
    resources: ClassVar[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]
    streams: ClassVar[bool] = False          # whether stream=True yields items the adapter assembles
    stream_usage_option: ClassVar[bool] = False   # accepts stream_options={"include_usage": True}
    token_billed: ClassVar[bool] = True      # no usage in the reply: count tokens with tiktoken (an estimate)
    otel_operation: ClassVar[str] = "chat"   # gen_ai.operation.name

    # -- the reply -------------------------------------------------------------------------------------
    def usage(self, usage: Any) -> Usage:
        """(prompt, completion, total, cached, reasoning) from the reply's usage object."""
        if usage is None:
            return (None,) * 5
        prompt, completion = count(get(usage, "prompt_tokens")), count(get(usage, "completion_tokens"))
        cached = count(get(get(usage, "prompt_tokens_details"), "cached_tokens"))
        reasoning = count(get(get(usage, "completion_tokens_details"), "reasoning_tokens"))
        return self._totals(usage, prompt, completion, cached, reasoning)

    @staticmethod
    def _totals(usage: Any, prompt, completion, cached, reasoning) -> Usage:
        total = count(get(usage, "total_tokens"))
        if total is None and prompt is not None:
            total = prompt + (completion or 0)
        return prompt, completion, total, cached or 0, reasoning or 0

    def media_tokens(self, usage: Any, pricing: Any) -> dict[str, int]:
        return pricing.media_tokens(usage)

    def text(self, response: Any) -> str | None:
        return None

    def finish_reason(self, response: Any) -> str | None:
        return None

    def response_id(self, response: Any) -> str | None:
        rid = get(response, "id")
        return rid if isinstance(rid, str) else None

    def stored_response(self, response: Any) -> dict | None:
        """The reply as stored (large payloads are omitted later, in capture.clean)."""
        if response is None:
            return None
        if isinstance(response, dict):
            return response                    # already plain (finalize / assemble made it so)
        data = plain(response)
        return data if isinstance(data, dict) else {"value": data}

    # -- the request -----------------------------------------------------------------------------------
    def messages(self, request: dict) -> list[dict]:
        """The request's input as chat messages, for token estimates and displays."""
        return [{"role": "user", "content": str(request.get("input") or "")}]

    # -- streams ---------------------------------------------------------------------------------------
    def observe(self, item: Any) -> tuple[bool, bool]:
        """(a content-bearing item — the time to first token —, a usage-only item). Caller's path: cheap."""
        return False, False

    def assemble(self, items: list) -> tuple[Any, str | None, str | None, str | None]:
        """(the reply in its non-streamed shape, a status the stream itself reported — "error" —, its error,
        a note on what could not be read) from the streamed items."""
        return None, None, None, None

    # -- billing ---------------------------------------------------------------------------------------
    def billing(self, request: dict, response: Any) -> dict | None:
        """The billing unit of a call not billed in tokens (stored in `response["billing"]`)."""
        return None

    def cost(self, pricing: Any, models: tuple, numbers: Usage, usage: Any, response: Any,
             request: dict) -> float | None:
        prompt, completion, _, cached, reasoning = numbers
        if prompt is None:
            return None
        extra = dict(self.media_tokens(usage, pricing), service_tier=get(response, "service_tier"))
        for name in models:
            cost = pricing.cost_usd(name, prompt, completion or 0, cached or 0, reasoning or 0, **extra) if name else None
            if cost is not None:
                return cost
        return None

    def note(self, request: dict, response: Any) -> str | None:
        """What the record should say it lacks (e.g. a part of the cost the price table can't give)."""
        return None

    # -- "Copy as Python" ------------------------------------------------------------------------------
    def snippet_call(self, request: dict | None = None) -> str:
        """The client method the snippet calls for this request, e.g. 'client.chat.completions.create'."""
        path, methods = self.resources[0]
        return "client." + ".".join(path) + "." + methods[0]

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        """The snippet's last line(s): what to print of the reply (`tools`: the request offered tools)."""
        return "print(response)"
