"""Every OpenAI API the monitor logs, each in one adapter module, and the one registry of them.

An adapter (monitor/apis/base.py) knows where its methods sit on the client, its usage numbers, its text
output, its prompt messages, how to assemble a stream into the non-streamed reply, its billing and its
"Copy as Python" lines. instrument.py (which methods to wrap), capture.finalize (the Record), streams.py
(the proxies) and record.APIS all read this registry: adding an API is one module here.
(Anchors: openinference's `_attributes/_responses_api.py`, Langfuse's `OpenAiDefinition` table.)
"""
from __future__ import annotations

from .audio import SpeechAdapter, TranscriptionsAdapter, TranslationsAdapter
from .base import Adapter
from .chat import ChatAdapter
from .completions import CompletionsAdapter
from .embeddings import EmbeddingsAdapter
from .images import ImagesAdapter
from .moderations import ModerationsAdapter
from .responses import ResponsesAdapter

ADAPTERS: tuple[Adapter, ...] = (
    ChatAdapter(), ResponsesAdapter(), EmbeddingsAdapter(), CompletionsAdapter(), ImagesAdapter(),
    TranscriptionsAdapter(), TranslationsAdapter(), SpeechAdapter(), ModerationsAdapter(),
)
BY_API: dict[str, Adapter] = {a.api: a for a in ADAPTERS}
API_NAMES: tuple[str, ...] = tuple(BY_API)
_FALLBACK = BY_API["chat.completions"]


def adapter(api: str) -> Adapter:
    """The adapter of a Record's `api` (an unknown name — a store from a newer version — reads as chat)."""
    return BY_API.get(api, _FALLBACK)


__all__ = ["ADAPTERS", "API_NAMES", "BY_API", "Adapter", "adapter"]
