"""Numbers of a call in words: cost, durations, token counts, estimates (shared by playground and experiments)."""
from __future__ import annotations

import math

from monitor.experiments import Estimate
from monitor.record import Record


def format_usd(value: float | None) -> str:
    if value is None:
        return "price unknown"
    if value == 0:
        return "$0"
    if value >= 1:
        return f"${value:,.2f}"
    if value >= 0.01:
        return f"${value:.4f}"
    decimals = min(10, 1 - math.floor(math.log10(value)))     # two significant digits
    return f"${value:.{decimals}f}"


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:,.0f} ms"


def format_tokens(value: int | None, estimated: bool = False) -> str:
    if value is None:
        return "—"
    return f"{'~' if estimated else ''}{value:,}"


def format_estimate(est: Estimate, max_output_tokens: int = 0, calls: int = 1) -> str:
    """e.g. "~123 prompt tokens · ≤ $0.00042 (prompt + 256 output tokens max)"."""
    mark = "" if est.exact else "~"
    tokens = f"{mark}{est.prompt_tokens:,} prompt tokens"
    if est.cost_usd is None:
        unknown = ", ".join(est.unpriced) or "this model"
        return f"{tokens} · price unknown for {unknown}"
    per = " per call" if calls > 1 and max_output_tokens else ""
    if est.includes_output:
        return f"{tokens} · ≤ {mark}{format_usd(est.cost_usd)} (prompt + {max_output_tokens:,} output tokens max{per})"
    return f"{tokens} · {mark}{format_usd(est.cost_usd)} prompt only (output not included: no max tokens)"


def format_call_stats(record: Record) -> str:
    """The after-call line, straight from the stored record."""
    mark = record.usage_estimated
    parts = [
        f"Tokens {format_tokens(record.prompt_tokens, mark)} prompt · "
        f"{format_tokens(record.completion_tokens, mark)} completion · "
        f"{format_tokens(record.cached_tokens)} cached · {format_tokens(record.reasoning_tokens)} reasoning",
        f"Cost {('~' if mark and record.cost_usd is not None else '') + format_usd(record.cost_usd)}",
        f"Latency {format_ms(record.latency_ms)}",
    ]
    if record.streamed:
        parts.append(f"First token {format_ms(record.ttft_ms)}")
    parts.append(f"call #{record.id}, {record.status}")
    return "  |  ".join(parts)
