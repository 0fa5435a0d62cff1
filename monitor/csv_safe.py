"""CSV cells that spreadsheets open safely: text that would run as a formula gets a leading quote."""
from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value[:1] in _FORMULA_START:
        return "'" + value
    return value
