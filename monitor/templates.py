"""`{variable}` prompt templates, as in the seed's `prompt_template.format(**params)` — but forgiving.

`{name}` (a Python identifier) is a variable; `{{` and `}}` are literal braces, as with str.format.
Any other brace (JSON in a prompt, a lone `{`) is kept as written instead of raising, so a half-typed
prompt never breaks the live editor. For every template str.format accepts with plain `{name}` fields,
`render` gives the same text.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariables(ValueError):
    """Some variables have no value; `names` lists them in order of first use."""

    def __init__(self, names: list[str]):
        self.names = names
        listed = ", ".join("{" + n + "}" for n in names)
        super().__init__(f"Fill in {listed} before sending (the values table, next to the messages).")


def find_variables(text: str) -> list[str]:
    """Variable names in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text or ""):
        if match.group(1):
            seen.setdefault(match.group(1), None)
    return list(seen)


def find_variables_in(texts: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        for name in find_variables(text):
            seen.setdefault(name, None)
    return list(seen)


def render(text: str, values: Mapping[str, str], *, strict: bool = True) -> str:
    """The template with variables filled and escaped braces unescaped.

    strict: a variable without a value raises MissingVariables; otherwise it stays as `{name}`
    (for token estimates of a prompt still being written).
    """
    missing: list[str] = []

    def substitute(match: re.Match) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]                     # "{{" -> "{", "}}" -> "}"
        if name in values and values[name] is not None:
            return str(values[name])
        if name not in missing:
            missing.append(name)
        return token

    out = _TOKEN.sub(substitute, text or "")
    if strict and missing:
        raise MissingVariables(missing)
    return out


def missing_variables(texts: Iterable[str], values: Mapping[str, str | None]) -> list[str]:
    """Variables used in `texts` that have no value (None or "" count as unfilled)."""
    return [n for n in find_variables_in(texts) if not values.get(n)]


def render_messages(messages: list[dict], values: Mapping[str, str], *, strict: bool = True) -> list[dict]:
    """Chat messages with every content rendered (strict: all variables of all messages must be filled)."""
    if strict:
        missing = missing_variables([m.get("content") or "" for m in messages], values)
        if missing:
            raise MissingVariables(missing)
    return [{**m, "content": render(m.get("content") or "", values, strict=False)} for m in messages]


def escape(text: str) -> str:
    """Literal text as a template that renders back to it (a logged prompt reopened for editing).

    Only what `render` would interpret is escaped, so JSON and lone braces stay readable."""
    def double(match: re.Match) -> str:
        token = match.group(0)
        return token * 2 if match.group(1) is None else "{" + token + "}"

    return _TOKEN.sub(double, text or "")
