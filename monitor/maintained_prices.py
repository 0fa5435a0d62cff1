"""OpenAI prices from a maintained table: pydantic's `genai-prices` (offline; tiers, cached, audio, image).

`monitor.pricing` asks here after the user's own prices and the few built-in rows pinned against this table.
The package is imported on first use (≈ 0.15 s, on the writer thread, never on the call path) and is
optional: without it (Python 3.10, or not installed) `available()` is False and the built-in table applies.

Speed: genai-prices' own `calc_price` takes ~80 µs (Decimal arithmetic), too slow for the writer's budget,
so the common case — text, cached and output tokens, with OpenAI's long-context "cliff" tiers — is priced
here in floats from the model's price object, which is looked up once per (model, service tier, day).
A test holds this fast path equal to `calc_price`. Calls with audio or image tokens go through
`calc_price` itself, and only when the model has a price for those tokens (else: unknown, never wrong).
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)

PROVIDER = "openai"
# service tiers whose price the table knows by name; "auto"/"default"/"scale" bill the standard price
_TIER_CONTEXT = {"flex", "priority"}


@functools.lru_cache(maxsize=1)
def _snapshot() -> Any | None:
    try:
        from genai_prices import data_snapshot
        return data_snapshot.get_snapshot()
    except Exception as exc:          # not installed, or a broken install: fall back to the built-in table
        log.info("genai-prices unavailable (%s); using the built-in price table", exc)
        return None


def available() -> bool:
    return _snapshot() is not None


def source() -> str | None:
    """e.g. 'genai-prices 0.2.3', or None when the package is missing."""
    if not available():
        return None
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"genai-prices {version('genai-prices')}"
    except PackageNotFoundError:
        return "genai-prices"


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@functools.lru_cache(maxsize=512)
def _model_price(model: str, tier: str | None, day: str) -> Any | None:
    """The price object in force for `model` (lower case) at `tier`, or None when the table lacks it."""
    snap = _snapshot()
    if snap is None:
        return None
    try:
        _, info = snap.find_provider_model(model, None, PROVIDER, None)
    except LookupError:
        return None
    if model.startswith("ft:") and not info.id.lower().startswith("ft:"):
        return None                   # a fine-tune is never priced as its base model
    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    standard = info.get_prices(when, None)
    if tier is None:
        return standard
    price = info.get_prices(when, {"service_tier": tier})
    return None if vars(price) == vars(standard) else price   # None: no separate price for this tier


def model_price(model: str | None, service_tier: str | None = None) -> Any | None:
    if not model or not model.strip():
        return None
    return _model_price(model.strip().lower(), _tier(service_tier), _today())


def _tier(service_tier: str | None) -> str | None:
    tier = (service_tier or "").strip().lower() or None
    return tier if tier in _TIER_CONTEXT else None


def _rate(value: Any, total_input: int) -> float | None:
    """USD per 1M tokens in force for a call with `total_input` tokens (tiers are cliffs: all tokens)."""
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return float(value)
    rate = value.base
    for tier in reversed(tiers):
        if total_input > tier.start:
            rate = tier.price
            break
    return float(rate)


def cost_usd(model: str | None, prompt: int, completion: int, cached: int = 0, *,
             service_tier: str | None = None, audio_input: int = 0, audio_output: int = 0,
             image_input: int = 0, image_output: int = 0) -> float | None:
    """USD for one call from the maintained table, or None when the table can't price it exactly.

    Priced by the tier the response reports: flex and batch without a price of their own bill half the
    standard price (OpenAI's rule); priority without one is unknown (its premium varies by model).
    """
    tier = (service_tier or "").strip().lower()
    price, factor = model_price(model, tier), 1.0
    if tier == "batch" or (tier == "flex" and price is None):
        price, factor = model_price(model), 0.5
    if price is None:
        return None
    cost = _cost(model, price, prompt, completion, cached, audio_input, audio_output, image_input, image_output)
    return None if cost is None else cost * factor


def _cost(model, price, prompt, completion, cached, audio_input, audio_output, image_input,
          image_output) -> float | None:
    if audio_input or audio_output or image_input or image_output:
        return _exact(model, price, prompt, completion, cached, audio_input, audio_output, image_input, image_output)
    inp = _rate(price.input_mtok, prompt)
    if inp is None:
        return None
    cached_rate = _rate(price.cache_read_mtok, prompt)
    out = _rate(price.output_mtok, prompt)      # None: output not billed (embeddings)
    return ((prompt - cached) * inp + cached * (inp if cached_rate is None else cached_rate)
            + completion * (out or 0.0)) / 1e6


def _exact(model, price, prompt, completion, cached, audio_in, audio_out, image_in, image_out):
    # audio and image input have their own rates (billing them as text would be wrong); image output
    # tokens are what an image model's output price is for (gpt-image-1: $40/1M), so no separate rate
    needs = [("input_audio_mtok", audio_in), ("output_audio_mtok", audio_out), ("input_image_mtok", image_in)]
    if any(count and getattr(price, key, None) is None for key, count in needs):
        return None                   # billed at their own rate, which the table does not have
    from genai_prices import Usage
    usage = Usage(input_tokens=prompt, cache_read_tokens=cached or None, output_tokens=completion,
                  input_audio_tokens=audio_in or None, output_audio_tokens=audio_out or None,
                  input_image_tokens=image_in or None, output_image_tokens=image_out or None)
    try:
        return float(price.calc_price(usage)["total_price"])
    except Exception as exc:          # an inconsistent usage (e.g. audio > input): unknown, not a crash
        log.debug("genai-prices could not price %s: %s", model, exc)
        return None


def unit_prices(model: str | None) -> tuple[str, float, float | None, float | None] | None:
    """(the table's model id, input, cached input, output) USD per 1M tokens, standard tier, short context."""
    price = model_price(model)
    if price is None or price.input_mtok is None:
        return None
    model_id = _snapshot().find_provider_model(model.strip().lower(), None, PROVIDER, None)[1].id
    return (model_id, _rate(price.input_mtok, 0), _rate(price.cache_read_mtok, 0), _rate(price.output_mtok, 0))


# genai-prices' price key for each usage key billed per unit (not per token)
UNIT_PRICE_KEYS = {"audio_seconds": "audio_hours", "input_characters": "input_mchars",
                   "web_searches": "web_searches_kcount", "storage_searches": "storage_searches_kcount"}


def unit_cost(model: str | None, **units: float) -> float | None:
    """USD for units the table prices per unit (audio seconds, input characters, web/file searches), or None
    when the model or any of these units has no price in the table."""
    price = model_price(model)
    if price is None or not units:
        return None
    if any(getattr(price, UNIT_PRICE_KEYS[key], None) is None for key in units):
        return None
    from genai_prices import Usage
    if "audio_seconds" in units:                 # the table prices audio as input audio
        units = {**units, "input_audio_seconds": units["audio_seconds"]}
    try:
        return float(price.calc_price(Usage(**units))["total_price"])
    except Exception as exc:
        log.debug("genai-prices could not price %s units of %s: %s", units, model, exc)
        return None
