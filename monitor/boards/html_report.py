"""A board as one self-contained web page: `openai-monitor board export NAME -o report.html`.

Everything is computed by the board engine (the numbers the app shows and `openai-monitor stats` prints)
and drawn here as inline SVG; the page loads nothing from anywhere (a Content-Security-Policy of
`default-src 'none'` says so to the browser), so it can be mailed or attached to a ticket.  Its one
script filters the requests table (also from the address: `report.html#q=gpt-4o`).  Times are UTC.
Without content (`include_content=False`) the table holds no prompt or output text."""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import math
import os
from typing import Any, Iterable

import numpy as np

from ..store import Store
from .data import BoardData, PanelData, Series, Summary
from .engine import BoardEngine
from .export import _records_by_id, _version, export_record
from .kinds import KINDS, ReportContext
from .repository import get_board
from .spec import BoardSpec
from ..files import check_output_path, output_text_file

MAX_TABLE_ROWS = 2000          # newest calls in the table; the page says how many were left out
TEXT_CHARS = 400               # prompt / output text shown per row
PALETTE = ("#2f6fdd", "#e8710a", "#1a9e55", "#d93025", "#8e44ad", "#00897b", "#c2185b", "#6d4c41",
           "#5f6368", "#9e9d24")
W, H, LEFT, RIGHT, TOP, BOTTOM = 560, 210, 64, 12, 10, 26


def export_html(store: Store, name: str, path: str | os.PathLike, include_content: bool = True,
                now: float | None = None, force: bool = True) -> int:
    """Write board `name` as a report page to `path` (the output rules of monitor.files.check_output_path);
    returns the number of calls it covers."""
    check_output_path(path, protect=store.path, force=force)
    page, n = render_report(store, get_board(store, name), include_content, now)
    with output_text_file(path, protect=store.path, force=force) as f:
        f.write(page)
    return n


def render_report(store: Store, spec: BoardSpec, include_content: bool = True,
                  now: float | None = None) -> tuple[str, int]:
    engine = BoardEngine(store, spec)
    data = engine.refresh(now)
    ids, labels = engine.covered_calls()
    newest = ids[-MAX_TABLE_ROWS:].tolist()
    group_of = dict(zip(ids[-MAX_TABLE_ROWS:].tolist(), labels[-MAX_TABLE_ROWS:]))
    records = list(_records_by_id(store, spec.stream, newest))[::-1]
    rows = [(export_record(r, include_content), group_of.get(r.id)) for r in records]
    parts = [_header(spec, data, include_content), _summary(data.summary)]
    by_id = {p.id: p for p in spec.panels}
    panels = sorted(data.panels, key=lambda p: (by_id[p.id].row, by_id[p.id].col))
    parts.append('<main class="grid">')
    report = ReportContext(rows=rows, total=len(ids), include_content=include_content, group_by=spec.group_by)
    for p in panels:
        kind = KINDS[p.kind]
        width = 12 if kind.report_full_width else by_id[p.id].width
        parts.append(f'<section class="panel" style="grid-column: span {width}" data-panel="{_e(p.id)}" '
                     f'data-kind="{_e(p.kind)}"><h2>{_e(p.title or p.id)}</h2>')
        parts.append(kind.html(p, data, report))           # monitor/boards/kinds.py: one entry per kind
        parts.append("</section>")
    parts.append("</main>")
    body = "\n".join(parts)
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="openai-monitor {_e(_version())}">\n'
            f"<title>{_e(spec.name)} — OpenAI Monitor report</title>\n<style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n<script>{SCRIPT}</script>\n</body></html>\n")
    return page, int(len(ids))


# -- parts of the page ------------------------------------------------------------------------------------
def _header(spec: BoardSpec, data: BoardData, include_content: bool) -> str:
    facts = [f"stream <b>{_e(spec.stream)}</b>", f"{_e(_utc(data.start))} – {_e(_utc(data.end))} UTC",
             f"{_e(_duration(data.bucket_s))} buckets"]
    if spec.group_by:
        facts.append(f"grouped by <b>{_e(spec.group_by)}</b>")
    if not spec.filters.is_empty():
        facts.append("filtered: " + _e(_filters_text(spec)))
    note = "" if include_content else '<p class="note">Numbers only: this report holds no prompt or output text.</p>'
    return (f"<header><h1>{_e(spec.name)}</h1><p>{' · '.join(facts)}</p>{note}"
            f'<p class="small">Generated {_e(_utc(data.computed_at))} UTC by OpenAI Monitor {_e(_version())}.</p>'
            "</header>")


def _filters_text(spec: BoardSpec) -> str:
    f = spec.filters
    bits = [*(f"model={m}" for m in f.models), *(f"status={s}" for s in f.statuses), *(f"api={a}" for a in f.apis),
            *(f"{a.key}={a.value}" for a in f.attributes)]
    if f.text:
        bits.append(f'text contains "{f.text}"')
    return ", ".join(bits)


def _summary(s: Summary) -> str:
    unpriced = f" (+{s.unpriced_calls:,} {_plural(s.unpriced_calls, 'call')} with unknown price)" if s.unpriced_calls else ""
    cards = [
        ("Requests", [("requests", s.requests, f"{s.requests:,}")]),
        ("Errors", [("errors", s.errors, f"{s.errors:,}"),
                    ("error_rate", s.error_rate, "" if s.error_rate is None else f"({_percent(s.error_rate)})")]),
        ("Cost", [("cost_usd", s.cost_usd, _usd(s.cost_usd) + unpriced)]),
        ("Tokens", [("prompt_tokens", s.prompt_tokens, f"{s.prompt_tokens:,} prompt"),
                    ("completion_tokens", s.completion_tokens, f"+ {s.completion_tokens:,} completion"),
                    ("total_tokens", s.total_tokens, f"= {s.total_tokens:,}")]),
        ("Latency", [(f"latency_ms.{q}", s.latency_ms.get(q), f"{q} {_ms(s.latency_ms.get(q))}")
                     for q in ("p50", "p95", "p99")]),
        ("Time to first token", [("ttft_ms.p50", s.ttft_ms.get("p50"), f"p50 {_ms(s.ttft_ms.get('p50'))}"),
                                 ("ttft_ms.p95", s.ttft_ms.get("p95"), f"p95 {_ms(s.ttft_ms.get('p95'))}")]),
    ]
    out = ['<section class="summary">']
    for title, items in cards:
        spans = " ".join(f'<span data-stat="{key}" data-value="{_raw(value)}">{_e(text)}</span>'
                         for key, value, text in items)
        out.append(f'<div class="card"><div class="label">{title}</div><div class="value">{spans}</div></div>')
    out.append("</section>")
    return "".join(out)


def draw_stats(p: PanelData, data: BoardData | None = None, report: ReportContext | None = None) -> str:
    out = ['<div class="stats">']
    for s in p.stats:
        out.append(f'<div class="stat"><div class="label">{_e(s.label)}</div>'
                   f'<div class="value" data-stat="{_e(s.key)}" data-value="{_raw(s.value)}">'
                   f"{_e(_value(s.value, s.unit, _ms_scale([s.value])))}</div></div>")
    out.append("</div>")
    return "".join(out)


def draw_table(p: PanelData, data: BoardData, report: ReportContext) -> str:
    return _table(p.columns, report.rows, report.total, report.include_content, report.group_by)


def _table(columns: Iterable[str], rows: list[tuple[dict, Any]], total: int, include_content: bool,
           group_by: str | None) -> str:
    cols = [c for c in columns if c != "group" or group_by]
    heads = {"ts": "time (UTC)", "prompt_tokens": "prompt tok.", "completion_tokens": "compl. tok.",
             "total_tokens": "total tok.", "cost_usd": "cost", "latency_ms": "latency", "ttft_ms": "TTFT",
             "group": f"group ({group_by})"}
    out = ['<div class="search"><input id="q" type="search" placeholder="Search the calls (model, status, text…)" '
           'aria-label="Search the calls">'
           f' <span class="small"><span id="shown">{len(rows):,}</span> of {len(rows):,} shown'
           + (f"; the newest {len(rows):,} of {total:,} calls are listed" if total > len(rows) else "")
           + "</span></div>",
           '<div class="scroll"><table><thead><tr>'
           + "".join(f"<th>{_e(heads.get(c, c))}</th>" for c in cols)
           + ("<th>prompt</th><th>output</th>" if include_content else "") + "</tr></thead><tbody>"]
    for d, group in rows:
        cells = []
        for c in cols:
            v = group if c == "group" else d.get("timestamp") if c == "ts" else d.get(c)
            cells.append(f"<td>{_e(_cell(c, v))}</td>")
        if include_content:
            cells.append(f'<td class="text">{_e(_clip(_prompt_text(d.get("request") or {})))}</td>')
            cells.append(f'<td class="text">{_e(_clip(d.get("output") or d.get("error") or ""))}</td>')
        status = d.get("status") or ""
        out.append(f'<tr data-row class="{_e(status)}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _cell(column: str, v: Any) -> str:
    if v is None:
        return "–"
    if column == "ts":
        return _utc(v, seconds=True)
    if column == "cost_usd":
        return _usd(v)
    if column in ("latency_ms", "ttft_ms"):
        return _ms(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _prompt_text(request: dict) -> str:
    """The request's text as a reader scans it: 'role: content' per message, or the input/prompt."""
    messages = request.get("messages")
    if isinstance(messages, list):
        return " · ".join(f"{m.get('role', '?')}: {_content_text(m.get('content'))}" for m in messages
                          if isinstance(m, dict))
    for key in ("input", "prompt"):
        if key in request:
            return _content_text(request[key])
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_content_text(c.get("text") or c.get("content") if isinstance(c, dict) else c) for c in content)
    return "" if content is None else str(content)


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"


# -- charts -----------------------------------------------------------------------------------------------
def draw_chart(p: PanelData, data: BoardData, report: ReportContext | None = None) -> str:
    """A chart of the panel's series over the buckets (timeseries and score panels)."""
    note = f'<p class="small">{_e(p.note)}</p>' if p.note else ""
    return _chart(p, data) + note


def _chart(p: PanelData, data: BoardData) -> str:
    x = np.asarray(data.x, dtype=float)
    series = [s for s in p.series if len(s.y)]
    finite = [v for s in series for v in np.asarray(s.y, float) if math.isfinite(v)]
    if not len(x) or not finite:
        return '<p class="empty">No data in this range.</p>'
    scale = _ms_scale(finite)
    stacked = p.chart == "bar" and len(series) > 1
    top = max(finite) if not stacked else float(np.nansum([np.nan_to_num(s.y) for s in series], axis=0).max())
    lo = min(0.0, min(finite))
    ticks = _nice_ticks(lo, top if top > lo else lo + 1, integer=p.unit in ("requests", "errors", "tokens"))
    y0, y1 = ticks[0], ticks[-1]
    x0, x1 = float(x[0]), float(x[-1]) + data.bucket_s
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    px = lambda t: LEFT + (t - x0) / (x1 - x0) * pw
    py = lambda v: TOP + (1 - (v - y0) / (y1 - y0)) * ph
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{_e(p.title)}">']
    for t in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{py(t):.1f}" y2="{py(t):.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">'
                   f"{_e(_value(t, p.unit, scale, axis=True))}</text>")
    for t, label in _time_ticks(x0, x1):
        anchor = "end" if px(t) > W - RIGHT - 18 else "start" if px(t) < LEFT + 18 else "middle"
        out.append(f'<text class="tick" x="{px(t):.1f}" y="{H - 8}" text-anchor="{anchor}">{_e(label)}</text>')
    bw = pw * data.bucket_s / (x1 - x0)
    base = np.zeros(len(x))
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        y = np.asarray(s.y, float)
        if p.chart == "bar":
            width = bw * 0.8 / (1 if stacked else len(series))
            for j, v in enumerate(y):
                if not math.isfinite(v) or v == 0:
                    continue
                bottom = base[j] if stacked else 0.0
                left = px(x[j]) + bw * 0.1 + (0 if stacked else i * width)
                out.append(f'<rect x="{left:.1f}" y="{py(bottom + v):.1f}" width="{max(width, 2.0):.1f}" '
                           f'height="{max(py(bottom) - py(bottom + v), 0.5):.1f}" fill="{color}">'
                           f"<title>{_e(_point_title(s, x[j], v, scale))}</title></rect>")
            if stacked:
                base = base + np.nan_to_num(y)
            continue
        centers = x + data.bucket_s / 2
        for seg in _segments(y):
            pts = " ".join(f"{px(centers[j]):.1f},{py(y[j]):.1f}" for j in seg)
            if p.chart == "points":                      # the "points" style: a dot per value, no line
                for j in seg:
                    out.append(f'<circle cx="{px(centers[j]):.1f}" cy="{py(y[j]):.1f}" r="3" fill="{color}">'
                               f"<title>{_e(_point_title(s, x[j], y[j], scale))}</title></circle>")
                continue
            if p.chart == "area" and len(seg) > 1:
                out.append(f'<polygon points="{px(centers[seg[0]]):.1f},{py(max(y0, 0)):.1f} {pts} '
                           f'{px(centers[seg[-1]]):.1f},{py(max(y0, 0)):.1f}" fill="{color}" fill-opacity="0.18"/>')
            if len(seg) > 1:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"/>')
            if len(seg) == 1 or len(finite) <= 60:       # isolated or few values: draw the points
                for j in seg:
                    out.append(f'<circle cx="{px(centers[j]):.1f}" cy="{py(y[j]):.1f}" r="2.6" fill="{color}">'
                               f"<title>{_e(_point_title(s, x[j], y[j], scale))}</title></circle>")
    out.append(f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{py(y0):.1f}" y2="{py(y0):.1f}"/></svg>')
    legend = "".join(f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{_e(s.label)}</span>'
                     for i, s in enumerate(series))
    unit = _unit_label(p.unit, scale)
    out.append(f'<div class="legend">{legend}<span class="small">{_e(unit)}</span></div>')
    return "".join(out)


def _segments(y: np.ndarray) -> list[list[int]]:
    segs, cur = [], []
    for j, v in enumerate(y):
        if math.isfinite(v):
            cur.append(j)
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs


def _point_title(s: Series, t: float, v: float, scale: str) -> str:
    return f"{s.label} · {_utc(t)} UTC · {_value(v, s.unit, scale)}"


def _nice_ticks(lo: float, hi: float, integer: bool = False, target: int = 4) -> list[float]:
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.floor(lo / step) * step
    ticks = [first]
    while ticks[-1] < hi - 1e-12 * step:
        ticks.append(ticks[-1] + step)
    return [round(t, 12) for t in ticks]


def _time_ticks(x0: float, x1: float, target: int = 6) -> list[tuple[float, str]]:
    span = x1 - x0
    steps = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400)
    step = next((s for s in steps if span / s <= target), steps[-1] * math.ceil(span / (steps[-1] * target)))
    fmt = "%H:%M" if span <= 2 * 86400 else "%m-%d" if span <= 300 * 86400 else "%Y-%m"
    t = math.ceil(x0 / step) * step
    out = []
    while t <= x1:
        out.append((t, _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime(fmt)))
        t += step
    return out


# -- numbers ------------------------------------------------------------------------------------------------
def _ms_scale(values: Iterable[float | None]) -> str:
    """One time unit per panel: seconds when its values reach 10 s."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return "s" if finite and max(finite) >= 10_000 else "ms"


def _value(v: float | None, unit: str, scale: str = "ms", axis: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    if unit == "USD":
        return _usd(v)
    if unit == "ratio":
        return _percent(v)
    if unit == "ms":
        return _ms(v, scale, bare=axis)
    text = f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")
    return text if axis else f"{text} {unit}"


def _unit_label(unit: str, scale: str) -> str:
    return {"USD": "USD", "ratio": "% of requests", "ms": "seconds" if scale == "s" else "milliseconds"}.get(unit, unit)


def _usd(v: float) -> str:
    if v == 0:
        return "$0"
    if abs(v) >= 1:
        return f"${v:,.2f}"
    if abs(v) >= 0.01:
        return f"${v:.4f}".rstrip("0")
    return "$" + np.format_float_positional(v, precision=3, unique=False, fractional=False, trim="-")


def _ms(v: float | None, scale: str = "ms", bare: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    if scale == "s":
        text = f"{v / 1000:,.2f}".rstrip("0").rstrip(".")
        return text if bare else f"{text} s"
    text = f"{v:,.0f}"
    return text if bare else f"{text} ms"


def _percent(v: float) -> str:
    return f"{v * 100:.1f}".rstrip("0").rstrip(".") + " %"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _raw(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else repr(v)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _utc(ts: float, seconds: bool = False) -> str:
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return _dt.datetime.fromtimestamp(float(ts), _dt.timezone.utc).strftime(fmt)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


STYLE = """
*{box-sizing:border-box}body{margin:0;padding:18px 22px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,
sans-serif;color:#24292f;background:#f6f8fa}header h1{font-size:21px;margin:0 0 4px}header p{margin:2px 0;
color:#57606a}.small{font-size:12px;color:#57606a}.note{color:#9a6700!important}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px;margin:14px 0}
.card,.panel{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;min-width:0}
.card .label,.stat .label{font-size:12px;color:#57606a}.card .value{font-size:15px;font-weight:600}
.card .value span{display:inline-block;margin-right:6px}
.grid{display:grid;grid-template-columns:repeat(12,minmax(0,1fr));gap:10px}
.panel h2{font-size:14px;margin:0 0 6px}svg{width:100%;height:auto;display:block}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}svg .tick{font-size:10.5px;fill:#57606a}
.legend{display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px;margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.legend .small{margin-left:auto}.stats{display:flex;flex-wrap:wrap;gap:8px 22px}
.stat .value{font-size:19px;font-weight:600}.empty{color:#57606a;font-style:italic}
.search{margin-bottom:6px}.search input{width:min(420px,100%);padding:5px 8px;border:1px solid #d0d7de;
border-radius:6px;font:inherit}.scroll{max-height:640px;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:12.5px}th{position:sticky;top:0;background:#f6f8fa;
text-align:left;font-weight:600}th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;white-space:nowrap;
vertical-align:top}td.text{white-space:normal;min-width:220px;max-width:420px;overflow-wrap:anywhere}
tr.error td{background:#fff5f5}table.top th.num,table.top td.num{text-align:right}
table.top td.key{max-width:0;width:100%;overflow:hidden;text-overflow:ellipsis}tr.cancelled td{color:#8c959f}
@media (max-width:900px){.panel{grid-column:span 12!important}}
"""

SCRIPT = """(function () {
  var box = document.getElementById("q");
  if (!box) return;
  function apply(text) {
    var words = text.toLowerCase(), rows = document.querySelectorAll("tr[data-row]"), shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = !words || rows[i].textContent.toLowerCase().indexOf(words) >= 0;
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    document.getElementById("shown").textContent = shown.toLocaleString("en-US");
  }
  box.addEventListener("input", function () { apply(box.value); });
  var m = location.hash.match(/^#q=(.*)$/);
  if (m) { box.value = decodeURIComponent(m[1]); apply(box.value); }
})();"""
