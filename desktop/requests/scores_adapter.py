"""Human ratings and stored scores for the Requests detail pane, through monitor/scores.py (the `scores`
table): a thumbs score and a 1–5 rating per call, each replaced when the person rates again."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from monitor import scores as _scores
from monitor.experiments.scorers import Score

AVAILABLE = True


def add_score(store: Any, call_id: int, name: str, *, value: float | None = None, passed: bool | None = None,
              reason: str | None = None, source: str = "human") -> None:
    _scores.replace_score(store, call_id, Score(name, value, passed, reason or "", source))


def scores_for(store: Any, call_ids) -> dict[int, list[dict]]:
    return {cid: [asdict(s) for s in found] for cid, found in _scores.scores_for(store, call_ids).items()}

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
