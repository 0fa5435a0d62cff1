"""The command line contract: simulate, streams, stats (board commands are tested with boards)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from monitor.cli import main
from monitor.record import Record
from monitor.stats import percentile
from monitor.store import Store


def _rec(stream, i, **kw):
    base = dict(id=None, stream=stream, timestamp=1_700_000_000 + i, latency_ms=100.0 + 10 * i, ttft_ms=None,
                api="chat.completions", model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                status="success", error=None, prompt_tokens=10 + i, completion_tokens=5, total_tokens=15 + i,
                cached_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=0.001 * (i + 1),
                streamed=False, request={"model": "gpt-4o-mini"}, output="ok", attributes={})
    base.update(kw)
    return Record(**base)


@pytest.fixture
def filled(db_path):
    store = Store(db_path)
    recs = [_rec("team/a", i) for i in range(10)] + [_rec("team/a", 10, status="error", latency_ms=5.0,
                                                         prompt_tokens=None, completion_tokens=None,
                                                         total_tokens=None, cost_usd=0.0, error="boom")]
    recs += [_rec("b", i) for i in range(3)]
    store.insert_records(recs)
    return db_path, recs


def test_streams_lists_counts(filled, capsys):
    db, _ = filled
    assert main(["streams", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("b ") and " 3 calls" in line for line in out)
    assert any(line.startswith("team/a") and " 11 calls" in line for line in out)


def test_db_before_the_command_works_as_after_it(filled, capsys, tmp_path, monkeypatch):
    """`openai-monitor --db URL stats S` (as the library's banner suggests --db) must not read the default store."""
    db, _ = filled
    monkeypatch.setenv("OPENAI_MONITOR_DB", str(tmp_path / "elsewhere.db"))
    assert main(["--db", str(db), "stats", "team/a", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["stats", "team/a", "--json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out) == before and before["requests"] == 11
    assert main(["--db", str(db), "streams"]) == 0
    assert "team/a" in capsys.readouterr().out
    assert main(["--db", str(tmp_path / "no.db"), "stats", "team/a", "--db", str(db)]) == 0   # the command's wins


def test_stats_json_matches_independent_computation(filled, capsys):
    db, recs = filled
    assert main(["stats", "team/a", "--db", str(db), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    mine = [r for r in recs if r.stream == "team/a"]
    ok = sorted(r.latency_ms for r in mine if r.status == "success")
    assert set(got) == {"stream", "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens",
                        "cost_usd", "latency_ms", "unpriced_calls"}
    assert got["stream"] == "team/a" and got["requests"] == 11 and got["errors"] == 1
    assert got["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in mine)
    assert got["total_tokens"] == sum(r.total_tokens or 0 for r in mine)
    assert got["cost_usd"] == pytest.approx(sum(r.cost_usd for r in mine))
    import numpy as np
    for q in (50, 95, 99):
        assert got["latency_ms"][f"p{q}"] == pytest.approx(np.percentile(ok, q)) == pytest.approx(percentile(ok, q))


def test_stats_text_and_errors(filled, capsys, tmp_path):
    db, _ = filled
    assert main(["stats", "team/a", "--db", str(db)]) == 0
    assert "requests    11 (1 errors)" in capsys.readouterr().out
    assert main(["stats", "nope", "--db", str(db)]) == 2
    assert "no stream named 'nope'" in capsys.readouterr().err
    assert main(["streams", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_installed_command_simulate_prints_base_url():
    proc = subprocess.Popen([sys.executable, "-m", "desktop.launch", "simulate", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/v1")
        import openai
        models = openai.OpenAI(base_url=line, api_key="sk-x", max_retries=0).models.list()
        assert any(m.id == "gpt-4o" for m in models)
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_reader_that_leaves_early_gets_no_traceback(filled):
    """`openai-monitor stats S | head -1`: the pipe closes after the first line."""
    db, _ = filled
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "stats", "team/a", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                                  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (141, -13)           # SIGPIPE's exit status, as `head` users expect
    assert "Traceback" not in err and "BrokenPipe" not in err, err
