"""The score panel: the mean of one score (the `scores` table, monitor/scores.py) per bucket, over the
board's calls (range + filters), one series per group when the board is grouped (by prompt, model …).

Every stored score of that name on a covered call counts once, in the bucket of its call; a score that
has only pass/fail (no value) counts as 1 or 0, so an assertion's series is its pass rate.  Recomputed
on each refresh from the scores of that name (a small table next to the calls).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .data import Series, StatValue

UNIT = "score"


def check(panel: Any) -> None:
    if not (panel.score or "").strip():
        raise ValueError(f"panel {panel.id!r}: a score panel needs the name of a score (e.g. a judge's or 'human')")


def score_values(store: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(call id, value) of every score named `name`; pass/fail-only scores as 1.0 / 0.0."""
    rows = store.conn.execute(
        "SELECT call_id, COALESCE(value, passed) FROM scores WHERE name = ? "
        "AND COALESCE(value, passed) IS NOT NULL", (name,)).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    ids, values = zip(*rows)
    return np.asarray(ids, dtype=np.int64), np.asarray(values, dtype=np.float64)


def score_names(store: Any) -> list[str]:
    """The score names the store holds (for the panel editor's choice), most used first."""
    return [r[0] for r in store.conn.execute(
        "SELECT name FROM scores GROUP BY name ORDER BY COUNT(*) DESC, name LIMIT 200").fetchall()]


def compute(state: Any, panel: Any, pd: Any) -> None:
    from .engine import bucket_index        # the engine imports the kinds registry, which imports this
    rows, gis = state.covered()
    v = state.cache.view(state.n_seen)
    ids, ts = v["id"][rows], v["ts"][rows]
    sid, sval = score_values(state.store, panel.score)
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], sid)
    hit = pos < len(ids)
    hit[hit] = ids[order][pos[hit]] == sid[hit]
    at = order[pos[hit]]                     # covered row of each score that belongs to the board
    vals = sval[hit]
    grid = state.grid
    nb = grid.nb
    b = bucket_index(ts[at], grid.start, grid.bucket)
    G = len(state.groups) if state.grouped else 1
    g = gis[at].astype(np.int64) if state.grouped else np.zeros(len(at), dtype=np.int64)
    cell = b * G + g
    sums = np.bincount(cell, weights=vals, minlength=nb * G).reshape(nb, G)
    counts = np.bincount(cell, minlength=nb * G).reshape(nb, G).astype(np.float64)
    key, label = f"score.{panel.score}", f"mean {panel.score}"

    def mean(s: np.ndarray, n: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, s / np.where(n > 0, n, 1), np.nan)

    def overall(k: int | None) -> float | None:
        n = counts.sum() if k is None else counts[:, k].sum()
        return float((sums.sum() if k is None else sums[:, k].sum()) / n) if n else None

    if state.grouped and panel.split_by_group:
        for k, lbl in enumerate(state.groups):
            pd.series.append(Series(key=f"{key}|{lbl}", label=lbl, metric="score", agg="avg", unit=UNIT, group=lbl,
                                    y=mean(sums[:, k], counts[:, k])))
    else:
        pd.series.append(Series(key=key, label=label, metric="score", agg="avg", unit=UNIT, group=None,
                                y=mean(sums.sum(axis=1), counts.sum(axis=1))))
    pd.stats.append(StatValue(key=key, label=label, metric="score", agg="avg", unit=UNIT, value=overall(None),
                              by_group={lbl: overall(k) for k, lbl in enumerate(state.groups)} if state.grouped else {}))
    scored = len(np.unique(ids[at]))
    pd.note = (f"{len(vals):,} {panel.score!s} scores on {scored:,} of {len(ids):,} calls" if len(vals)
               else f"No {panel.score!s} scores on this board's calls")
