"""The Record: one logged API call. Field names are a public contract (see GUIDE.md)."""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from typing import Any

APIS = ("chat.completions", "responses", "embeddings", "completions")
STATUSES = ("success", "error", "cancelled")


@dataclass
class Record:
    id: int | None
    stream: str
    timestamp: float                 # call start, unix seconds
    latency_ms: float | None
    ttft_ms: float | None            # streams only
    api: str
    model: str | None                # as requested
    response_model: str | None
    status: str
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    usage_estimated: bool
    cost_usd: float | None           # None = no known price
    streamed: bool
    request: dict[str, Any] = field(default_factory=dict)
    output: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RECORD_FIELDS = tuple(Record.__dataclass_fields__)
