"""A word-level diff of two outputs (difflib on words), as HTML with removed and added words coloured."""
from __future__ import annotations

import difflib
import html
import re

REMOVED_STYLE = "background:#fdd8d5; color:#8c1d18; text-decoration:line-through;"
ADDED_STYLE = "background:#d3f0d6; color:#1e4620;"
_TOKEN = re.compile(r"\s+|[^\s]+")


def words(text: str) -> list[str]:
    """Words and the whitespace between them, so joining them gives the text back."""
    return _TOKEN.findall(text or "")


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """[(op, text)] with op "=", "-" (only in a) or "+" (only in b); whitespace compares as words too."""
    left, right = words(a), words(b)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", "".join(left[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(left[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(right[j1:j2])))
    return out


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


def word_diff_html(a: str, b: str) -> str:
    parts = []
    for op, text in word_diff(a, b):
        escaped = html.escape(text)
        if op == "-":
            parts.append(f"<span style='{REMOVED_STYLE}'>{escaped}</span>")
        elif op == "+":
            parts.append(f"<span style='{ADDED_STYLE}'>{escaped}</span>")
        else:
            parts.append(escaped)
    return "<div style='white-space:pre-wrap'>" + "".join(parts) + "</div>"
