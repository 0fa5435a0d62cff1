"""The top-N panel: the groups of one key (model, prompt, user, any attribute) ranked by a measure over
the board's range — "the most expensive prompts".  Values follow the definitions of monitor.boards.spec
(the same numbers a stat panel shows for one group); sums are plain float64 sums over the calls.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .columns import TOKEN_COLUMNS
from .data import StatValue, TopRow
from .spec import DIST_METRICS, PERCENTILES, group_field

MAX_TOP = 100


def check(panel: Any) -> None:
    if not 1 <= panel.top_n <= MAX_TOP:
        raise ValueError(f"panel {panel.id!r}: a top-N panel shows 1 to {MAX_TOP} rows, not {panel.top_n}")


def top_key(panel: Any, spec: Any) -> str:
    """The key ranked: the panel's own, else the board's grouping, else the model."""
    return panel.top_by or spec.group_by or "model"


def group_codes(state: Any, key: str, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(code per covered row, label per code) of `key` (a call field or an attribute)."""
    kind, name = group_field(key)
    if kind == "field":
        return state.cache.view(state.n_seen)[name][rows].astype(np.int64), state.cache.labels(name)
    codes, labels = state.cache.attribute_codes(state.store, name)
    return codes[:state.n_seen][rows].astype(np.int64), labels


def row_values(state: Any, metric: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, counted) per covered row for `metric`, under the spec's definitions."""
    v = state.cache.view(state.n_seen)
    index = state.cache.dicts["status"].index
    status = v["status"][rows]
    if metric == "requests":
        return np.ones(len(rows)), np.ones(len(rows), dtype=bool)
    if metric == "errors":
        return (status == index.get("error", -9)).astype(np.float64), np.ones(len(rows), dtype=bool)
    x = v[metric][rows].astype(np.float64)
    if metric in DIST_METRICS:
        ok = (status == index.get("success", -9)) & ~np.isnan(x)
    elif metric == "cost_usd":
        ok = ~np.isnan(x)
    else:
        ok = (v["nulls"][rows] & (1 << TOKEN_COLUMNS.index(metric))) == 0
    return np.where(ok, x, 0.0), ok


def group_values(state: Any, metric: str, agg: str, rows: np.ndarray, codes: np.ndarray, ncodes: int,
                 duration: float) -> np.ndarray:
    """The measure per code (NaN = undefined: no calls with a value)."""
    x, ok = row_values(state, metric, rows)
    n = np.bincount(codes, weights=ok, minlength=ncodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric in DIST_METRICS and agg != "avg":
            out = np.full(ncodes, np.nan)
            vals, keys = x[ok], codes[ok]
            order = np.lexsort((vals, keys))
            vals, keys = vals[order], keys[order]
            starts = np.searchsorted(keys, np.arange(ncodes))
            ends = np.searchsorted(keys, np.arange(ncodes), side="right")
            for c in np.flatnonzero(ends > starts).tolist():
                seg = vals[starts[c]:ends[c]]
                out[c] = seg[0] if agg == "min" else seg[-1] if agg == "max" else np.percentile(seg, PERCENTILES[agg])
            return out
        total = np.bincount(codes, weights=x, minlength=ncodes)
        if agg == "avg":
            return np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)
        if agg == "ratio":
            calls = np.bincount(codes, minlength=ncodes).astype(np.float64)
            return np.where(calls > 0, total / np.where(calls > 0, calls, 1), np.nan)
        if agg == "per_min":
            return total / (duration / 60.0)
        if agg == "per_s":
            return total / duration
        return total                                     # count, sum, cumulative: the range's total


def compute(state: Any, panel: Any, pd: Any) -> None:
    key = top_key(panel, state.spec)
    rows, _ = state.covered()
    pd.top_by = key
    codes, labels = group_codes(state, key, rows)
    ncodes = max(len(labels), int(codes.max()) + 1 if len(codes) else 0)
    duration = max(state.grid.end - state.grid.start, 1e-9)
    calls = np.bincount(codes, minlength=ncodes)
    columns = [group_values(state, m.metric, m.agg, rows, codes, ncodes, duration) for m in panel.measures]
    all_codes = np.zeros(len(rows), dtype=np.int64)
    for m in panel.measures:        # the whole range, for the panel's header (and the report's data-value)
        total = group_values(state, m.metric, m.agg, rows, all_codes, 1, duration)[0]
        pd.stats.append(StatValue(key=m.key, label=m.display_label(), metric=m.metric, agg=m.agg, unit=m.unit,
                                  value=None if not math.isfinite(total) else float(total)))
    present = np.flatnonzero(calls > 0).tolist()
    first = columns[0] if columns else np.zeros(ncodes)
    # biggest first; undefined values last; ties by label so the order is stable across refreshes
    present.sort(key=lambda c: (not math.isfinite(first[c]), -first[c] if math.isfinite(first[c]) else 0.0,
                                _label(labels, c)))
    for c in present[:panel.top_n]:
        pd.top.append(TopRow(key=_label(labels, c), calls=int(calls[c]),
                             values=[None if not math.isfinite(col[c]) else float(col[c]) for col in columns]))
    more = len(present) - panel.top_n
    if more > 0:
        pd.note = f"+{more:,} more {'group' if more == 1 else 'groups'} not shown"


def _label(labels: list[str], code: int) -> str:
    return labels[code] if code < len(labels) else "(none)"


def draw_html(pd: Any, data: Any, report: Any) -> str:
    from .html_report import _e, _ms_scale, _raw, _value     # html_report imports the engine (see kinds.py)
    if not pd.top:
        return '<p class="empty">No calls in this range.</p>'
    scales = [_ms_scale(r.values[i] for r in pd.top) for i in range(len(pd.stats))]
    head = "".join(f'<th class="num">{_e(s.label)}</th>' for s in pd.stats)
    calls = not any(s.key == "requests.count" for s in pd.stats)       # unless a measure counts them already
    out = [f'<table class="top"><thead><tr><th>{_e(pd.top_by)}</th>{head}'
           f'{"<th class=num>calls</th>" if calls else ""}</tr></thead><tbody>']
    for r in pd.top:
        cells = "".join(f'<td class="num" data-stat="{_e(s.key)}" data-value="{_raw(v)}">{_e(_value(v, s.unit, sc))}</td>'
                        for s, v, sc in zip(pd.stats, r.values, scales))
        out.append(f'<tr data-top="{_e(r.key)}"><td class="key" title="{_e(r.key)}">{_e(r.key)}</td>{cells}'
                   + (f'<td class="num">{r.calls:,}</td>' if calls else "") + "</tr>")
    out.append("</tbody></table>")
    if pd.note:
        out.append(f'<p class="small">{_e(pd.note)}</p>')
    return "".join(out)
