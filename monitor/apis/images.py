"""Images: `client.images.generate / edit / create_variation`.

Billing: DALL·E per image (count, size, quality: pricing.IMAGE_PRICES); gpt-image-1 in text and image
tokens from the reply's usage (pricing.media_tokens). Returned `b64_json` images are stored as
{"omitted", "bytes", "sha256"} (capture), never as data.
"""
from __future__ import annotations

from typing import Any

from .base import Adapter, count, get


class ImagesAdapter(Adapter):
    api = "images"
    resources = ((("images",), ("generate", "edit", "create_variation")),)
    token_billed = False
    otel_operation = "generate_content"

    def usage(self, usage: Any):
        if usage is None:
            return (None,) * 5
        prompt, completion = count(get(usage, "input_tokens")), count(get(usage, "output_tokens"))
        return self._totals(usage, prompt, completion, 0, 0)

    def media_tokens(self, usage: Any, pricing: Any) -> dict[str, int]:
        tokens = pricing.media_tokens(usage)
        if usage is not None and "image_output_tokens" not in tokens:
            out = count(get(usage, "output_tokens"))          # an image model's output is image tokens
            if out:
                tokens["image_output_tokens"] = out
        return tokens

    def text(self, response: Any) -> str | None:
        data = get(response, "data") or []
        revised = [get(d, "revised_prompt") for d in data if get(d, "revised_prompt")]
        return revised[0] if revised else f"[{len(data)} image{'s' if len(data) != 1 else ''}]"

    def response_id(self, response: Any) -> str | None:
        return None

    def messages(self, request: dict) -> list[dict]:
        return [{"role": "user", "content": str(request.get("prompt") or "")}]

    def billing(self, request: dict, response: Any) -> dict | None:
        if get(response, "usage") is not None:
            return None                                       # billed in tokens
        images = len(get(response, "data") or []) if response is not None else count(request.get("n")) or 1
        return {"unit": "images", "images": images, "size": request.get("size") or "1024x1024",
                "quality": request.get("quality") or "standard"}

    def cost(self, pricing, models, numbers, usage, response, request):
        if usage is not None:
            return super().cost(pricing, models, numbers, usage, response, request)
        unit = self.billing(request, response)
        for name in models:
            cost = pricing.image_cost(name, unit["size"], unit["quality"], unit["images"]) if name else None
            if cost is not None:
                return cost
        return None

    def snippet_call(self, request: dict | None = None) -> str:
        request = request or {}
        if "image" not in request:
            return "client.images.generate"
        return "client.images.edit" if request.get("prompt") else "client.images.create_variation"

    def snippet_print(self, streamed: bool, tools: bool = False) -> str:
        return "print(len(response.data), 'image(s)')"
