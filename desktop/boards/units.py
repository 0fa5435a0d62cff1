"""How a board's numbers read: values by unit (read-outs, stat tiles) and compact axis ticks."""
from __future__ import annotations

import math
from datetime import datetime

from .. import formatting as fmt

UNKNOWN = fmt.UNKNOWN
INTEGER_UNITS = ("requests", "errors", "tokens")      # counted things: whole-number axis steps


def _decimals(spacing: float | None, at_least: int = 0) -> int:
    """Enough decimals for ticks `spacing` apart to read differently (0.25 -> 2, 3e-05 -> 5)."""
    if not spacing or not math.isfinite(spacing) or spacing <= 0 or spacing >= 1:
        return at_least
    return max(at_least, -math.floor(math.log10(spacing) + 1e-9))


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _number(value: float) -> str:
    """1,234 for whole numbers, else 3 significant digits (12.3, 0.456)."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_value(value: float | None, unit: str) -> str:
    """A value as a read-out shows it: $0.0123, 1,234 ms, 4.5%, 12.3 requests/min, 1,234 tokens."""
    if is_missing(value):
        return UNKNOWN
    if unit == "USD":
        return fmt.cost(float(value))
    if unit == "ms":
        return fmt.ms(float(value))
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit.startswith("USD/"):
        return f"{fmt.cost(float(value))}/{unit[4:]}"
    if unit in ("requests", "errors"):
        return _number(float(value))
    return f"{_number(float(value))} {unit}"


def short(value: float) -> str:
    """An axis tick: 950, 1.2k, 3.4M."""
    a = abs(value)
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= factor:
            return f"{value / factor:.3g}{suffix}"
    if a >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def tick(value: float, unit: str, spacing: float) -> str:
    """An axis tick in the panel's unit, never in scientific notation, with enough digits that neighbouring
    ticks (`spacing` apart) differ."""
    if abs(value) < spacing * 1e-6:
        value = 0.0                           # -0.0 and float dust read as 0
    if unit == "ratio":
        return f"{value * 100:.{_decimals(spacing * 100)}f}%"
    if unit.startswith("USD"):
        if value == 0:
            return "$0"
        if abs(value) >= 1000:
            return "$" + short(value)
        return f"${value:,.{max(_decimals(spacing), 2) if spacing < 1 else 0}f}"      # $0.50, $0.00002
    if unit == "ms":
        return ms_text(value, axis_seconds(max(abs(value), 2 * spacing)), spacing)
    if abs(value) >= 1000:
        return short(value)
    return f"{value:,.{_decimals(spacing)}f}"


def axis_seconds(largest_ms: float) -> bool:
    """Does a time axis (and its panel's read-out) speak seconds rather than milliseconds?"""
    return largest_ms >= 1000


def ms_text(value: float, seconds: bool, spacing: float | None = None) -> str:
    """A duration in the one unit its panel uses: "1.35 s" or "950 ms" (ticks: digits to tell them apart)."""
    if seconds:
        digits = _decimals(spacing / 1000, 0) if spacing else 2
        return f"{value / 1000:,.{digits}f} s"
    return f"{value:,.{_decimals(spacing) if spacing else 0}f} ms"


def bucket_text(start: float, bucket_s: int) -> str:
    """The bucket a read-out or a filter chip talks about: "Mar 03 14:05–14:10"."""
    a, b = datetime.fromtimestamp(start), datetime.fromtimestamp(start + bucket_s)
    with_seconds = bucket_s < 60 or start % 60
    t = "%H:%M:%S" if with_seconds else "%H:%M"
    if bucket_s >= 86400:
        return a.strftime("%b %d") + ("" if bucket_s == 86400 else "–" + b.strftime("%b %d"))
    day = a.strftime("%b %d ")
    return f"{day}{a.strftime(t)}–{b.strftime(t)}"


def duration_text(seconds: int) -> str:
    for size, name in ((86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {name}"
    return f"{seconds} s"
