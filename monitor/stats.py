"""Summary numbers of a stream, shared by the CLI (`stats`), boards and tests."""
from __future__ import annotations

import math
from typing import Sequence

from .store import Store


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default method); q in [0, 100]."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def stream_stats(store: Store, stream: str) -> dict:
    """Requests, errors, token and cost totals, and latency percentiles (over successful calls)."""
    sid = store.stream_id(stream, create=False)
    if sid is None:
        raise KeyError(stream)
    conn = store.conn
    row = conn.execute(
        "SELECT COUNT(*), SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(prompt_tokens), "
        "SUM(completion_tokens), SUM(total_tokens), SUM(cost_usd), "
        "SUM(CASE WHEN cost_usd IS NULL AND status = 'success' THEN 1 ELSE 0 END) FROM calls WHERE stream_id = ?",
        (sid,),
    ).fetchone()
    latencies = [r[0] for r in conn.execute(
        "SELECT latency_ms FROM calls WHERE stream_id = ? AND status = 'success' AND latency_ms IS NOT NULL "
        "ORDER BY latency_ms", (sid,))]
    return {
        "stream": stream,
        "requests": row[0],
        "errors": row[1] or 0,
        "prompt_tokens": row[2] or 0,
        "completion_tokens": row[3] or 0,
        "total_tokens": row[4] or 0,
        "cost_usd": round(row[5] or 0.0, 10),
        "unpriced_calls": row[6] or 0,
        "latency_ms": {f"p{q}": _round(percentile(latencies, q)) for q in (50, 95, 99)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
