"""Chat Completions: `client.chat.completions.create/parse` (and `.stream()`, which calls create)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .base import Adapter, as_text, get, plain


class ChatAdapter(Adapter):
    api = "chat.completions"
    resources = ((("chat", "completions"), ("create", "parse")),)
    streams = True
    stream_usage_option = True

    def text(self, response: Any) -> str | None:
        choices = get(response, "choices") or []
        if not choices:
            return None
        message = get(choices[0], "message")
        content = get(message, "content")
        if not content:
            calls = get(message, "tool_calls") or []
            if calls:
                return json.dumps([{"name": get(get(c, "function"), "name"),
                                    "arguments": get(get(c, "function"), "arguments")} for c in calls])
            refusal = get(message, "refusal")
            if refusal:
                return refusal
        return content

    def finish_reason(self, response: Any) -> str | None:
        choices = get(response, "choices") or []
        return get(choices[0], "finish_reason") if choices else None

    def messages(self, request: dict) -> list[dict]:
        return [m.model_dump() if hasattr(m, "model_dump") else dict(m) if isinstance(m, Mapping) else {"content": str(m)}
                for m in request.get("messages") or []]

    def observe(self, item: Any) -> tuple[bool, bool]:
        choices = item.choices
        if not choices:
            return False, item.usage is not None
        delta = getattr(choices[0], "delta", None)
        return bool(getattr(delta, "content", None) or getattr(delta, "tool_calls", None)
                    or getattr(delta, "refusal", None)), False

    def assemble(self, items: list) -> tuple[Any, str | None, str | None, str | None]:
        """A chat.completion from its chunks: content and refusal joined, tool calls joined by index
        (arguments exactly as sent), each choice's finish reason, the last usage."""
        reply: dict[str, Any] = {"object": "chat.completion"}
        choices: dict[int, dict] = {}
        note = None
        for chunk in items:
            try:
                self._add(reply, choices, chunk)
            except Exception as exc:               # an odd chunk: the rest is still read
                note = note or f"could not read part of the stream ({type(exc).__name__}: {exc})"
        reply["choices"] = [_choice(i, choices[i]) for i in sorted(choices)]
        return reply, None, None, note

    @staticmethod
    def _add(reply: dict, choices: dict, chunk: Any) -> None:
        for key in ("id", "created", "model", "service_tier", "system_fingerprint"):
            value = getattr(chunk, key, None)
            if value is not None:
                reply.setdefault(key, value)
        if getattr(chunk, "usage", None) is not None:
            reply["usage"] = plain(chunk.usage)
        for choice in getattr(chunk, "choices", None) or []:
            slot = choices.setdefault(getattr(choice, "index", 0) or 0,
                                      {"content": [], "refusal": [], "tools": {}, "finish": None, "role": None})
            if getattr(choice, "finish_reason", None):
                slot["finish"] = choice.finish_reason
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            slot["role"] = slot["role"] or getattr(delta, "role", None)
            for part, key in ((getattr(delta, "content", None), "content"), (getattr(delta, "refusal", None), "refusal")):
                if part is not None:
                    slot[key].append(part if isinstance(part, str) else as_text(part) or "")
            for tool in getattr(delta, "tool_calls", None) or []:
                call = slot["tools"].setdefault(getattr(tool, "index", 0) or 0,
                                                {"id": None, "type": "function", "name": [], "arguments": []})
                call["id"] = call["id"] or getattr(tool, "id", None)
                call["type"] = getattr(tool, "type", None) or call["type"]
                function = getattr(tool, "function", None)
                call["name"].append(as_text(getattr(function, "name", None)) or "")
                call["arguments"].append(as_text(getattr(function, "arguments", None)) or "")

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        if streamed:
            return ("for chunk in response:\n"
                    "    if chunk.choices and chunk.choices[0].delta.content:\n"
                    "        print(chunk.choices[0].delta.content, end='', flush=True)\nprint()")
        if tools:                              # a call with tools may answer with tool calls instead of text
            return ("message = response.choices[0].message\n"
                    "print(message.content if message.tool_calls is None else message.tool_calls)")
        return "print(response.choices[0].message.content)"


def _choice(index: int, slot: dict) -> dict:
    message: dict[str, Any] = {"role": slot["role"] or "assistant"}
    if slot["content"]:
        message["content"] = "".join(slot["content"])
    if slot["refusal"]:
        message["refusal"] = "".join(slot["refusal"])
    if slot["tools"]:
        message["tool_calls"] = [
            {k: v for k, v in (("id", t["id"]), ("type", t["type"]),
                               ("function", {"name": "".join(t["name"]), "arguments": "".join(t["arguments"])}))
             if v is not None}
            for _, t in sorted(slot["tools"].items())]
    choice: dict[str, Any] = {"index": index, "message": message}
    if slot["finish"]:
        choice["finish_reason"] = slot["finish"]
    return choice
