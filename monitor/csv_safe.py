"""CSV cells that spreadsheets open safely: text that would run as a formula gets a leading quote, and
numbers are plain decimals (never `5.909999999999999e-05`)."""
from __future__ import annotations

import decimal
import math
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DECIMALS = 10                     # digits after the point: 1e-10 USD is far below any price
_STEP = decimal.Decimal(1).scaleb(-DECIMALS)
_CONTEXT = decimal.Context(prec=400)   # enough for any finite float written out in full


def plain_number(value: float) -> str:
    """A float as a plain decimal: shortest round-trip digits, at most DECIMALS after the point, no
    exponent, no trailing zeros (5.909999999999999e-05 -> 0.0000591, 2e-05 -> 0.00002, 3.0 -> 3)."""
    if not math.isfinite(value):
        return ""
    d = decimal.Decimal(repr(value)).quantize(_STEP, context=_CONTEXT)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def spreadsheet_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return plain_number(value)
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value
    return value
