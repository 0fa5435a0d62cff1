"""Scores linked to stored calls: experiment asserts, LLM judges and human ratings (the `scores` table).

Kept beside the store rather than in it: `add_scores`, `scores_for`, `set_human_rating`, `delete_scores`
take a Store.  A score never overwrites the call's attributes; a call can have any number of them.
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from .experiments.scorers import SOURCES, Score

HUMAN = "human"


def add_scores(store: Any, scored: Iterable[tuple[int, Score]], *, now: float | None = None) -> int:
    """Store (call_id, Score) pairs in one transaction; returns how many."""
    now = time.time() if now is None else now
    rows = [(call_id, s.name, s.value, None if s.passed is None else int(bool(s.passed)), s.reason, s.source, now)
            for call_id, s in scored]
    for row in rows:
        if row[5] not in SOURCES:
            raise ValueError(f"unknown score source {row[5]!r}")
    if rows:
        with store.transaction() as conn:
            conn.executemany("INSERT INTO scores (call_id, name, value, passed, reason, source, created) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def add_score(store: Any, call_id: int, score: Score, *, now: float | None = None) -> None:
    add_scores(store, [(call_id, score)], now=now)


def replace_score(store: Any, call_id: int, score: Score, *, now: float | None = None) -> None:
    """Store `score`, replacing the call's earlier score of the same name and source (a re-rating)."""
    if score.source not in SOURCES:
        raise ValueError(f"unknown score source {score.source!r}")
    with store.transaction() as conn:
        conn.execute("DELETE FROM scores WHERE call_id = ? AND name = ? AND source = ?",
                     (call_id, score.name, score.source))
        conn.execute("INSERT INTO scores (call_id, name, value, passed, reason, source, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (call_id, score.name, score.value, None if score.passed is None else int(bool(score.passed)),
                      score.reason, score.source, time.time() if now is None else now))


def set_human_rating(store: Any, call_id: int, value: float, *, scale: str = "thumbs", reason: str = "",
                     now: float | None = None) -> Score:
    """A person's rating replaces their previous one on that call: thumbs (1 up / 0 down) or 1–5."""
    if scale == "thumbs":
        if value not in (0, 1):
            raise ValueError("a thumbs rating is 1 (up) or 0 (down)")
        passed = bool(value)
    elif scale == "1-5":
        if not 1 <= value <= 5:
            raise ValueError("a rating is between 1 and 5")
        passed = value >= 4
    else:
        raise ValueError(f"unknown rating scale {scale!r}")
    score = Score(HUMAN, float(value), passed, reason, "human")
    with store.transaction() as conn:
        conn.execute("DELETE FROM scores WHERE call_id = ? AND source = 'human'", (call_id,))
        conn.execute("INSERT INTO scores (call_id, name, value, passed, reason, source, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (call_id, score.name, score.value, int(passed), reason, "human",
                      time.time() if now is None else now))
    return score


def scores_for(store: Any, call_ids: Sequence[int]) -> dict[int, list[Score]]:
    """call_id -> its scores (oldest first); calls without scores are absent."""
    out: dict[int, list[Score]] = {}
    ids = [int(i) for i in call_ids]
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = store.conn.execute(
            f"SELECT call_id, name, value, passed, reason, source FROM scores WHERE call_id IN "
            f"({','.join('?' * len(chunk))}) ORDER BY id", chunk).fetchall()
        for call_id, name, value, passed, reason, source in rows:
            out.setdefault(call_id, []).append(Score(name, value, None if passed is None else bool(passed),
                                                     reason or "", source))
    return out


def delete_scores(store: Any, call_ids: Sequence[int], *, source: str | None = None) -> int:
    """Remove the scores of these calls (only one source's, when given); returns how many."""
    n = 0
    with store.transaction() as conn:
        for call_id in call_ids:
            sql, params = "DELETE FROM scores WHERE call_id = ?", [int(call_id)]
            if source:
                sql += " AND source = ?"
                params.append(source)
            n += conn.execute(sql, params).rowcount
    return n


# -- board files and CSV (monitor/boards/export.py) ----------------------------------------------------

def has_scores(store: Any) -> bool:
    """Cheap check so an export of a store without scores costs nothing extra."""
    return store.conn.execute("SELECT 1 FROM scores LIMIT 1").fetchone() is not None


def exported_scores(store: Any, call_ids: Sequence[int]) -> dict[int, list[dict]]:
    """call_id -> its scores as a board file holds them: [{"name", "value", "passed", "reason", "source"}]."""
    if not has_scores(store):
        return {}
    return {cid: [{"name": s.name, "value": s.value, "passed": s.passed, "reason": s.reason, "source": s.source}
                  for s in scores] for cid, scores in scores_for(store, call_ids).items()}


def import_scores(conn: Any, call_ids: Sequence[int], scores_per_record: Sequence[list[dict] | None], now: float) -> int:
    """Insert an imported file's scores; record i of the file became call call_ids[i]."""
    rows = [(call_ids[i], s["name"], s["value"], None if s["passed"] is None else int(s["passed"]),
             s.get("reason") or "", s["source"], now)
            for i, scores in enumerate(scores_per_record) for s in (scores or [])]
    if rows:
        conn.executemany("INSERT INTO scores (call_id, name, value, passed, reason, source, created) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
