"""Headless parts of experiments: files, scorers, the simulator's judge rule, scores and the prompt library."""
from __future__ import annotations

import sqlite3

import pytest

from monitor.experiments import CallResult, ExperimentSpec, cells_to_rerun, cell_signature, expand
from monitor.experiments import files
from monitor.experiments.matrix import Matrix
from monitor.experiments.prompts import PromptLibrary, diff
from monitor.experiments.scorers import Score, check, parse_verdict, score_all
from monitor.record import Record
from monitor.scores import add_scores, delete_scores, scores_for, set_human_rating
from monitor.store import SCHEMA_VERSION, Store


def spec(**changes) -> ExperimentSpec:
    base = ExperimentSpec(name="t", template="Explain {topic} to a {who}.", system_prompts=["Be terse.", ""],
                          values={"topic": ["tides", "caching"], "who": ["child"]}, models=["gpt-4o-mini", "gpt-4o"],
                          params={"temperature": 0}, asserts=[{"type": "contains", "value": "x"}], stream="s")
    for k, v in changes.items():
        setattr(base, k, v)
    return base


def test_file_round_trip_yaml_and_json(tmp_path):
    s = spec(asserts=[{"type": "json_schema", "value": {"type": "object"}},
                      {"type": "judge", "rubric": "Polite? PASS or FAIL", "model": "gpt-4o-mini"}], repeats=2)
    for name in ("e.yaml", "e.json"):
        files.save(s, tmp_path / name)
        back = files.load(tmp_path / name)
        assert (back.name, back.template, back.system_prompts, back.values, back.models, back.params, back.repeats,
                back.asserts, back.stream) == (s.name, s.template, s.system_prompts, s.values, s.models, s.params,
                                               s.repeats, s.asserts, s.stream)
    assert (tmp_path / "e.yaml").read_text().startswith("name: t\nstream: s\nprompts:")
    assert (tmp_path / "e.json").read_text().lstrip().startswith("{")


def test_the_guides_example_file_loads(tmp_path):
    path = tmp_path / "support.yaml"
    path.write_text('''name: support-tone
stream: experiments
prompts: ["You are terse.", "You are friendly."]
user: "Explain {topic} in one paragraph."
vars: {topic: ["rate limits", "prompt caching"]}
models: [gpt-4o-mini, gpt-4o]
params: {temperature: 0, max_tokens: 300}
repeats: 1
concurrency: 4
asserts:
  - {type: contains, value: "limit"}
  - {type: max_latency_ms, value: 5000}
  - {type: judge, model: gpt-4o-mini, rubric: "Is it polite? Answer PASS or FAIL."}
''')
    s = files.load(path)
    assert s.size == 8 and len(expand(s)) == 8 and s.concurrency == 4 and len(s.asserts) == 3


def test_asserts():
    assert check({"type": "contains", "value": "ab"}, "xaby", None, None) == (True, "contains 'ab'")
    assert check({"type": "not_contains", "value": "ab"}, "xaby", None, None)[0] is False
    assert check({"type": "equals", "value": "hi"}, " hi\n", None, None)[0] is True
    assert check({"type": "regex", "value": r"\d{3}"}, "a 123", None, None)[0] is True
    assert check({"type": "is_json"}, "{\"a\": 1}", None, None)[0] is True
    assert check({"type": "is_json"}, "{a", None, None)[0] is False
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    assert check({"type": "json_schema", "value": schema}, '{"a": 1}', None, None)[0] is True
    ok, why = check({"type": "json_schema", "value": schema}, '{"a": "x"}', None, None)
    assert not ok and "'x' is not of type 'integer' at a" in why
    assert check({"type": "max_latency_ms", "value": 100}, "", 150.0, None) == (False, "150 ms > 100 ms")
    assert check({"type": "max_cost_usd", "value": 0.01}, "", None, 0.002)[0] is True
    assert check({"type": "max_cost_usd", "value": 0.01}, "", None, None) == (False, "the model has no known price")


def test_verdicts_and_failed_calls_fail_every_assert():
    assert parse_verdict("PASS\nPolite.", "pass_fail", 4) == (1.0, True, "Polite.")
    assert parse_verdict("fail: rude", "pass_fail", 4)[:2] == (0.0, False)
    assert parse_verdict("3\nOK-ish", "score", 4) == (3.0, False, "OK-ish")
    assert parse_verdict("Score: 5", "score", 4)[:2] == (5.0, True)
    assert parse_verdict("maybe", "pass_fail", 4)[1] is False
    call = expand(spec())[0]
    result = CallResult(call.index, "error", error="HTTP 500")
    scores, cost = score_all(None, call, result, [{"type": "contains", "value": "x"}, {"type": "judge", "rubric": "r"}])
    assert [s.passed for s in scores.values()] == [False, False] and cost == 0
    assert {s.source for s in scores.values()} == {"assert", "judge"}


def test_simulator_judge_rule(client):
    from monitor.experiments.scorers import judge_messages

    def ask(rubric, output, scale="pass_fail"):
        messages = judge_messages({"rubric": rubric, "scale": scale}, [{"role": "user", "content": "q"}], output)
        r = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return r.choices[0].message.content

    assert ask('Mentions "tides"?', "Tides rise.") == 'PASS\nThe output includes "tides".'
    assert ask('Mentions "tides" and "moon"?', "Tides rise.") == 'FAIL\nThe output is missing "moon".'
    assert ask("Polite?", "whatever") == "PASS\nThe output meets the rubric."
    assert ask('"a" "b" "c" "d"', "a b", scale="score").startswith("3\n")
    # an ordinary prompt is not judged
    r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "RUBRIC: x"}])
    assert not r.choices[0].message.content.startswith(("PASS", "FAIL"))


def test_matrix_positions_and_totals():
    s = spec(repeats=1)
    calls = expand(s)
    m = Matrix(calls, s.asserts)
    assert len(m.rows) == 2 and len(m.columns) == 4
    assert [m.columns[i].model for i in range(4)] == ["gpt-4o-mini", "gpt-4o"] * 2
    assert m.column_label(2) == "P2: (no system prompt)\ngpt-4o-mini"
    results = {}
    for c in calls:
        r = CallResult(c.index, "success", "x", cost_usd=0.001, latency_ms=100.0 + c.index)
        r.scores = {"contains: x": Score("contains: x", 1.0 if c.values["topic"] == "tides" else 0.0,
                                         c.values["topic"] == "tides")}
        results[c.index] = r
    row, col = m.position(calls[0].index)
    assert m.index_at(row, col) == calls[0].index
    t = m.totals(0, results)
    assert (t.cells, t.done, t.passed, t.pass_rate, t.mean_score) == (2, 2, 1, 0.5, 0.5)
    assert t.cost_usd == pytest.approx(0.002)


def test_rerun_failed_or_changed():
    s = spec()
    calls = expand(s)
    previous = {}
    for c in calls:
        r = CallResult(c.index, "success" if c.index != 3 else "error")
        previous[cell_signature(c, s)] = r
    assert [c.index for c in cells_to_rerun(calls, s, previous, "failed")] == [3]
    assert cells_to_rerun(calls, s, previous, "changed") == []
    s2 = spec(models=["gpt-4o-mini", "gpt-4.1-nano"])
    changed = cells_to_rerun(expand(s2), s2, previous, "changed")
    assert {c.model for c in changed} == {"gpt-4.1-nano"} and len(changed) == 4


def _record(i):
    return Record(id=None, stream="s", timestamp=1_700_000_000 + i, latency_ms=10.0, ttft_ms=None,
                  api="chat.completions", model="m", response_model=None, status="success", error=None,
                  prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=0, reasoning_tokens=0,
                  usage_estimated=False, cost_usd=0.0, streamed=False, request={}, output="o", attributes={})


def test_scores_in_the_store(db_path):
    store = Store(db_path)
    store.insert_records([_record(i) for i in range(3)])
    ids = [r.id for r in store.records("s")]
    add_scores(store, [(ids[0], Score("contains: x", 1.0, True, "ok")), (ids[0], Score("judge", 2.0, False, "meh", "judge"))],
               now=1.0)
    set_human_rating(store, ids[1], 1, now=2.0)
    set_human_rating(store, ids[1], 0, now=3.0)                      # a new rating replaces the old one
    set_human_rating(store, ids[2], 5, scale="1-5", now=3.0)
    got = scores_for(store, ids)
    assert [(s.name, s.value, s.passed, s.source) for s in got[ids[0]]] == [
        ("contains: x", 1.0, True, "assert"), ("judge", 2.0, False, "judge")]
    assert [(s.value, s.passed) for s in got[ids[1]]] == [(0.0, False)]
    assert got[ids[2]][0].value == 5.0
    with pytest.raises(ValueError):
        set_human_rating(store, ids[2], 7, scale="1-5")
    assert delete_scores(store, [ids[0]], source="judge") == 1
    store.delete_stream("s")                                         # scores go with their calls
    assert scores_for(store, ids) == {}


def test_an_older_store_migrates(db_path):
    conn = sqlite3.connect(db_path)
    from monitor.store import MIGRATIONS
    for step in MIGRATIONS[:2]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    store = Store(db_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert PromptLibrary(store).names() == []


def test_prompt_library_versions_and_diff(db_path):
    lib = PromptLibrary(Store(db_path))
    v1 = lib.save("support", [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Explain {topic}"}],
                  model="gpt-4o-mini", params={"temperature": 0}, note="first", now=1.0)
    v2 = lib.save("support", [{"role": "system", "content": "Be friendly."}, {"role": "user", "content": "Explain {topic}"}],
                  model="gpt-4o", note="warmer", now=2.0)
    assert (v1.version, v2.version) == (1, 2) and lib.names() == ["support"]
    assert lib.get("support").note == "warmer" and lib.get("support", 1).params == {"temperature": 0}
    assert lib.get("support", 1).variables == ["topic"]
    assert v2.attributes() == {"prompt": "support", "prompt_version": 2}
    text = diff(lib.get("support", 1), lib.get("support", 2))
    assert "-Be terse." in text and "+Be friendly." in text and "-model: gpt-4o-mini" in text
    with pytest.raises(KeyError, match="has no version 9"):
        lib.get("support", 9)
    with pytest.raises(ValueError):
        lib.save(" ", [{"role": "user", "content": "x"}])
    assert lib.delete("support") and lib.names() == []


def test_scores_travel_in_board_files_and_csv(tmp_path):
    import csv
    import json

    from monitor.boards import export_board, export_csv, get_board, import_board, new_template_board

    src = Store(tmp_path / "a.db")
    t0 = 1_700_000_000.0
    src.insert_records([_record(i) for i in range(3)])
    ids = [r.id for r in src.records("s")]
    add_scores(src, [(ids[0], Score("contains: x", 1.0, True, "ok")), (ids[2], Score("judge: polite", 4.0, True, "kind",
                                                                                      "judge"))], now=t0)
    set_human_rating(src, ids[2], 0, now=t0)
    spec = new_template_board(src, "s", "Scored")
    path = tmp_path / "board.json"
    export_board(src, "Scored", path, now=t0 + 10)
    data = json.loads(path.read_text())
    assert [r.get("scores") for r in data["records"]][1] is None
    assert data["records"][0]["scores"] == [{"name": "contains: x", "value": 1.0, "passed": True, "reason": "ok",
                                             "source": "assert"}]
    dst = Store(tmp_path / "b.db")
    dst.insert_records([_record(9)])                         # ids in the new store differ from the file's
    _, stream = import_board(dst, path)
    imported = dst.records(stream)
    got = scores_for(dst, [r.id for r in imported])
    assert [s.name for s in got[imported[0].id]] == ["contains: x"] and imported[1].id not in got
    assert [(s.name, s.value, s.source) for s in got[imported[2].id]] == [
        ("judge: polite", 4.0, "judge"), ("human", 0.0, "human")]
    # a file written before scores existed still imports
    for r in data["records"]:
        r.pop("scores", None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    _, stream = import_board(dst, old)
    assert scores_for(dst, [r.id for r in dst.records(stream)]) == {}
    out = tmp_path / "r.csv"
    export_csv(src, get_board(src, "Scored"), out, now=t0 + 10)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert json.loads(rows[2]["scores"]) == {"judge: polite": 4.0, "human": 0.0} and rows[1]["scores"] == ""
    assert spec.stream == "s"
