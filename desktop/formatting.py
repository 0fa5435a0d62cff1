"""How numbers and times read in tables and panes (no Qt: plain strings, easy to test)."""
from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from typing import Any

UNKNOWN = "—"
NO_PRICE_TIP = "no price known for this model"
ESTIMATED_TIP = "estimated: the server reported no usage, so tokens were counted locally (tiktoken)"
_HTTP_CODE = re.compile(r"(?:Error code|HTTP)[: ]+(\d{3})")


def cost(value: float | None, estimated: bool = False) -> str:
    if value is None:
        return UNKNOWN
    if value == 0:
        text = "$0"
    elif value < 0.01:
        digits = max(6, 1 - math.floor(math.log10(value)))     # tiny embedding costs keep 2 significant digits
        text = f"${value:.{digits}f}".rstrip("0")
    else:
        text = f"${value:,.4f}".rstrip("0").rstrip(".")
    return ("~" if estimated else "") + text


def tokens(value: int | None, estimated: bool = False) -> str:
    if value is None:
        return UNKNOWN
    return ("~" if estimated else "") + f"{value:,}"


def ms(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    if value >= 10_000:
        return f"{value / 1000:.1f} s"
    return f"{value:,.0f} ms"


def when(ts: float, now: float | None = None) -> str:
    """Today: 14:03:22; earlier: Mar 03 14:03:22 (the year only when it differs)."""
    moment = datetime.fromtimestamp(ts)
    today = datetime.fromtimestamp(now if now is not None else time.time())
    if moment.date() == today.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == today.year:
        return moment.strftime("%b %d %H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def full_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def http_code(error: str | None) -> str | None:
    """The HTTP status in an SDK error text ("Error code: 429 - ..."), if any."""
    match = _HTTP_CODE.search(error or "")
    return match.group(1) if match else None


def status(value: str, error: str | None) -> str:
    code = http_code(error) if value == "error" else None
    return f"{value} {code}" if code else value


def attributes_summary(attributes: dict[str, Any], limit: int = 140) -> str:
    parts = []
    for key, value in attributes.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}={shown}")
    text = "  ·  ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count(value: int) -> str:
    return f"{value:,}"


def plural(value: int, noun: str) -> str:
    """ "1 call", "2 calls", "1,234 calls"."""
    return f"{value:,} {noun}" + ("" if value == 1 else "s")


def midnight(now: float | None = None) -> float:
    """Local midnight today, unix seconds (for "calls today")."""
    moment = datetime.fromtimestamp(now if now is not None else time.time())
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def elide_path(text: str, fits, ellipsis: str = "…") -> str:
    """A "/"-separated name shortened the way a reader scans it: whole first and last parts with the middle
    dropped ("my-team/…/openai_logs"); then the last part elided in its middle.  `fits(text)` says whether a
    candidate fits."""
    if fits(text):
        return text
    parts = text.split("/")
    if len(parts) >= 3:
        for candidate in (f"{parts[0]}/{ellipsis}/{parts[-1]}", f"{ellipsis}/{parts[-1]}"):
            if fits(candidate):
                return candidate
    tail = parts[-1]
    for keep in range(len(tail) - 1, 0, -1):
        head = (keep + 1) // 2
        end = tail[len(tail) - (keep - head):] if keep - head else ""
        candidate = f"{tail[:head]}{ellipsis}{end}"
        if fits(candidate):
            return candidate
    return ellipsis
