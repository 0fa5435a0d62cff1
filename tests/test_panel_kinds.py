"""Panel kinds through one registry (monitor/boards/kinds.py + desktop/boards/panel_kinds.py), and the
kinds it added: top-N, score and scatter — numbers against numpy over fixed records (real SQLite files)."""
from __future__ import annotations

import random

import numpy as np
import pytest
from pydantic import ValidationError

from monitor.boards import BoardEngine, BoardSpec, Measure, Panel, compute_board
from monitor.boards.columns import forget_caches
from monitor.boards.html_report import render_report
from monitor.boards.kinds import KINDS, OPTIONS, check_panel
from monitor.experiments.scorers import Score
from monitor.record import Record
from monitor.scores import add_scores
from monitor.store import Store

T0 = 1_800_000_000.0
MODELS = ["gpt-4o-mini", "gpt-4o", "a-very-long-fine-tuned-model-name:ft-acme-research-2026-11-30-experiment-42"]
PROMPTS = ["support-triage", "summarise-ticket", "refund-policy-answer-with-a-rather-long-prompt-name", None]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def store(db_path):
    st = Store(db_path)
    yield st
    st.close()


def make_records(n: int, seed: int = 7, stream: str = "s") -> list[Record]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        model = rng.choice(MODELS)
        status = rng.choices(["success", "error", "cancelled"], [0.85, 0.1, 0.05])[0]
        ok = status != "error"
        pt, ct = (rng.randint(5, 900), rng.randint(1, 400)) if ok else (None, None)
        prompt = rng.choice(PROMPTS)
        out.append(Record(
            id=None, stream=stream, timestamp=T0 + rng.uniform(0.5, 3599.5),
            latency_ms=round(rng.lognormvariate(6, 0.8), 3) if rng.random() > 0.05 else None,
            ttft_ms=round(rng.uniform(40, 500), 3) if rng.random() < 0.5 else None,
            api="chat.completions", model=model, response_model=model, status=status,
            error=None if ok else "boom", prompt_tokens=pt, completion_tokens=ct,
            total_tokens=(pt + ct) if ok else None, cached_tokens=0 if ok else None, reasoning_tokens=None,
            usage_estimated=False, cost_usd=None if not ok or rng.random() < 0.1 else round(rng.uniform(1e-5, 2e-3), 9),
            streamed=False, request={"model": model, "messages": [{"role": "user", "content": f"q {i}"}]},
            output="a" if ok else None,
            attributes={"user": rng.choice(USERS), **({"prompt": prompt} if prompt else {})}))
    out.sort(key=lambda r: r.timestamp)            # ids follow time, as calls land
    return out


def spec_with(*panels: Panel, group_by: str | None = None, **kw) -> BoardSpec:
    data = {"name": "kinds", "stream": "s", "time_range": {"kind": "custom", "start": T0, "end": T0 + 3600},
            "bucket_s": 600, "group_by": group_by, "panels": [p.model_dump() for p in panels]}
    data.update(kw)
    return BoardSpec.model_validate(data)


def every_kind_panels() -> list[Panel]:
    return [Panel(id="ts", kind="timeseries", measures=[Measure(metric="cost_usd", agg="sum")]),
            Panel(id="st", kind="stat", measures=[Measure(metric="requests", agg="count")]),
            Panel(id="sc", kind="scatter", measures=[Measure(metric="latency_ms", agg="avg")]),
            Panel(id="top", kind="top", measures=[Measure(metric="cost_usd", agg="sum")], top_by="prompt"),
            Panel(id="score", kind="score", score="helpfulness"),
            Panel(id="table", kind="table", width=12)]


# -- the registry -------------------------------------------------------------------------------------------
def test_every_registered_kind_has_computation_widget_editor_and_html():
    from desktop.boards.panel_kinds import EDITOR_ROWS, PANEL_CONTROLS, editor_rows
    assert set(KINDS) == set(PANEL_CONTROLS), "a kind registered on one side only"
    assert {p.kind for p in every_kind_panels()} == set(KINDS), "the board of every kind below misses one"
    for name, kind in KINDS.items():
        assert callable(kind.compute) and callable(kind.html), name
        assert set(kind.options) <= set(OPTIONS), name
        assert callable(PANEL_CONTROLS[name].widget), name
        rows = editor_rows(name)
        assert set(rows) == set(kind.options) & set(EDITOR_ROWS), name
        assert kind.label


def test_board_of_every_kind_computes_draws_and_builds_widgets(store, qtbot):
    from desktop.boards.board_view import BoardView
    from desktop.boards.panel_kinds import PANEL_CONTROLS
    store.insert_records(make_records(200))
    spec = spec_with(*every_kind_panels(), group_by="model")
    data = compute_board(store, spec, now=T0 + 4000)
    page, n = render_report(store, spec, now=T0 + 4000)
    assert n == 200
    for p in spec.panels:
        assert f'data-kind="{p.kind}"' in page
    view = BoardView(lambda *a, **k: None, lambda *a, **k: None)
    qtbot.addWidget(view)
    view.set_spec(spec)
    view.apply(data)
    for p in spec.panels:
        body = view.frames[p.id].body
        assert type(body) is type(PANEL_CONTROLS[p.kind].widget(p, view)), p.kind


def test_spec_refuses_unknown_kind_and_unfit_options():
    with pytest.raises(ValidationError, match="unknown panel kind 'pie'"):
        Panel(id="p", kind="pie", measures=[Measure(metric="requests", agg="count")])
    with pytest.raises(ValidationError, match="needs the name of a score"):
        Panel(id="p", kind="score")
    with pytest.raises(ValidationError, match="a scatter shows a value per call"):
        Panel(id="p", kind="scatter", measures=[Measure(metric="requests", agg="count")])
    with pytest.raises(ValidationError, match="at most 1 measure"):
        Panel(id="p", kind="scatter", measures=[Measure(metric="latency_ms", agg="avg"),
                                                Measure(metric="cost_usd", agg="sum")])
    with pytest.raises(ValidationError, match="needs at least 1 measure"):
        Panel(id="p", kind="top")
    check_panel(Panel(id="p", kind="table"))            # a table needs no measure


def test_template_board_is_unchanged():
    from monitor.boards import template_spec
    spec = template_spec("s")
    assert [p.kind for p in spec.panels] == ["stat"] + ["timeseries"] * 10 + ["table"]
    assert all(p.top_by is None and p.score is None for p in spec.panels)


# -- top-N: exact against numpy ------------------------------------------------------------------------------
def _label(r: Record, key: str) -> str:
    if key == "model":
        return r.model
    v = r.attributes.get(key)
    return "(none)" if v is None else str(v)


def _reference(records, key, metric, agg):
    """{group: value} over the records by the spec's definitions, with numpy."""
    out = {}
    for g in sorted({_label(r, key) for r in records}):
        rs = [r for r in records if _label(r, key) == g]
        if metric == "cost_usd":
            vals = np.array([r.cost_usd for r in rs if r.cost_usd is not None], dtype=float)
            out[g] = vals.sum() if agg == "sum" else (vals.mean() if len(vals) else None)
        elif metric == "requests":
            out[g] = float(len(rs))
        elif metric == "total_tokens":
            vals = np.array([r.total_tokens for r in rs if r.total_tokens is not None], dtype=float)
            out[g] = vals.sum() if agg == "sum" else (vals.mean() if len(vals) else None)
        elif metric == "latency_ms":
            vals = np.array([r.latency_ms for r in rs if r.status == "success" and r.latency_ms is not None])
            out[g] = None if not len(vals) else float(np.percentile(vals, 95) if agg == "p95" else vals.mean())
        elif metric == "errors":
            out[g] = sum(r.status == "error" for r in rs) / len(rs)
    return out


@pytest.mark.parametrize("key", ["prompt", "user", "model"])
def test_top_n_equals_numpy_sums(store, key):
    records = make_records(500)
    store.insert_records(records)
    measures = [Measure(metric="cost_usd", agg="sum"), Measure(metric="requests", agg="count"),
                Measure(metric="latency_ms", agg="p95"), Measure(metric="total_tokens", agg="avg")]
    spec = spec_with(Panel(id="top", kind="top", measures=measures, top_by=key, top_n=3))
    pd = compute_board(store, spec, now=T0 + 4000).panel("top")
    refs = [_reference(records, key, m.metric, m.agg) for m in measures]
    ranked = sorted(refs[0], key=lambda g: (-refs[0][g], g))
    assert [r.key for r in pd.top] == ranked[:3]
    for row in pd.top:
        assert row.calls == sum(_label(r, key) == row.key for r in records)
        for ref, got in zip(refs, row.values):
            assert got == pytest.approx(ref[row.key], rel=1e-12, abs=0)
    more = len(ranked) - 3
    assert pd.note == (f"+{more} more {'group' if more == 1 else 'groups'} not shown" if more > 0 else "")
    total = sum(r.cost_usd for r in records if r.cost_usd is not None)
    assert pd.stats[0].value == pytest.approx(total, rel=1e-12)


def test_top_n_follows_the_board_grouping_and_filters(store):
    records = make_records(300)
    store.insert_records(records)
    spec = spec_with(Panel(id="top", kind="top", measures=[Measure(metric="errors", agg="ratio")], top_n=10),
                     group_by="user", filters={"models": ["gpt-4o"]})
    pd = compute_board(store, spec, now=T0 + 4000).panel("top")
    kept = [r for r in records if r.model == "gpt-4o"]
    ref = _reference(kept, "user", "errors", "ratio")
    assert pd.top_by == "user"
    assert {r.key: r.values[0] for r in pd.top} == pytest.approx(ref, rel=1e-12)
    assert [r.key for r in pd.top] == sorted(ref, key=lambda g: (-ref[g], g))


# -- score: exact means per bucket -------------------------------------------------------------------------
def test_score_panel_means_per_bucket_and_group(store):
    records = make_records(240)
    store.insert_records(records)
    rng = random.Random(3)
    scored = []
    for cid in range(1, len(records) + 1):
        if rng.random() < 0.6:
            scored.append((cid, Score("helpfulness", float(rng.randint(1, 5)), True, "", "judge")))
        if rng.random() < 0.3:        # a second score of the same name on the same call counts too
            scored.append((cid, Score("helpfulness", float(rng.randint(1, 5)), True, "", "judge")))
        if rng.random() < 0.5:
            scored.append((cid, Score("other", 9.0, True, "", "assert")))
    add_scores(store, scored, now=T0)
    spec = spec_with(Panel(id="sc", kind="score", score="helpfulness"), group_by="prompt",
                     filters={"statuses": ["success"]})
    data = compute_board(store, spec, now=T0 + 4000)
    pd = data.panel("sc")
    by_id = {i + 1: r for i, r in enumerate(records)}
    kept = {cid for cid, r in by_id.items() if r.status == "success"}
    for s in pd.series:
        want = []
        for b0 in data.x:
            vals = [sc.value for cid, sc in scored if sc.name == "helpfulness" and cid in kept
                    and b0 <= by_id[cid].timestamp < b0 + data.bucket_s and _label(by_id[cid], "prompt") == s.group]
            want.append(np.mean(vals) if vals else np.nan)
        np.testing.assert_allclose(s.y, want, rtol=1e-12, equal_nan=True)
    assert {s.group for s in pd.series} == {_label(by_id[c], "prompt") for c in kept}
    allv = [sc.value for cid, sc in scored if sc.name == "helpfulness" and cid in kept]
    assert pd.stats[0].value == pytest.approx(np.mean(allv), rel=1e-12)
    assert pd.unit == "score" and pd.note.startswith(f"{len(allv):,} helpfulness scores")


def test_pass_fail_scores_chart_a_pass_rate_and_no_scores_says_so(store):
    records = make_records(20)
    store.insert_records(records)
    add_scores(store, [(1, Score("is_json", None, True)), (2, Score("is_json", None, False)),
                       (3, Score("is_json", None, True))], now=T0)
    spec = spec_with(Panel(id="a", kind="score", score="is_json", split_by_group=False),
                     Panel(id="b", kind="score", score="nobody-scored-this"), bucket_s=3600)
    data = compute_board(store, spec, now=T0 + 4000)
    assert data.panel("a").stats[0].value == pytest.approx(2 / 3)
    assert np.isnan(data.panel("b").series[0].y).all()
    assert data.panel("b").note == "No nobody-scored-this scores on this board's calls"


# -- scatter -------------------------------------------------------------------------------------------------
def test_scatter_is_one_point_per_call_and_caps_big_ranges(store, monkeypatch):
    from monitor.boards import scatter
    records = make_records(300)
    store.insert_records(records)
    spec = spec_with(Panel(id="p", kind="scatter", measures=[Measure(metric="cost_usd", agg="sum")]))
    pts = compute_board(store, spec, now=T0 + 4000).panel("p").points
    priced = [(r.timestamp, r.cost_usd) for r in records if r.cost_usd is not None]
    assert pts.total == len(priced) and len(pts.x) == len(priced)
    np.testing.assert_array_equal(pts.x, [t for t, _ in priced])
    np.testing.assert_array_equal(pts.y, [c for _, c in priced])
    forget_caches()
    monkeypatch.setattr(scatter, "MAX_POINTS", 50)
    pd = compute_board(store, spec, now=T0 + 4000).panel("p")
    assert len(pd.points.x) == 50 and pd.points.total == len(priced)
    assert pd.note == f"50 of {len(priced)} calls shown (evenly spaced in time)"
    assert (np.diff(pd.points.x) >= 0).all()


# -- the editor offers the new kinds -------------------------------------------------------------------------
def test_editor_offers_every_kind_and_builds_top_and_score_panels(qtbot):
    from desktop.boards.panel_editor import PanelEditor
    ed = PanelEditor(Panel(id="p1", measures=[Measure(metric="requests", agg="count")]), new=True,
                     score_names=["helpfulness"])
    qtbot.addWidget(ed)
    assert [ed.kind.itemData(i) for i in range(ed.kind.count())] == list(KINDS)
    ed.kind.setCurrentIndex(ed.kind.findData("top"))
    assert ed.top_by.isVisibleTo(ed) and ed.top_n.isVisibleTo(ed) and not ed.score.isVisibleTo(ed)
    ed.top_by.setCurrentText("user")
    ed.top_n.setValue(5)
    p = ed.panel()
    assert (p.kind, p.top_by, p.top_n) == ("top", "user", 5)
    ed.kind.setCurrentIndex(ed.kind.findData("score"))
    assert ed.score.isVisibleTo(ed) and not ed.add_measure.isVisibleTo(ed)
    assert ed.score.currentText() == "helpfulness"
    p = ed.panel()
    assert (p.kind, p.score, p.measures) == ("score", "helpfulness", [])
    ed.kind.setCurrentIndex(ed.kind.findData("scatter"))
    ed.measure_rows[0].metric.setCurrentIndex(ed.measure_rows[0].metric.findData("latency_ms"))
    assert not ed.add_measure.isEnabled()                # one measure: the y of each point
    assert ed.panel().kind == "scatter"
    ed.kind.setCurrentIndex(ed.kind.findData("timeseries"))
    assert [ed.chart.itemData(i) for i in range(ed.chart.count())] == ["line", "bar", "area", "points"]


def test_top_panel_widget_shows_rows_and_elides_long_names(store, qtbot):
    from desktop.boards.board_view import BoardView
    store.insert_records(make_records(120))
    spec = spec_with(Panel(id="top", kind="top", measures=[Measure(metric="cost_usd", agg="sum")], top_by="model",
                           top_n=2))
    data = compute_board(store, spec, now=T0 + 4000)
    view = BoardView(lambda *a, **k: None, lambda *a, **k: None)
    qtbot.addWidget(view)
    view.set_spec(spec)
    view.apply(data)
    body = view.frames["top"].body
    pd = data.panel("top")
    assert body.table.rowCount() == 2
    assert body.cell_text(0, 0) == pd.top[0].key
    assert body.table.item(0, 0).toolTip() == pd.top[0].key
    assert body.note.text() == "+1 more group not shown"


def test_incremental_refresh_keeps_new_kinds_exact(store):
    records = make_records(200)
    store.insert_records(records[:120])
    spec = spec_with(Panel(id="top", kind="top", measures=[Measure(metric="cost_usd", agg="sum")], top_by="user"),
                     group_by="model", time_range={"kind": "all"})
    engine = BoardEngine(store, spec)
    engine.refresh(now=T0 + 4000)
    store.insert_records(records[120:])
    live = engine.refresh(now=T0 + 4000)
    assert live.incremental
    forget_caches()
    full = compute_board(store, spec, now=T0 + 4000)
    assert [(r.key, r.values, r.calls) for r in live.panel("top").top] == \
        [(r.key, r.values, r.calls) for r in full.panel("top").top]


def test_report_draws_top_rows_with_their_exact_values(store):
    import html as _html
    import re
    store.insert_records(make_records(150))
    spec = spec_with(Panel(id="top", kind="top", measures=[Measure(metric="cost_usd", agg="sum")], top_by="prompt",
                           top_n=2), Panel(id="pts", kind="timeseries", chart="points",
                                           measures=[Measure(metric="requests", agg="count")]))
    pd = compute_board(store, spec, now=T0 + 4000).panel("top")
    page, _ = render_report(store, spec, now=T0 + 4000)
    rows = re.findall(r'<tr data-top="([^"]*)">.*?data-value="([^"]*)"', page)
    assert [(_html.unescape(k), float(v)) for k, v in rows] == [(r.key, r.values[0]) for r in pd.top]
    assert "+2 more groups not shown" in page
    chart = page.split('data-panel="pts"')[1].split("</section>")[0]
    assert "<circle" in chart and "<polyline" not in chart        # the "points" style draws no line
