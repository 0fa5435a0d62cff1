# A frozen copy of PriceTable.cost_usd (monitor/pricing.py) as it was before prices were planned once per
# (model, tier, day) (commit 646a749), kept only for tests/test_writer_same_records.py.
from __future__ import annotations

import types

from monitor import maintained_prices as _maintained
from monitor import pricing
from monitor.pricing import _tier_factor


def _table_cost_usd(self, model: str | None, prompt_tokens: int | None, completion_tokens: int | None,
             cached_tokens: int | None = 0, reasoning_tokens: int | None = 0, *,
             service_tier: str | None = None, audio_input_tokens: int | None = 0,
             audio_output_tokens: int | None = 0, image_input_tokens: int | None = 0,
             image_output_tokens: int | None = 0) -> float | None:
    """USD for one call, or None when the model's price or the prompt token count is unknown.

    Cached tokens are part of prompt_tokens (billed at cached_input, or input if none); reasoning
    tokens are part of completion_tokens and already billed there, so reasoning_tokens is accepted
    but never changes the cost. Audio and image tokens are parts of the prompt/completion billed at
    their own rates; `service_tier` is the tier the response reports (flex/batch: half price,
    priority: the table's premium price). Order: your prices.json, pinned built-in rows, the
    maintained table (genai-prices: 2026 models, long-context tiers, service tiers, audio and image
    rates), then the built-in table. Whatever can't be priced exactly is None, never a guess.
    """
    if not model or not model.strip() or prompt_tokens is None:
        return None
    prompt = max(0, int(prompt_tokens))
    completion = max(0, int(completion_tokens or 0))
    cached = min(prompt, max(0, int(cached_tokens or 0)))  # can't exceed the prompt it's part of
    media = [max(0, int(n or 0)) for n in (audio_input_tokens, audio_output_tokens,
                                             image_input_tokens, image_output_tokens)]
    found = self._file_price(model)
    if self.maintained and (found is None or found.origin == "builtin"):
        cost = _maintained.cost_usd(model, prompt, completion, cached, service_tier=service_tier,
                                    audio_input=media[0], audio_output=media[1],
                                    image_input=media[2], image_output=media[3])
        if cost is not None or _maintained.model_price(model) is not None:
            return cost           # the maintained table knows the model: its answer (maybe None) stands
    if found is None or any(media):
        return None               # a file row has no audio/image rates: unknown, not a text-rate guess
    factor = _tier_factor(service_tier)
    if factor is None:
        return None
    cached_rate = found.cached_input if found.cached_input is not None else found.input
    output_rate = found.output if found.output is not None else 0.0
    return factor * ((prompt - cached) * found.input + cached * cached_rate + completion * output_rate) / 1e6


def cost_usd(model, prompt_tokens, completion_tokens, cached_tokens=0, reasoning_tokens=0, **media_and_tier):
    return _table_cost_usd(pricing.default_table(), model, prompt_tokens, completion_tokens, cached_tokens,
                           reasoning_tokens, **media_and_tier)


# the pricing module as capture.finalize uses it, with the old cost_usd
module = types.SimpleNamespace(**{name: getattr(pricing, name) for name in dir(pricing) if not name.startswith("__")})
module.cost_usd = cost_usd
