"""Audio: `client.audio.transcriptions / translations.create` (speech to text) and `client.audio.speech.create`
(text to speech).

Billing: whisper-1 by audio seconds (the reply's `usage.seconds`); gpt-4o(-mini)-transcribe in tokens with
audio input tokens; tts-1 / tts-1-hd by input characters. Speech replies are binary: the monitor never
reads the caller's body, it records the request and the billing unit only.
"""
from __future__ import annotations

from typing import Any

from .base import Adapter, count, get


class TranscriptionsAdapter(Adapter):
    api = "audio.transcriptions"
    resources = ((("audio", "transcriptions"), ("create",)),)
    token_billed = False
    otel_operation = "generate_content"

    def usage(self, usage: Any):
        if usage is None or get(usage, "type") == "duration":
            return (None,) * 5
        prompt, completion = count(get(usage, "input_tokens")), count(get(usage, "output_tokens"))
        return self._totals(usage, prompt, completion, 0, 0)

    def text(self, response: Any) -> str | None:
        if isinstance(response, str):
            return response                                # response_format text / srt / vtt
        text = get(response, "text")
        return text if isinstance(text, str) else None

    def stored_response(self, response: Any) -> dict | None:
        if isinstance(response, str):
            return {"text": response}
        return super().stored_response(response)

    def response_id(self, response: Any) -> str | None:
        return None

    def messages(self, request: dict) -> list[dict]:
        return [{"role": "user", "content": str(request.get("prompt") or "")}]

    def billing(self, request: dict, response: Any) -> dict | None:
        usage = get(response, "usage")
        if get(usage, "type") == "duration":
            seconds = get(usage, "seconds")
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                return {"unit": "audio_seconds", "seconds": float(seconds)}
        return None

    def cost(self, pricing, models, numbers, usage, response, request):
        unit = self.billing(request, response)
        if unit is not None:
            return pricing.unit_cost(models, audio_seconds=unit["seconds"])
        if numbers[0] is None:
            return None                                    # no usage (e.g. response_format="text"): unknown
        return super().cost(pricing, models, numbers, usage, response, request)

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        return "print(response.text)"


class TranslationsAdapter(TranscriptionsAdapter):
    api = "audio.translations"
    resources = ((("audio", "translations"), ("create",)),)


class SpeechAdapter(Adapter):
    api = "audio.speech"
    resources = ((("audio", "speech"), ("create",)),)
    token_billed = False
    otel_operation = "generate_content"

    def text(self, response: Any) -> str | None:
        return None

    def response_id(self, response: Any) -> str | None:
        return None

    def stored_response(self, response: Any) -> dict | None:
        """Only what the headers say: the body is the caller's (reading it would consume a stream)."""
        if response is None:
            return None
        http = getattr(response, "response", None) or getattr(response, "http_response", None)
        headers = getattr(http, "headers", None) or {}
        found = {"object": "audio.speech", "content_type": headers.get("content-type")}
        length = headers.get("content-length")
        if isinstance(length, str) and length.isdigit():
            found["bytes"] = int(length)
        return {k: v for k, v in found.items() if v is not None}

    def messages(self, request: dict) -> list[dict]:
        return [{"role": "user", "content": str(request.get("input") or "")}]

    def billing(self, request: dict, response: Any) -> dict | None:
        text = request.get("input")
        return {"unit": "characters", "characters": len(text)} if isinstance(text, str) else None

    def cost(self, pricing, models, numbers, usage, response, request):
        unit = self.billing(request, response)
        return None if unit is None else pricing.unit_cost(models, input_characters=unit["characters"])

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        return "response.write_to_file('speech.mp3')"
