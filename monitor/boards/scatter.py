"""The scatter panel: one point per call, x = its start time, y = its latency, time to first token, cost
or tokens (the panel's one measure; its aggregation is not used).  A range with more calls than
MAX_POINTS shows MAX_POINTS of them, evenly spaced in time order, and says so (PanelData.note).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .data import Points
from .spec import COUNT_METRICS

MAX_POINTS = 5000


def check(panel: Any) -> None:
    if panel.measures and panel.measures[0].metric in COUNT_METRICS:
        raise ValueError(f"panel {panel.id!r}: a scatter shows a value per call (latency, cost, tokens), "
                         f"not {panel.measures[0].metric}")


def compute(state: Any, panel: Any, pd: Any) -> None:
    from .topn import row_values
    rows, gis = state.covered()
    v = state.cache.view(state.n_seen)
    y, ok = row_values(state, panel.measures[0].metric, rows)
    keep = np.flatnonzero(ok)
    total = len(keep)
    ts = v["ts"][rows]
    keep = keep[np.argsort(ts[keep], kind="stable")]
    if total > MAX_POINTS:
        keep = keep[np.linspace(0, total - 1, MAX_POINTS).round().astype(np.int64)]
        pd.note = f"{MAX_POINTS:,} of {total:,} calls shown (evenly spaced in time)"
    group = gis[keep].astype(np.int64) if state.grouped else np.full(len(keep), -1, dtype=np.int64)
    pd.points = Points(x=ts[keep].astype(np.float64), y=y[keep], group=group, ids=v["id"][rows][keep].astype(np.int64),
                       total=total)


def draw_html(pd: Any, data: Any, report: Any) -> str:
    from .html_report import H, LEFT, PALETTE, RIGHT, TOP, BOTTOM, W, _e, _ms_scale, _nice_ticks, _time_ticks, _unit_label, _utc, _value
    pts = pd.points
    if pts is None or not len(pts.x):
        return '<p class="empty">No calls with a value in this range.</p>'
    scale = _ms_scale([float(np.max(pts.y))])
    ticks = _nice_ticks(min(0.0, float(pts.y.min())), max(float(pts.y.max()), 1e-12))
    y0, y1 = ticks[0], ticks[-1]
    x0, x1 = data.start, data.end if data.end > data.start else data.start + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    px = lambda t: LEFT + (t - x0) / (x1 - x0) * pw             # noqa: E731
    py = lambda val: TOP + (1 - (val - y0) / (y1 - y0)) * ph    # noqa: E731
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{_e(pd.title)}">']
    for t in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">'
                   f"{_e(_value(t, pd.unit, scale, axis=True))}</text>")
    for t, label in _time_ticks(x0, x1):
        anchor = "end" if px(t) > W - RIGHT - 18 else "start" if px(t) < LEFT + 18 else "middle"
        out.append(f'<text class="tick" x="{px(t):.1f}" y="{H - 8}" text-anchor="{anchor}">{_e(label)}</text>')
    r = 1.6 if len(pts.x) > 1000 else 2.4                         # a dense cloud: smaller dots
    for t, val, g, cid in zip(pts.x.tolist(), pts.y.tolist(), pts.group.tolist(), pts.ids.tolist()):
        color = PALETTE[g % len(PALETTE)] if g >= 0 else PALETTE[0]
        group = f" · {data.groups[g]}" if 0 <= g < len(data.groups) else ""
        out.append(f'<circle cx="{px(t):.1f}" cy="{py(val):.1f}" r="{r}" fill="{color}" fill-opacity="0.7">'
                   f"<title>call {cid}{_e(group)} · {_e(_utc(t, seconds=True))} UTC · {_e(_value(val, pd.unit, scale))}"
                   "</title></circle>")
    out.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{py(y0):.1f}" y2="{py(y0):.1f}"/></svg>')
    groups = sorted({g for g in pts.group.tolist() if g >= 0})
    legend = "".join(f'<span><i style="background:{PALETTE[g % len(PALETTE)]}"></i>{_e(data.groups[g])}</span>'
                     for g in groups if g < len(data.groups))
    note = f'<span class="small">{_e(pd.note)}</span>' if pd.note else ""
    out.append(f'<div class="legend">{legend}{note}<span class="small">{_e(_unit_label(pd.unit, scale))}</span></div>')
    return "".join(out)
