"""Compare mode's variants: what each column changes (profile, model, parameters, system prompt) and the
request it sends for the shared messages and variable values.  No Qt here: pure data, easy to test."""
from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.experiments import max_tokens_param
from monitor.templates import find_variables_in, render_messages

MIN_COLUMNS, MAX_COLUMNS = 2, 6
LABELS = string.ascii_uppercase[:MAX_COLUMNS]          # the `compare` attribute of each column's calls


@dataclass
class Variant:
    label: str = "A"
    profile: str = ""                 # "" = the app's current profile
    model: str = ""
    system: str = ""                  # "" = the shared system message; else replaces it
    temperature: float | None = None
    max_tokens: int = 0               # 0 = no limit
    extra: dict[str, Any] = field(default_factory=dict)     # room for later parameters

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Variant":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        variant = cls(**known)
        if variant.temperature is not None:
            variant.temperature = float(variant.temperature)
        variant.max_tokens = int(variant.max_tokens or 0)
        return variant


def default_variants(model: str) -> list[Variant]:
    return [Variant("A", model=model), Variant("B", model=model, temperature=1.0)]


def variant_messages(variant: Variant, typed: list[dict]) -> list[dict]:
    """The shared messages (as typed, templates unrendered) with the variant's system prompt in place."""
    if not variant.system.strip():
        return list(typed)
    rest = [m for m in typed if m["role"] not in ("system", "developer")]
    return [{"role": "system", "content": variant.system}, *rest]


def build_request(variant: Variant, typed: list[dict], values: dict[str, str], attributes: dict,
                  extra_options: dict | None = None) -> tuple[dict, dict]:
    """(request, attributes) for one column; raises MissingVariables / ValueError with a clear message."""
    if not variant.model:
        raise ValueError(f"Column {variant.label}: pick a model first.")
    messages = variant_messages(variant, typed)
    if not messages:
        raise ValueError("Write a message first.")
    rendered = render_messages(messages, values)
    attrs = dict(attributes)
    system = next((m["content"] for m in rendered if m["role"] in ("system", "developer")), None)
    if system is not None:
        attrs["system_prompt"] = system
    attrs["prompt_template"] = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    attrs["params"] = {n: values[n] for n in find_variables_in(m["content"] for m in messages)}
    attrs["compare"] = variant.label
    request: dict[str, Any] = {"model": variant.model, "messages": rendered, "stream": True}
    if variant.temperature is not None:
        request["temperature"] = round(variant.temperature, 2)
    if variant.max_tokens:
        request[max_tokens_param(variant.model)] = variant.max_tokens
    request.update(variant.extra)
    request["monitor_attributes"] = attrs
    request.update(extra_options or {})
    return request, attrs
