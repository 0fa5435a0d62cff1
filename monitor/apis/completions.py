"""Legacy Completions: `client.completions.create` (prompt in, text out)."""
from __future__ import annotations

from typing import Any

from .base import Adapter, as_text, get, plain


class CompletionsAdapter(Adapter):
    api = "completions"
    resources = ((("completions",), ("create",)),)
    streams = True
    stream_usage_option = True
    otel_operation = "text_completion"

    def text(self, response: Any) -> str | None:
        choices = get(response, "choices") or []
        return get(choices[0], "text") if choices else None

    def finish_reason(self, response: Any) -> str | None:
        choices = get(response, "choices") or []
        return get(choices[0], "finish_reason") if choices else None

    def messages(self, request: dict) -> list[dict]:
        value = request.get("prompt")
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        return [{"role": "user", "content": str(value or "")}]

    def observe(self, item: Any) -> tuple[bool, bool]:
        choices = item.choices
        if not choices:
            return False, item.usage is not None
        return bool(getattr(choices[0], "text", None)), False

    def assemble(self, items: list):
        reply: dict[str, Any] = {"object": "text_completion"}
        choices: dict[int, dict] = {}
        note = None
        for chunk in items:
            try:
                for key in ("id", "created", "model", "system_fingerprint"):
                    value = getattr(chunk, key, None)
                    if value is not None:
                        reply.setdefault(key, value)
                if getattr(chunk, "usage", None) is not None:
                    reply["usage"] = plain(chunk.usage)
                for choice in getattr(chunk, "choices", None) or []:
                    slot = choices.setdefault(getattr(choice, "index", 0) or 0, {"text": [], "finish": None})
                    slot["text"].append(as_text(getattr(choice, "text", None)) or "")
                    slot["finish"] = getattr(choice, "finish_reason", None) or slot["finish"]
            except Exception as exc:
                note = note or f"could not read part of the stream ({type(exc).__name__}: {exc})"
        reply["choices"] = [{"index": i, "text": "".join(choices[i]["text"]),
                             **({"finish_reason": choices[i]["finish"]} if choices[i]["finish"] else {})}
                            for i in sorted(choices)]
        return reply, None, None, note

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        if streamed:
            return "for chunk in response:\n    print(chunk.choices[0].text, end='', flush=True)\nprint()"
        return "print(response.choices[0].text)"
