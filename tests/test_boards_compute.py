"""Board numbers against an independent plain-Python computation over the records (real SQLite files)."""
from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from monitor import init_monitor
from monitor.boards import (AGGREGATIONS, MISSING_LABEL, BoardEngine, BoardSpec, Measure, Panel, compute_board,
                            record_attribute_label, requests_page, template_spec)
from monitor.boards.columns import CHUNK_ROWS, forget_caches
from monitor.record import Record
from monitor.stats import percentile, stream_stats
from monitor.store import Store

T0 = 1_800_000_000.0          # a multiple of every bucket used here
MODELS = ["gpt-4o-mini", "gpt-4o", "my-local-model"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


def make_records(n: int, stream: str = "s", seed: int = 1, t0: float = T0, span: float = 3600.0) -> list[Record]:
    """Controlled records: unpriced calls, errors without usage, cancelled calls, ttft on some, nested attributes."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        model = rng.choice(MODELS)
        status = rng.choices(["success", "error", "cancelled"], [0.85, 0.1, 0.05])[0]
        ok = status != "error"
        pt = rng.randint(5, 500) if ok else None
        ct = rng.randint(1, 300) if ok else None
        out.append(Record(
            id=None, stream=stream, timestamp=t0 + rng.uniform(0.5, span - 0.5),
            latency_ms=round(rng.lognormvariate(5.5, 0.7), 3) if rng.random() > 0.03 else None,
            ttft_ms=round(rng.uniform(50, 400), 3) if rng.random() < 0.4 else None,
            api=rng.choice(["chat.completions", "chat.completions", "responses"]), model=model,
            response_model=model, status=status, error=None if ok else "boom", prompt_tokens=pt,
            completion_tokens=ct, total_tokens=(pt + ct) if ok else None,
            cached_tokens=rng.choice([0, 0, 64]) if ok else None,
            reasoning_tokens=rng.choice([0, 12]) if ok and rng.random() < 0.3 else None,
            usage_estimated=False,
            cost_usd=None if model == "my-local-model" or not ok else round(rng.uniform(1e-5, 1e-3), 9),
            streamed=False, request={"model": model, "messages": [{"role": "user", "content": f"question {i}"}]},
            output=f"answer {i}" if ok else None,
            attributes={"team": rng.choice(["red", "blue"]), "params": {"audience": rng.choice(["kid", "pro"])},
                        **({"n": rng.choice([1, 2])} if rng.random() < 0.7 else {})},
        ))
    return out


ALL_MEASURES = [Measure(metric=m, agg=a) for m, aggs in AGGREGATIONS.items() for a in aggs]


def full_spec(stream: str = "s", **kw) -> BoardSpec:
    """Every metric × aggregation, as timeseries (split and not) and as stats."""
    chunks = [ALL_MEASURES[i:i + 12] for i in range(0, len(ALL_MEASURES), 12)]
    panels = [Panel(id=f"{prefix}{i}", kind=kind, measures=chunk, split_by_group=split)
              for i, chunk in enumerate(chunks)
              for prefix, kind, split in (("ts_split", "timeseries", True), ("ts", "timeseries", False),
                                          ("stat", "stat", True))]
    panels.append(Panel(id="table", kind="table"))
    data = {"name": "b", "stream": stream, "time_range": {"kind": "custom", "start": T0, "end": T0 + 3600},
            "bucket_s": 300, "panels": [p.model_dump() for p in panels]}
    data.update(kw)
    return BoardSpec.model_validate(data)


# -- the independent computation ------------------------------------------------------------------------------
def group_label(r: Record, group_by: str | None) -> str | None:
    if group_by is None:
        return None
    if group_by in ("model", "status", "api"):
        v = getattr(r, group_by)
        return MISSING_LABEL if v is None else v
    return record_attribute_label(r.attributes, group_by.removeprefix("attributes."))


def keep(r: Record, spec: BoardSpec, start: float, end: float) -> bool:
    f = spec.filters
    if not start <= r.timestamp <= end:
        return False
    if f.models and r.model not in f.models or f.statuses and r.status not in f.statuses:
        return False
    if f.apis and r.api not in f.apis:
        return False
    for af in f.attributes:
        if record_attribute_label(r.attributes, af.key) != record_attribute_label({"v": af.value}, "v"):
            return False
    if f.text:
        texts = [m["content"] for m in r.request.get("messages", [])] + [r.output or ""]
        if not any(f.text.lower() in t.lower() for t in texts):
            return False
    return True


def value_of(rows: list[Record], metric: str, agg: str, seconds: float) -> float | None:
    succ = [r for r in rows if r.status == "success"]
    if metric in ("latency_ms", "ttft_ms"):
        vals = sorted(getattr(r, metric) for r in succ if getattr(r, metric) is not None)
        if not vals:
            return None
        if agg == "avg":
            return sum(vals) / len(vals)
        if agg == "min":
            return vals[0]
        if agg == "max":
            return vals[-1]
        return percentile(vals, float(agg[1:]))
    if metric == "requests":
        total = float(len(rows))
    elif metric == "errors":
        total = float(sum(r.status == "error" for r in rows))
        if agg == "ratio":
            return total / len(rows) if rows else None
    else:
        present = [getattr(r, metric) for r in rows if getattr(r, metric) is not None]
        total = float(sum(present))
        if agg == "avg":
            return total / len(present) if present else None
    if agg == "per_min":
        return total / (seconds / 60)
    if agg == "per_s":
        return total / seconds
    return total          # count, sum, cumulative (cumulative handled by the caller)


def reference_series(records, spec, data, metric, agg, group):
    rows = [r for r in records if keep(r, spec, data.start, data.end)
            and (group is None or group_label(r, spec.group_by) == group)]
    out = []
    for x in data.x:
        in_bucket = [r for r in rows if x <= r.timestamp < x + data.bucket_s]
        v = value_of(in_bucket, metric, agg, data.bucket_s)
        out.append(np.nan if v is None else v)
    out = np.array(out, dtype=float)
    return np.cumsum(out) if agg == "cumulative" else out


def assert_board_matches(records, spec, data):
    assert (np.diff(data.x) == data.bucket_s).all() and data.x[0] == data.start
    covered = [r for r in records if keep(r, spec, data.start, data.end)]
    labels = sorted({group_label(r, spec.group_by) for r in covered}) if spec.group_by else []
    assert sorted(data.groups) == labels
    assert data.requests.sum() == len(covered)
    for p in spec.panels:
        pd = data.panel(p.id)
        if p.kind == "timeseries":
            for s in pd.series:
                expected = reference_series(records, spec, data, s.metric, s.agg, s.group)
                np.testing.assert_allclose(s.y, expected, rtol=1e-9, atol=1e-12, equal_nan=True,
                                           err_msg=f"{p.id} {s.key}")
            groups = labels if spec.group_by and p.split_by_group else [None]
            assert {s.group for s in pd.series} == set(groups)
        elif p.kind == "stat":
            seconds = data.end - data.start
            for sv in pd.stats:
                exp = value_of(covered, sv.metric, sv.agg, seconds)
                assert (sv.value is None) == (exp is None), sv.key
                if exp is not None:
                    assert sv.value == pytest.approx(exp, rel=1e-9), sv.key
                for g, got in sv.by_group.items():
                    exp = value_of([r for r in covered if group_label(r, spec.group_by) == g], sv.metric, sv.agg,
                                   seconds)
                    assert (got is None) == (exp is None) and (exp is None or got == pytest.approx(exp, rel=1e-9))
    s = data.summary
    succ = [r for r in covered if r.status == "success"]
    lat = sorted(r.latency_ms for r in succ if r.latency_ms is not None)
    assert s.requests == len(covered) and s.errors == sum(r.status == "error" for r in covered)
    assert s.cancelled == sum(r.status == "cancelled" for r in covered)
    assert s.cost_usd == pytest.approx(sum(r.cost_usd for r in covered if r.cost_usd is not None), rel=1e-12)
    assert s.unpriced_calls == sum(r.cost_usd is None for r in succ)
    assert s.priced_calls == sum(r.cost_usd is not None for r in covered)
    assert s.total_tokens == sum(r.total_tokens or 0 for r in covered)
    assert s.reasoning_tokens == sum(r.reasoning_tokens or 0 for r in covered)
    for q in ("p50", "p95", "p99"):
        assert s.latency_ms[q] == percentile(lat, float(q[1:]))      # exact: same arithmetic


@pytest.fixture
def store(db_path):
    st = Store(db_path)
    yield st
    st.close()


@pytest.mark.parametrize("group_by", [None, "model", "status", "api", "team", "params.audience", "n",
                                      "attributes.team"])
def test_every_measure_matches_independent_computation(store, group_by):
    records = make_records(600)
    store.insert_records(records)
    records = store.records("s")
    spec = full_spec(group_by=group_by)
    data = compute_board(store, spec)
    assert data.bucket_s == 300 and len(data.x) == 13 and data.start == T0 and data.end == T0 + 3600
    assert_board_matches(records, spec, data)
    if group_by == "n":
        assert MISSING_LABEL in data.groups          # calls without the attribute form their own group


@pytest.mark.parametrize("filters", [
    {"models": ["gpt-4o"]}, {"statuses": ["error", "cancelled"]}, {"apis": ["responses"]},
    {"attributes": [{"key": "team", "value": "red"}]}, {"attributes": [{"key": "params.audience", "value": "kid"},
                                                                        {"key": "n", "value": 2}]},
    {"text": "QUESTION 1"}, {"text": "answer 33"}, {"models": ["gpt-4o-mini"], "text": "question"},
])
def test_filters_match_independent_computation(store, filters):
    store.insert_records(make_records(400))
    records = store.records("s")
    spec = full_spec(group_by="model", filters=filters)
    data = compute_board(store, spec)
    assert 0 < data.summary.requests < 400
    assert_board_matches(records, spec, data)


def test_template_summary_agrees_with_stream_stats(store):
    store.insert_records(make_records(500))
    spec = template_spec("s", "t")
    data = compute_board(store, spec, now=T0 + 7200)
    stats = stream_stats(store, "s")
    s = data.summary
    assert (s.requests, s.errors, s.unpriced_calls) == (stats["requests"], stats["errors"], stats["unpriced_calls"])
    assert (s.prompt_tokens, s.completion_tokens, s.total_tokens) == (
        stats["prompt_tokens"], stats["completion_tokens"], stats["total_tokens"])
    assert round(s.cost_usd, 10) == pytest.approx(stats["cost_usd"])
    assert {q: round(v, 3) for q, v in s.latency_ms.items()} == stats["latency_ms"]
    summary = {v.label: v.value for v in data.panel("summary").stats}
    assert summary["Requests"] == 500 and summary["Total cost"] == pytest.approx(s.cost_usd)
    assert summary["Error rate"] == pytest.approx(s.errors / 500)
    assert summary["Avg cost / request"] == pytest.approx(s.cost_usd / s.priced_calls)
    # every template panel is there, with series for the timeseries panels
    assert {p.id for p in data.panels} >= {"requests", "cost", "cost_cumulative", "latency", "ttft",
                                           "throughput_requests", "throughput_tokens", "tokens", "errors",
                                           "error_rate", "table", "summary"}
    assert [s.agg for s in data.panel("latency").series] == ["p50", "p95", "p99"]
    assert len(data.panel("tokens").series) == 4


def test_template_over_all_time_matches_reference(store):
    store.insert_records(make_records(300, span=5 * 3600))
    records = store.records("s")
    spec = template_spec("s", "t").model_copy(update={"group_by": "team"})
    data = compute_board(store, spec, now=T0 + 6 * 3600)
    assert data.bucket_s == 300                   # auto: the smallest nice bucket giving <= 120 buckets
    assert data.start <= min(r.timestamp for r in records) < data.start + data.bucket_s
    assert_board_matches(records, spec, data)


def test_exact_percentiles_on_small_data(store):
    lat = [100.0, 200.0, 300.0, 400.0, 1000.0]
    store.insert_records([Record(id=None, stream="s", timestamp=T0 + 10 + i, latency_ms=v, ttft_ms=None,
                                 api="chat.completions", model="gpt-4o", response_model=None, status="success",
                                 error=None, prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=0,
                                 reasoning_tokens=0, usage_estimated=False, cost_usd=0.5, streamed=False)
                          for i, v in enumerate(lat)])
    data = compute_board(store, full_spec())
    assert data.summary.latency_ms == {q: percentile(lat, float(q[1:])) for q in ("p50", "p95", "p99")}
    assert data.summary.latency_ms == pytest.approx({"p50": 300.0, "p95": 880.0, "p99": 976.0})
    series = {s.key: s.y for p in data.panels if p.id.startswith("ts") and "_split" not in p.id
              for s in p.series}
    assert series["latency_ms.p95"][0] == pytest.approx(880.0) and np.isnan(series["latency_ms.p95"][1])
    assert np.percentile(lat, 95) == pytest.approx(880.0)


def test_example4_grid_grouped_by_system_prompt(sim_env, db_path):
    """The seed's Example 4 through the real openai client: 3 system prompts x 2 equations x 2 audiences."""
    from monitor import openai

    m = init_monitor("team/weave/example4", db_path=db_path, quiet=True)
    system_prompts = ["you're extremely flowery and poetic", "you're very direct and precise",
                      "balance brevity with insight"]
    prompt_template = "explain the solution of the following to a {audience}: {equation}"
    for system_prompt in system_prompts:
        for equation in ["x^2 + 4x + 9 = 0", "15 * (2 - 6) / 4"]:
            for person in ["new student", "math genius"]:
                params = {"equation": equation, "audience": person}
                openai.ChatCompletion.create(
                    model="gpt-3.5-turbo",
                    messages=[{"role": "system", "content": system_prompt},
                              {"role": "user", "content": prompt_template.format(**params)}],
                    monitor_attributes={"system_prompt": system_prompt, "prompt_template": prompt_template,
                                        "params": params})
    records = m.records()
    store = m.store
    spec = template_spec(m.stream, "ex4").model_copy(update={"group_by": "system_prompt"})
    data = compute_board(store, spec)
    assert sorted(data.groups) == sorted(system_prompts)
    requests = data.panel("requests").series
    assert {s.group: s.y.sum() for s in requests} == {p: 4 for p in system_prompts}
    assert_board_matches(records, spec, data)
    by_audience = compute_board(store, spec.model_copy(update={"group_by": "params.audience"}))
    assert {s.group: s.y.sum() for s in by_audience.panel("requests").series} == {"new student": 6, "math genius": 6}
    m.close()


def test_requests_page_newest_first_and_click_filters(store):
    store.insert_records(make_records(200))
    records = store.records("s")
    spec = full_spec(group_by="model")
    page = requests_page(store, spec, offset=0, limit=10)
    newest = sorted(records, key=lambda r: (-r.timestamp, -r.id))
    assert page.total == 200 and [r.id for r in page.rows] == [r.id for r in newest[:10]]
    row, rec = page.rows[0], newest[0]
    assert (row.model, row.status, row.total_tokens, row.cost_usd, row.latency_ms, row.group) == (
        rec.model, rec.status, rec.total_tokens, rec.cost_usd, rec.latency_ms, rec.model)
    assert store.record(row.id).request == rec.request            # the full record for the detail pane
    page2 = requests_page(store, spec, offset=10, limit=10)
    assert [r.id for r in page2.rows] == [r.id for r in newest[10:20]]
    bucket = T0 + 600
    page = requests_page(store, spec, offset=0, limit=1000, bucket=bucket, group="gpt-4o")
    expected = [r.id for r in newest if bucket <= r.timestamp < bucket + 300 and r.model == "gpt-4o"]
    assert page.total == len(expected) > 0 and [r.id for r in page.rows] == expected


def _assert_same_data(a, b):
    assert a.start == b.start and a.end == b.end and a.bucket_s == b.bucket_s
    np.testing.assert_array_equal(a.x, b.x)
    assert a.groups == b.groups or sorted(a.groups) == sorted(b.groups)
    for pa in a.panels:
        pb = b.panel(pa.id)
        sa = {s.key: s.y for s in pa.series}
        sb = {s.key: s.y for s in pb.series}
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_allclose(sa[k], sb[k], rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=f"{pa.id} {k}")
        for x, y in zip(sorted(pa.stats, key=lambda s: s.key), sorted(pb.stats, key=lambda s: s.key)):
            assert x.key == y.key and (x.value == pytest.approx(y.value, rel=1e-9) if x.value is not None
                                       else y.value is None)
    assert a.summary.requests == b.summary.requests
    assert a.summary.latency_ms == b.summary.latency_ms and a.summary.ttft_ms == b.summary.ttft_ms
    assert a.summary.cost_usd == pytest.approx(b.summary.cost_usd, rel=1e-12)


@pytest.mark.parametrize("group_by", [None, "model", "team"])
def test_incremental_refresh_equals_full_computation(store, group_by):
    """Calls land in batches, some late (ts inside old buckets), on a sliding 1 h window."""
    spec = full_spec(group_by=group_by, time_range={"kind": "1h"}, bucket_s=60)
    rng = random.Random(7)
    engine = BoardEngine(store, spec)
    first = make_records(300, seed=2, t0=T0, span=1800)
    store.insert_records(first)
    now = T0 + 1800
    data = engine.refresh(now=now)
    assert not data.incremental
    for step in range(12):
        now += rng.choice([0, 7, 60, 301])
        batch = make_records(rng.randint(0, 40), seed=100 + step, t0=now - 200, span=200)
        batch += make_records(2, seed=200 + step, t0=now - 3000, span=100)    # late: long-running calls
        store.insert_records(batch)
        data = engine.refresh(now=now)
        assert data.incremental
        _assert_same_data(data, compute_board(store, spec, now=now))
    assert_board_matches(store.records("s"), spec, data)


def test_new_group_appears_live(store):
    spec = full_spec(group_by="model", time_range={"kind": "all"})
    store.insert_records([r for r in make_records(100) if r.model != "gpt-4o"])
    engine = BoardEngine(store, spec)
    data = engine.refresh(now=T0 + 3600)
    assert "gpt-4o" not in data.groups
    store.insert_records([r for r in make_records(50, seed=9) if r.model == "gpt-4o"])
    data = engine.refresh(now=T0 + 3600)
    assert data.incremental and data.groups[-1] == "gpt-4o"
    _assert_same_data(data, compute_board(store, spec, now=T0 + 3600))


def test_column_chunks_survive_restart_and_match(db_path):
    """Enough calls to seal chunks: a second process-level load reads them back with the same numbers."""
    st = Store(db_path)
    n = CHUNK_ROWS * 2 + 123
    st.insert_records(make_records(n, span=3600))
    spec = full_spec(group_by="team")
    a = compute_board(st, spec)
    chunks = st.conn.execute("SELECT kind, COUNT(*) FROM column_chunks GROUP BY kind ORDER BY kind").fetchall()
    assert chunks == [("attrs", 2), ("core", 2)]          # attribute texts sealed once, for every key
    forget_caches()
    b = compute_board(st, spec)
    _assert_same_data(a, b)
    # chunks out of step with calls (calls deleted behind our back) are detected and rebuilt
    st.conn.execute("DELETE FROM calls WHERE id IN (SELECT id FROM calls ORDER BY id LIMIT 5)")
    forget_caches()
    c = compute_board(st, spec)
    assert c.summary.requests == a.summary.requests - sum(
        1 for r in make_records(n, span=3600)[:5] if T0 <= r.timestamp <= T0 + 3600)
    assert_board_matches(st.records("s"), spec, c)
    st.close()


WRITER = textwrap.dedent("""
    import sys, time, openai
    from monitor import init_monitor
    base_url, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = init_monitor("live", db_path=db, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
    for i in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}],
                                       monitor_attributes={"batch": "child"})
        if i % 10 == 9:
            m.flush()
            time.sleep(0.25)          # the parent sees the stream grow in steps
    m.flush()
""")


def test_live_update_from_another_process(sim, db_path, client):
    m = init_monitor("live", db_path=db_path, quiet=True)
    wrapped = m.wrap(client)
    for i in range(5):
        wrapped.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"p{i}"}],
                                        monitor_attributes={"batch": "parent"})
    m.flush()
    store = Store(db_path)
    spec = template_spec("live", "live board").model_copy(update={"group_by": "batch"})
    engine = BoardEngine(store, spec)
    data = engine.refresh()
    assert data.summary.requests == 5 and not data.incremental
    first_last_id = data.last_id
    proc = subprocess.Popen([sys.executable, "-c", WRITER, sim.base_url, str(db_path), "40"])
    seen = [5]
    deadline = time.time() + 60
    while time.time() < deadline:
        data = engine.refresh()
        assert data.incremental
        seen.append(data.summary.requests)
        if proc.poll() is not None and data.summary.requests == 45:
            break
        time.sleep(0.05)
    assert proc.wait(30) == 0
    data = engine.refresh()
    assert seen == sorted(seen) and data.summary.requests == 45 and len(set(seen)) > 2   # it moved live
    new = [r for r in store.records("live") if r.id > first_last_id]
    assert len(new) == 40 and data.last_id == max(r.id for r in new)
    assert {s.group: s.y.sum() for s in data.panel("requests").series} == {"parent": 5, "child": 40}
    page = engine.requests_page(0, 40, group="child")
    assert page.total == 40 and {r.id for r in page.rows} == {r.id for r in new}
    _assert_same_data(data, compute_board(store, spec, now=data.computed_at))
    store.close()
    m.close()


def test_sorted_bag_matches_a_full_sort():
    from monitor.boards.engine import _Bag

    rng = np.random.default_rng(3)
    base = np.sort(rng.integers(0, 50, 3000).astype(float))      # many ties
    bag, everything = _Bag(base), list(base)
    for size in (1, 7, 300, 2000, 5000, 40):                      # crosses the merge threshold
        new = rng.integers(0, 60, size).astype(float)
        bag.add(new)
        everything.extend(new)
        ref = sorted(everything)
        assert len(bag) == len(ref)
        for k in (0, 1, len(ref) // 3, len(ref) // 2, len(ref) - 2, len(ref) - 1):
            assert bag.at(k) == ref[k]
        for q in ("p50", "p95", "p99"):
            assert bag.stat(q) == percentile(ref, float(q[1:]))


def test_board_over_a_stream_without_calls(store):
    for group_by in (None, "model", "team"):
        spec = full_spec(stream="nothing-yet", group_by=group_by)
        data = compute_board(store, spec)
        assert data.summary.requests == 0 and data.summary.latency_ms["p50"] is None and data.groups == []
        assert len(data.x) == 13 and all(np.nansum(s.y) == 0 for p in data.panels for s in p.series)
        assert requests_page(store, spec).total == 0
    data = compute_board(store, template_spec("nothing-yet"), now=T0)
    assert data.end == T0 and data.end - data.start >= 3600          # "all" of nothing: the last hour


def test_spec_updated_validates():
    spec = template_spec("s", "b")
    assert spec.updated(group_by="model").group_by == "model"
    assert spec.updated(time_range={"kind": "1h"}).time_range.kind == "1h"
    with pytest.raises(Exception):
        spec.updated(bucket_s=-1)


def test_text_search_finds_non_ascii_and_ignores_request_keys(store):
    records = make_records(30)
    records[3].request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "un café, s'il vous plaît"}]}
    records[4].output = "Ça va très bien"
    store.insert_records(records)
    for needle, expected in (("CAFÉ", 1), ("café", 1), ("très", 1), ("gpt-4o", 0), ("messages", 0)):
        data = compute_board(store, full_spec(filters={"text": needle}))
        assert data.summary.requests == expected, needle


def test_deleting_a_stream_drops_its_column_chunks(db_path):
    st = Store(db_path)
    st.insert_records(make_records(CHUNK_ROWS + 10, span=3600))
    assert compute_board(st, full_spec(group_by="team")).summary.requests > 0
    assert st.conn.execute("SELECT COUNT(*) FROM column_chunks").fetchone()[0] == 2
    st.delete_stream("s")
    assert st.conn.execute("SELECT COUNT(*) FROM column_chunks").fetchone()[0] == 0
    st.insert_records(make_records(5, span=3600))                  # the name again: a new stream
    assert compute_board(st, full_spec()).summary.requests == 5
    st.close()


def test_requests_page_ties_on_time_are_ordered_by_id(store):
    records = make_records(200)
    for r in records:
        r.timestamp = T0 + 100 + (hash(r.output) % 3)          # three distinct times, many ties
    store.insert_records(records)
    spec = full_spec()
    all_rows = requests_page(store, spec, 0, 1000).rows
    expected = sorted(store.records("s"), key=lambda r: (-r.timestamp, -r.id))
    assert [r.id for r in all_rows] == [r.id for r in expected]
    for offset in (0, 5, 37):
        assert [r.id for r in requests_page(store, spec, offset, 7).rows] == [r.id for r in expected[offset:offset + 7]]


@pytest.mark.parametrize("group_by", [None, "model", "team"])
def test_full_computation_in_small_blocks_matches_reference(store, monkeypatch, group_by):
    """A full computation streams through the columns block by block; with tiny blocks (and calls whose
    times are out of id order) the numbers are the same."""
    import monitor.boards.engine as engine

    monkeypatch.setattr(engine, "BLOCK_ROWS", 37)
    records = make_records(500)                    # timestamps at random: ids do not follow time
    store.insert_records(records)
    spec = full_spec(group_by=group_by, filters={"statuses": ["success", "error"]})
    assert_board_matches(store.records("s"), spec, compute_board(store, spec))
