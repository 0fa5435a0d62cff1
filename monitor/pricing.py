"""What a call cost: the price table (resources/prices.json plus the user's overrides) and the billing rule.

The user's price file
---------------------
``<user config dir>/prices.json`` — ``monitor.paths.user_config_dir()``, i.e. ``$OPENAI_MONITOR_CONFIG_DIR``
if set, else the platform's config folder for "openai-monitor" (``~/.config/openai-monitor`` on Linux,
``~/Library/Application Support/openai-monitor`` on macOS, ``%LOCALAPPDATA%\\openai-monitor`` on Windows).
It has the built-in table's format; its entries add models or override built-in ones (an override
keeps the built-in entry's aliases and snapshots, so ``gpt-4o-2024-08-06`` follows an override of
``gpt-4o``). Prices are USD per 1M tokens. ``as_of`` ("YYYY-MM" or "YYYY-MM-DD"), ``currency`` (only
"USD") and ``unit`` (only "per_1m_tokens") may be left out; ``models`` is required::

    {
      "as_of": "2026-11",
      "models": {
        "gpt-4o": {"input": 2.0, "cached_input": 1.0, "output": 8.0},
        "my-vllm-model": {"input": 0, "output": 0, "aliases": ["llama-3-8b"]},
        "ft:gpt-4o-mini-2024-07-18:my-org::abc123": {"input": 0.3, "cached_input": 0.15, "output": 1.2}
      }
    }

Each model: ``input`` (required), ``cached_input`` (optional; null = cached tokens billed at ``input``),
``output`` (required; null = output not billed, as for embeddings), ``aliases`` and ``snapshots`` (other
names for the same price), ``note``. Prices are JSON numbers >= 0 (not strings). Unknown keys are
errors, so a typo can't silently drop a price. A file that can't be
read or validated is reported in ``PriceTable.warnings`` (a ``PriceFileError`` message naming the file
and the problem) and ignored as a whole; the built-in table still applies.

Name resolution (case-insensitive): the exact name or alias; else a dated snapshot suffix
(``-YYYY-MM-DD`` or ``-MMDD``) is dropped and the base name is looked up. No other guessing: provider
prefixes (``openai/gpt-4o``) and Azure deployment names are unknown unless listed, and fine-tuned
models (``ft:BASE:org::id``) are priced only from an ``ft:`` entry (the full name, ``ft:BASE`` or
``ft:BASE`` without its date), never from the base model. Unknown models cost None, never 0.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor import maintained_prices as _maintained
from monitor.forksafe import ForkSafeLock
from monitor.paths import resource_path, user_config_dir

log = logging.getLogger(__name__)

PRICES_FILE = "prices.json"
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


class PriceFileError(Exception):
    """A price file that can't be read or doesn't match the schema; the message names file and problem."""


# ---- the file schema ------------------------------------------------------------------------------

class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "2.5" or true is a mistake, not a price

    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    output: float | None = Field(ge=0)  # required, so a forgotten output price can't silently bill 0
    aliases: list[str] = []
    snapshots: list[str] = []
    note: str | None = None
    pin: bool = False   # built-in rows only: this row wins over the maintained table (they disagree)


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "2.5" or true is a mistake, not a price

    as_of: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    currency: Literal["USD"] = "USD"
    unit: Literal["per_1m_tokens"] = "per_1m_tokens"
    source: str | None = None
    note: str | None = None
    models: dict[str, _Entry]

    @field_validator("models")
    @classmethod
    def _names_unique(cls, models: dict[str, _Entry]) -> dict[str, _Entry]:
        # Every name (model, alias, snapshot) must point at one entry, case-insensitively.
        owner: dict[str, str] = {}
        for name, entry in models.items():
            for n in [name, *entry.aliases, *entry.snapshots]:
                key = n.strip().lower()
                if not key:
                    raise ValueError(f"empty model name in {name!r}")
                if key in owner and owner[key] != name:
                    raise ValueError(f"{n!r} is used by both {owner[key]!r} and {name!r}")
                owner[key] = name
        return models


class _BuiltinFile(_PriceFile):
    @model_validator(mode="after")
    def _has_date(self) -> "_BuiltinFile":
        if not self.as_of:
            raise ValueError("the built-in table needs an as_of date")
        return self


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.load would keep the last of two equal keys silently; a price file should say so.
    seen: dict = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def load_price_file(path: Path, *, builtin: bool = False) -> _PriceFile:
    """Read and validate one price file; raises PriceFileError with a readable message."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except OSError as e:
        raise PriceFileError(f"{path}: cannot read the price file: {e.strerror or e}") from e
    except ValueError as e:  # JSONDecodeError, duplicate keys, bad UTF-8
        raise PriceFileError(f"{path}: not valid JSON: {e}") from e
    try:
        return (_BuiltinFile if builtin else _PriceFile).model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in e.errors()
        )
        raise PriceFileError(f"{path}: invalid price file: {problems}") from e


# ---- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Price:
    model: str                  # the entry's canonical name
    input: float                # USD per 1M tokens
    cached_input: float | None  # None: cached tokens cost the input price
    output: float | None        # None: output not billed (embeddings)
    origin: str = field(default="builtin", compare=False)  # "user" (your prices.json), "pinned", "builtin" or "maintained"


STALE_AFTER_DAYS = 183          # the app warns when the price data is older than about six months


_DEFAULT_USER_FILE = object()  # sentinel: "the user's config folder", resolved at load time


class PriceTable:
    def __init__(self, as_of: str, entries: dict[str, Price], names: dict[str, str],
                 order: list[str], warnings: list[str] | None = None, *, maintained: bool = True):
        self.as_of = as_of
        self.maintained = maintained and _maintained.available()   # consult genai-prices
        self._entries = entries   # lower-case canonical name -> Price
        self._names = names       # lower-case name/alias/snapshot -> lower-case canonical name
        self._order = order       # canonical names as written, built-ins first
        self.warnings: list[str] = list(warnings or [])
        self._plans: dict[tuple, tuple] = {}     # (model, tier, maintained, UTC day) -> _text_plan

    @classmethod
    def load(cls, user_file: Path | None = _DEFAULT_USER_FILE,  # type: ignore[assignment]
             *, maintained: bool = True) -> "PriceTable":
        """The built-in table plus the user's file (default ``user_config_dir()/prices.json``; None = none),
        and the maintained table (genai-prices) unless ``maintained=False``."""
        warnings: list[str] = []
        layers: list[_PriceFile] = []
        try:
            layers.append(load_price_file(resource_path(PRICES_FILE), builtin=True))
        except PriceFileError as e:  # a broken install: no prices (costs None), but don't break the caller
            warnings.append(str(e))
        if user_file is _DEFAULT_USER_FILE:
            user_file = user_config_dir() / PRICES_FILE
        if user_file is not None and Path(user_file).exists():
            try:
                layers.append(load_price_file(Path(user_file)))
            except PriceFileError as e:
                warnings.append(f"{e} (using the built-in prices)")
        for w in warnings:
            log.warning("%s", w)
        as_of = layers[0].as_of if layers and layers[0].as_of else "unknown"
        table = cls._from_layers(as_of, layers, warnings, user_layer=len(layers) == 2)
        table.maintained = maintained and _maintained.available()
        return table

    @classmethod
    def _from_layers(cls, as_of: str, layers: list[_PriceFile], warnings: list[str], *,
                     user_layer: bool = False) -> "PriceTable":
        entries: dict[str, Price] = {}
        names: dict[str, str] = {}
        order: list[str] = []
        for i, layer in enumerate(layers):  # later layers (the user's) win, name by name
            is_user = user_layer and i == len(layers) - 1
            for name, e in layer.models.items():
                key = name.strip().lower()
                if key not in entries:
                    order.append(name.strip())
                origin = "user" if is_user else ("pinned" if e.pin else "builtin")
                entries[key] = Price(name.strip(), e.input, e.cached_input, e.output, origin)
                names[key] = key
            for name, e in layer.models.items():
                for other in [*e.aliases, *e.snapshots]:
                    names[other.strip().lower()] = name.strip().lower()
            # a layer's own model names beat its (and earlier layers') aliases
            for name in layer.models:
                names[name.strip().lower()] = name.strip().lower()
        return cls(as_of, entries, names, order, warnings)

    def _lookup(self, name: str) -> Price | None:
        key = self._names.get(name)
        return self._entries.get(key) if key else None

    def price_for(self, model: str | None) -> Price | None:
        """The standard-tier, short-context price per 1M tokens (for estimates and pickers), or None."""
        if not model or not model.strip():
            return None
        found = self._file_price(model)
        if found is not None and found.origin in ("user", "pinned"):
            return found
        if self.maintained:
            units = _maintained.unit_prices(model)
            if units is not None:
                return Price(found.model if found else units[0], *units[1:], "maintained")
        return found

    def _file_price(self, model: str) -> Price | None:
        name = model.strip().lower()
        if name.startswith("ft:"):
            return self._price_for_fine_tune(name)
        found = self._lookup(name)
        if found is None:
            base = _SNAPSHOT_SUFFIX.sub("", name)
            if base != name:
                found = self._lookup(base)
        return found

    def _price_for_fine_tune(self, name: str) -> Price | None:
        # "ft:gpt-4o-mini-2024-07-18:org::id" -> the full name, then "ft:gpt-4o-mini-2024-07-18",
        # then "ft:gpt-4o-mini"; each candidate starts with "ft:", so a base model can never match.
        candidates = [name]
        base = name[3:].split(":", 1)[0]
        if base:
            candidates.append("ft:" + base)
            undated = _SNAPSHOT_SUFFIX.sub("", base)
            if undated != base:
                candidates.append("ft:" + undated)
        for c in candidates:
            found = self._lookup(c)
            if found is not None:
                return found
        return None

    def cost_usd(self, model: str | None, prompt_tokens: int | None, completion_tokens: int | None,
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
        if not (audio_input_tokens or audio_output_tokens or image_input_tokens or image_output_tokens):
            return self._text_cost(model, service_tier, prompt, completion, cached)   # the usual call
        media = [max(0, int(n or 0)) for n in (audio_input_tokens, audio_output_tokens,
                                                 image_input_tokens, image_output_tokens)]
        if not any(media):                        # text tokens only: priced from a cached plan
            return self._text_cost(model, service_tier, prompt, completion, cached)
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

    def _text_cost(self, model: str, service_tier: str | None, prompt: int, completion: int,
                   cached: int) -> float | None:
        """cost_usd without audio/image tokens: the same decisions and arithmetic, with the lookups (the
        user's and built-in rows, genai-prices' price for the tier) made once per (model, tier, UTC day)."""
        key = (model, service_tier, self.maintained, int(time.time() // 86_400))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 4096:
                self._plans.clear()
            plan = self._plans[key] = self._text_plan(model, service_tier)
        use_maintained, price, factor, known, found, file_factor, rates = plan
        if use_maintained:
            cost = None
            if rates is not None:              # flat rates: _maintained._cost's arithmetic, without its lookups
                inp, cached_rate, out = rates
                cost = ((prompt - cached) * inp + cached * (inp if cached_rate is None else cached_rate)
                        + completion * (out or 0.0)) / 1e6 * factor
            elif price is not None:
                cost = _maintained._cost(model, price, prompt, completion, cached, 0, 0, 0, 0)
                cost = None if cost is None else cost * factor
            if cost is not None or known:
                return cost           # the maintained table knows the model: its answer (maybe None) stands
        if found is None or file_factor is None:
            return None
        cached_rate = found.cached_input if found.cached_input is not None else found.input
        output_rate = found.output if found.output is not None else 0.0
        return file_factor * ((prompt - cached) * found.input + cached * cached_rate + completion * output_rate) / 1e6

    def _text_plan(self, model: str, service_tier: str | None) -> tuple:
        found = self._file_price(model)
        use_maintained = self.maintained and (found is None or found.origin == "builtin")
        price, factor, known = None, 1.0, False
        if use_maintained:                   # as _maintained.cost_usd decides
            tier = (service_tier or "").strip().lower()
            price = _maintained.model_price(model, tier)
            if tier == "batch" or (tier == "flex" and price is None):
                price, factor = _maintained.model_price(model), 0.5
            known = _maintained.model_price(model) is not None
        rates = None
        values = [getattr(price, name, None) for name in ("input_mtok", "cache_read_mtok", "output_mtok")]
        if price is not None and values[0] is not None and not any(hasattr(v, "tiers") for v in values):
            rates = tuple(None if v is None else float(v) for v in values)    # (_maintained._rate, untiered)
        return use_maintained, price, factor, known, found, _tier_factor(service_tier), rates

    def source(self) -> str:
        """What the prices come from, for the app's About/Settings: e.g. 'genai-prices 0.2.3 + built-in 2026-11'."""
        parts = [_maintained.source()] if self.maintained else []
        parts.append(f"built-in table {self.as_of}")
        if any(p.origin == "user" for p in self._entries.values()):
            parts.append("your prices.json")
        return " + ".join(p for p in parts if p)

    def staleness_warning(self, today: date) -> str | None:
        """A one-line warning when the price data is older than about six months, else None."""
        try:
            as_of = date.fromisoformat(self.as_of if len(self.as_of) > 7 else self.as_of + "-01")
        except ValueError:
            return f"The price table's date is unknown ({self.as_of!r}); costs may be out of date."
        age = (today - as_of).days
        if age <= STALE_AFTER_DAYS:
            return None
        return (f"Prices are from {self.as_of} ({age // 30} months ago): update openai-monitor (and "
                "genai-prices), or add current prices in your prices.json.")

    def models(self) -> list[str]:
        """Canonical model names for a picker (ft: entries are price patterns, not callable names)."""
        return [m for m in self._order if not m.lower().startswith("ft:")]


# ---- the process-wide table -----------------------------------------------------------------------

_default: PriceTable | None = None
_default_lock = ForkSafeLock()     # a forked child gets it unlocked


def default_table() -> PriceTable:
    """The built-in + user table, loaded once per process (thread-safe)."""
    global _default
    table = _default
    if table is None:
        with _default_lock:
            if _default is None:
                _default = PriceTable.load()
            table = _default
    return table


def price_facts(today: date | None = None) -> tuple[str, str | None]:
    """(where prices come from and their date, a one-line warning when that is over six months old)."""
    table = default_table()
    today = today or date.today()
    return table.source(), table.staleness_warning(today)


def reload_default_table() -> None:
    """Forget the cached table (e.g. after the user edited prices.json); the next use reloads it."""
    global _default
    with _default_lock:
        _default = None


def _detail(usage, *path):
    for name in path:
        usage = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
        if usage is None:
            return 0
    return usage if isinstance(usage, int) else 0


_MEDIA_DETAILS = ("prompt_tokens_details", "input_tokens_details", "input_token_details",
                  "completion_tokens_details", "output_tokens_details")


def _may_count_media(usage: dict) -> bool:
    """Whether a plain usage dict has a truthy audio/image count (or a details value that is not a dict)
    where media_tokens looks: a fast no for the usual reply."""
    for key in _MEDIA_DETAILS:
        details = usage.get(key)
        if details is None:
            continue
        if type(details) is not dict or details.get("audio_tokens") or details.get("image_tokens"):
            return True
    return False


def media_tokens(usage) -> dict[str, int]:
    """Audio and image token counts of a usage object (chat, Responses, images or transcriptions shape), as
    cost_usd kwargs."""
    if usage is None:
        return {}
    if type(usage) is dict and not _may_count_media(usage):
        return {}                                    # the usual reply: no audio or image counts anywhere
    counts = {
        "audio_input_tokens": _detail(usage, "prompt_tokens_details", "audio_tokens")
        or _detail(usage, "input_tokens_details", "audio_tokens")
        or _detail(usage, "input_token_details", "audio_tokens"),      # (transcriptions spell it so)
        "audio_output_tokens": _detail(usage, "completion_tokens_details", "audio_tokens")
        or _detail(usage, "output_tokens_details", "audio_tokens"),
        "image_input_tokens": _detail(usage, "input_tokens_details", "image_tokens"),
        "image_output_tokens": _detail(usage, "output_tokens_details", "image_tokens"),
    }
    return {k: v for k, v in counts.items() if v}


def _tier_factor(service_tier: str | None) -> float | None:
    """A file row holds standard prices: flex and batch bill half; priority's premium is unknown."""
    tier = (service_tier or "").strip().lower()
    if tier in ("flex", "batch"):
        return 0.5
    return None if tier == "priority" else 1.0


# DALL·E bills per image by size and quality (OpenAI's pricing page, as of 2026-11; genai-prices has no
# per-image prices). gpt-image-1 bills tokens (usage in the reply) and is priced by the table instead.
IMAGE_PRICES = {
    ("dall-e-3", "standard"): {"1024x1024": 0.040, "1024x1792": 0.080, "1792x1024": 0.080},
    ("dall-e-3", "hd"): {"1024x1024": 0.080, "1024x1792": 0.120, "1792x1024": 0.120},
    ("dall-e-2", "standard"): {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.020},
}


def image_cost(model: str | None, size: str | None, quality: str | None, images: int) -> float | None:
    """USD for `images` DALL·E images of `size` and `quality` (the API's defaults when None), or None."""
    name = (model or "").strip().lower()
    name = _SNAPSHOT_SUFFIX.sub("", name)
    quality = (quality or "standard").lower()
    table = IMAGE_PRICES.get((name, quality))
    if table is None:
        return None
    price = table.get(size or "1024x1024")
    return None if price is None else price * images


def unit_cost(models: tuple, **units: float) -> float | None:
    """USD for per-unit billing (audio_seconds, input_characters, web_searches, storage_searches) from the
    maintained table, for the first of `models` it prices; None when none is priced."""
    for name in models:
        cost = _maintained.unit_cost(name, **units) if name else None
        if cost is not None:
            return cost
    return None


def cost_usd(model: str | None, prompt_tokens: int | None, completion_tokens: int | None,
             cached_tokens: int | None = 0, reasoning_tokens: int | None = 0, **media_and_tier) -> float | None:
    """The default table's `PriceTable.cost_usd` (keyword arguments: service_tier, audio/image tokens)."""
    return default_table().cost_usd(model, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,
                                    **media_and_tier)
