"""The Responses API: `client.responses.create/parse` (and `.stream()`), with its built-in tools.

A stream's reply is the final `response` object of `response.completed` / `.incomplete` / `.failed`; a
stream cut short keeps what arrived (the items finished so far, the text deltas).
"""
from __future__ import annotations

from typing import Any

from .base import Adapter, as_text, count, get, plain

# built-in tool call items, and the genai-prices usage key each is billed by (None: the table has no price)
BUILTIN_TOOLS = {"web_search_call": "web_searches", "file_search_call": "storage_searches",
                 "code_interpreter_call": None, "image_generation_call": None, "computer_call": None}
_FINAL = ("response.completed", "response.incomplete", "response.failed")


class ResponsesAdapter(Adapter):
    api = "responses"
    resources = ((("responses",), ("create", "parse")),)
    streams = True

    def usage(self, usage: Any):
        if usage is None:
            return (None,) * 5
        prompt, completion = count(get(usage, "input_tokens")), count(get(usage, "output_tokens"))
        cached = count(get(get(usage, "input_tokens_details"), "cached_tokens"))
        reasoning = count(get(get(usage, "output_tokens_details"), "reasoning_tokens"))
        return self._totals(usage, prompt, completion, cached, reasoning)

    def text(self, response: Any) -> str | None:
        if not isinstance(response, dict):
            try:
                text = get(response, "output_text")      # the SDK's own join raises on non-text parts
            except Exception:
                text = None
            if text:
                return text
        parts = []
        for item in get(response, "output") or []:
            for content in get(item, "content") or []:
                if get(content, "type") == "output_text":
                    parts.append(as_text(get(content, "text")) or "")
        text = "".join(parts)
        if text:
            return text
        refusals = [as_text(get(c, "refusal")) or "" for item in get(response, "output") or []
                    for c in get(item, "content") or [] if get(c, "type") == "refusal"]
        return "".join(refusals) or None

    def finish_reason(self, response: Any) -> str | None:
        status = get(response, "status")
        if status == "completed":
            return "completed"
        if status in (None, "in_progress", "queued"):
            return None                                   # not finished (a stream cut short)
        reason = get(get(response, "incomplete_details"), "reason")
        return reason if isinstance(reason, str) else status if isinstance(status, str) else None

    def messages(self, request: dict) -> list[dict]:
        messages = []
        if request.get("instructions"):
            messages.append({"role": "system", "content": request["instructions"]})
        value = request.get("input")
        if isinstance(value, str):
            messages.append({"role": "user", "content": value})
        elif isinstance(value, list):
            messages.extend(m if isinstance(m, dict) else {"content": str(m)} for m in value)
        return messages

    def observe(self, item: Any) -> tuple[bool, bool]:
        kind = getattr(item, "type", "")
        return kind.endswith(".delta") and kind != "response.reasoning_summary_text.delta", False

    def assemble(self, items: list):
        final, partial, text, status, error = None, [], [], None, None
        for event in items:
            kind = getattr(event, "type", "")
            if kind in _FINAL:
                final = getattr(event, "response", None)
                if kind == "response.failed":
                    status = "error"
                    error = getattr(getattr(final, "error", None), "message", None) or "response failed"
            elif kind == "response.output_item.done":
                partial.append(plain(getattr(event, "item", None)))
            elif kind == "response.output_text.delta":
                text.append(as_text(getattr(event, "delta", "")) or "")
            elif kind in ("response.created", "response.in_progress") and final is None:
                final = getattr(event, "response", None)
            elif kind == "error":
                status, error = "error", getattr(event, "message", None) or "stream error"
        reply = plain(final) if final is not None else {"object": "response"}
        if not isinstance(reply, dict):
            reply = {"object": "response"}
        if reply.get("status") in (None, "in_progress", "queued"):     # cut short: what arrived
            if text and not any(i.get("type") == "message" for i in partial if isinstance(i, dict)):
                partial.append({"type": "message", "role": "assistant", "status": "incomplete",
                                "content": [{"type": "output_text", "text": "".join(text)}]})
            reply["output"] = partial
        return reply, status, error, None

    def cost(self, pricing, models, numbers, usage, response, request):
        tokens = super().cost(pricing, models, numbers, usage, response, request)
        tools = tool_calls(response)
        if tokens is None or not tools:
            return tokens
        if any(BUILTIN_TOOLS[kind] is None for kind in tools):
            return None                                     # a tool the table can't price: unknown (noted)
        units = {BUILTIN_TOOLS[kind]: n for kind, n in tools.items()}
        extra = pricing.unit_cost(models, **units)
        return None if extra is None else tokens + extra

    def note(self, request: dict, response: Any) -> str | None:
        unpriced = sorted(kind for kind in tool_calls(response) if BUILTIN_TOOLS[kind] is None)
        if unpriced:
            return f"cost unknown: the price table has no price for {', '.join(unpriced)}"
        return None

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        if streamed:
            return ("for event in response:\n"
                    "    if event.type == 'response.output_text.delta':\n"
                    "        print(event.delta, end='', flush=True)\nprint()")
        if tools:
            return "print(response.output_text or [item for item in response.output if item.type == 'function_call'])"
        return "print(response.output_text)"


def tool_calls(response: Any) -> dict[str, int]:
    """How many built-in tool calls of each kind the reply's output holds."""
    found: dict[str, int] = {}
    for item in get(response, "output") or []:
        kind = get(item, "type")
        if kind in BUILTIN_TOOLS:
            found[kind] = found.get(kind, 0) + 1
    return found
