"""What "Open in Playground" hands over: everything needed to send a logged call again or continue it.

Pure Python (the Playground reads it in its `load_record`).  The messages are the full conversation of
the call — system, user, the assistant's earlier tool-call messages, the tool results — followed by the
reply itself when it asked for tool calls, so the Playground can show the pending calls and let the user
type their results and continue.
"""
from __future__ import annotations

import copy
from typing import Any

from monitor.record import Record

# Request keys with a place of their own in the payload; the rest are sampling parameters.
_OWN_KEYS = {"model", "messages", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
             "response_format", "text", "stream", "stream_options", "previous_response_id", "conversation"}


def _chat_reply_message(record: Record) -> dict | None:
    choices = (record.response or {}).get("choices") or []
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    if not isinstance(message, dict) or not message.get("tool_calls"):
        return None
    kept = {"role": "assistant", "content": message.get("content"), "tool_calls": message["tool_calls"]}
    return {k: v for k, v in kept.items() if v is not None or k == "content"}


def _responses_messages(request: dict, record: Record) -> list[dict]:
    items = request.get("input")
    messages: list[dict] = []
    if isinstance(request.get("instructions"), str):
        messages.append({"role": "system", "content": request["instructions"]})
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    elif isinstance(items, list):
        messages += [item for item in items if isinstance(item, dict)]
    messages += [item for item in (record.response or {}).get("output") or []
                 if isinstance(item, dict) and item.get("type") == "function_call"]
    return messages


def playground_payload(record: Record) -> dict[str, Any]:
    """{"api", "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format",
    "params", "previous_response_id", "pending_tool_calls"} of a logged call (copies; None when absent).

    Responses calls keep their own item shapes in `messages` (function_call / function_call_output items)
    and their `text.format` becomes `response_format`; `previous_response_id` says the server held
    earlier turns that are not in the messages."""
    request = copy.deepcopy(record.request or {})
    if record.api == "responses":
        messages = _responses_messages(request, record)
        response_format = (request.get("text") or {}).get("format") if isinstance(request.get("text"), dict) else None
        pending = [m.get("call_id") for m in messages if m.get("type") == "function_call"]
        answered = {m.get("call_id") for m in messages if m.get("type") == "function_call_output"}
    else:
        messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
        if (reply := _chat_reply_message(record)) is not None:
            messages.append(copy.deepcopy(reply))
        response_format = request.get("response_format")
        pending = [c.get("id") for m in messages if m.get("role") == "assistant"
                   for c in m.get("tool_calls") or [] if isinstance(c, dict)]
        answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    return {
        "api": record.api,
        "model": record.model or request.get("model"),
        "messages": messages,
        "tools": request.get("tools"),
        "tool_choice": request.get("tool_choice"),
        "parallel_tool_calls": request.get("parallel_tool_calls"),
        "response_format": response_format,
        "params": {k: v for k, v in request.items() if k not in _OWN_KEYS},
        "previous_response_id": request.get("previous_response_id"),
        "pending_tool_calls": [c for c in pending if c and c not in answered],   # calls still waiting for a result
    }
