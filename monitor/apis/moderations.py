"""Moderations: `client.moderations.create`. Free of charge (OpenAI bills no moderation call)."""
from __future__ import annotations

import json
from typing import Any

from .base import Adapter, get


class ModerationsAdapter(Adapter):
    api = "moderations"
    resources = ((("moderations",), ("create",)),)
    token_billed = False
    otel_operation = "moderations"

    def text(self, response: Any) -> str | None:
        results = get(response, "results") or []
        flagged = [bool(get(r, "flagged")) for r in results]
        return json.dumps({"flagged": flagged})

    def messages(self, request: dict) -> list[dict]:
        value = request.get("input")
        if isinstance(value, list):
            value = "\n".join(v if isinstance(v, str) else str(get(v, "text") or "") for v in value)
        return [{"role": "user", "content": str(value or "")}]

    def billing(self, request: dict, response: Any) -> dict | None:
        return {"unit": "free"}

    def cost(self, pricing, models, numbers, usage, response, request):
        return 0.0 if response is not None else None

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        return "print(response.results[0].flagged)"
