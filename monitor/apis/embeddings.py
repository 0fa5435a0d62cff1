"""Embeddings: `client.embeddings.create`. The stored reply keeps no vectors (capture omits them)."""
from __future__ import annotations

from typing import Any

from .base import Adapter, get


class EmbeddingsAdapter(Adapter):
    api = "embeddings"
    resources = ((("embeddings",), ("create",)),)
    otel_operation = "embeddings"

    def usage(self, usage: Any):
        prompt, _, total, cached, reasoning = super().usage(usage)
        return prompt, 0 if usage is not None else None, total, cached, reasoning

    def text(self, response: Any) -> str | None:
        data = get(response, "data") or []
        embedding = get(data[0], "embedding") if data else None
        dim = len(embedding) if isinstance(embedding, list) else 0
        return f"[{len(data)} embedding{'s' if len(data) != 1 else ''} × {dim}]"

    def messages(self, request: dict) -> list[dict]:
        value = request.get("input")
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        return [{"role": "user", "content": str(value or "")}]

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        return "print(len(response.data[0].embedding), 'dimensions')"
