"""What a board's toolbar offers for a stream: the models seen (from the engine's own column cache) and
attribute keys (dotted for nested) with their most common values, from the newest calls."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..store import Store
from .columns import columns_for

ATTRIBUTE_SAMPLE = 2000        # newest calls whose attributes are read to offer keys and values
MAX_VALUES = 40                # values offered per attribute key


@dataclass
class Facets:
    stream: str
    models: list[str] = field(default_factory=list)
    attribute_keys: list[str] = field(default_factory=list)
    attribute_values: dict[str, list[str]] = field(default_factory=dict)


def _walk(value: dict, prefix: str, out: dict[str, dict[str, int]], depth: int = 0) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            continue
        path = f"{prefix}{key}"
        if isinstance(item, dict) and depth < 4:
            _walk(item, path + ".", out, depth + 1)
            continue
        values = out.setdefault(path, {})
        label = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":"),
                                                               default=str)
        if len(label) <= 200:
            values[label] = values.get(label, 0) + 1


def stream_facets(store: Store, stream: str) -> Facets:
    out = Facets(stream)
    sid = store.stream_id(stream, create=False)
    if sid is None:
        return out
    cache = columns_for(store, stream)             # the engine's own column cache: models are already known
    cache.sync(store)
    out.models = sorted(m for m in cache.labels("model") if m and m != "(none)")
    found: dict[str, dict[str, int]] = {}
    rows = store.conn.execute("SELECT attributes FROM calls WHERE stream_id = ? AND attributes IS NOT NULL "
                              "ORDER BY id DESC LIMIT ?", (sid, ATTRIBUTE_SAMPLE))
    for (text,) in rows:
        try:
            attributes = json.loads(text)
        except ValueError:
            continue
        if isinstance(attributes, dict):
            _walk(attributes, "", found)
    out.attribute_keys = sorted(found, key=str.casefold)
    out.attribute_values = {k: sorted(v, key=lambda lbl: -v[lbl])[:MAX_VALUES] for k, v in found.items()}
    return out
