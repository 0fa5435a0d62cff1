"""Human ratings and stored scores for the Requests detail pane, through the scores store API of
monitor/experiments (issue 12): `add_score(store, call_id, name, *, value, passed, reason, source)` and
`scores_for(store, call_ids) -> {call_id: [score dict]}`.  When that API is not there, the rating widget
stays hidden (AVAILABLE is False) and nothing else changes."""
from __future__ import annotations

from typing import Any

try:
    from monitor.experiments.scores import add_score, scores_for
    AVAILABLE = True
except ImportError:            # the scores table is not in this build yet
    add_score = scores_for = None
    AVAILABLE = False

THUMBS = "thumbs"              # passed True / False
RATING = "rating"              # value 1..5


def rate(store: Any, call_id: int, name: str, *, value: float | None = None, passed: bool | None = None) -> None:
    """Runs on the DB lane: store one human score."""
    add_score(store, call_id, name, value=value, passed=passed, reason=None, source="human")


def load(store: Any, call_id: int) -> list[dict]:
    return list(scores_for(store, [call_id]).get(call_id, []))


def describe(score: dict) -> str:
    """One score in words, e.g. "thumbs up (human)", "rating 4/5 (human)", "contains PASS (assert)"."""
    name, value, passed = score.get("name", "score"), score.get("value"), score.get("passed")
    if name == THUMBS and passed is not None:
        shown = "up" if passed else "down"
    elif name == RATING and value is not None:
        shown = f"{value:g}/5"
    else:
        shown = " ".join(p for p in ("PASS" if passed else "FAIL" if passed is not None else "",
                                     f"{value:g}" if isinstance(value, (int, float)) else "") if p)
    source = score.get("source")
    return f"{name} {shown}".strip() + (f" ({source})" if source else "")
