"""`openai-monitor experiment run FILE`: the contract (exit codes, --json shape), against the simulator over
real HTTP, in a real subprocess, with a real store file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.scores import scores_for
from monitor.store import Store

ROOT = Path(__file__).resolve().parents[1]

# Arithmetic prompts get deterministic replies from the simulator ("1 + 3 = 4. The answer is 4.").
PASSING = {
    "name": "sums", "stream": "ci",
    "prompts": ["You are terse.", ""],
    "user": "What is {a} + {b}?",
    "vars": {"a": [1, 2], "b": [3]},
    "models": ["gpt-4o-mini", "gpt-4.1-nano"],
    "params": {"max_tokens": 50},
    "asserts": [
        {"type": "contains", "value": "The answer is"},
        {"type": "regex", "value": r"= [45]\b"},
        {"type": "max_latency_ms", "value": 60000},
        {"type": "judge", "model": "gpt-4o-mini", "rubric": 'Does it say "answer"? Answer PASS or FAIL.'},
    ],
}


def run_cli(sim, db, *args, env_key=True):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if env_key:
        env.update(OPENAI_API_KEY="sk-test-0123456789abcdef", OPENAI_BASE_URL=sim.base_url)
    return subprocess.run([sys.executable, "-m", "monitor.cli", "experiment", "run", *map(str, args), "--db", str(db)],
                          env=env, capture_output=True, text=True, timeout=120)


def write(tmp_path, data, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if name.endswith((".yaml", ".yml")) else json.dumps(data))
    return path


def test_all_pass_exits_0_with_the_contract_json(sim, tmp_path, db_path):
    proc = run_cli(sim, db_path, write(tmp_path, PASSING), "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                                    # quiet: no progress bar with --json
    out = json.loads(proc.stdout)
    assert {"name", "calls", "passed", "failed", "errors", "cost_usd", "cells"} <= set(out)
    assert (out["name"], out["calls"], out["passed"], out["failed"], out["errors"]) == ("sums", 8, 8, 0, 0)
    cell = out["cells"][0]
    assert {"prompt", "vars", "model", "repeat", "output", "cost_usd", "latency_ms", "status", "scores",
            "pass"} <= set(cell)
    assert cell["prompt"] == "You are terse." and cell["vars"] == {"a": "1", "b": "3"}
    assert cell["output"] == "1 + 3 = 4. The answer is 4." and cell["status"] == "success" and cell["pass"]
    assert set(cell["scores"]) == {"contains: The answer is", r"regex: = [45]\b", "max_latency_ms: 60000",
                                   'judge: Does it say "answer"? Answer PASS or FAI…'}
    for score in cell["scores"].values():
        assert set(score) == {"pass", "score", "reason"} and score["pass"] is True
    assert {c["prompt"] for c in out["cells"]} == {"You are terse.", ""}

    store = Store(db_path)
    records = store.records("ci")
    cells = [r for r in records if not r.attributes.get("judge")]
    judges = [r for r in records if r.attributes.get("judge")]
    assert len(cells) == 8 and len(judges) == 8                 # one judge call per cell, logged too
    for r in cells:
        assert {"experiment", "system_prompt", "prompt_template", "params", "model"} <= set(r.attributes)
        assert r.attributes["experiment"] == "sums" and r.attributes["model"] == r.model
        assert r.attributes["prompt_template"] == "What is {a} + {b}?"
    no_system = [r for r in cells if r.attributes["system_prompt"] == ""]
    assert len(no_system) == 4 and all(r.request["messages"][0]["role"] == "user" for r in no_system)
    assert all(r.attributes["judge"] is True and r.attributes["experiment"] == "sums" for r in judges)
    # the judges' cost counts in cost_usd: it equals everything the run logged
    assert out["cost_usd"] == pytest.approx(sum(r.cost_usd for r in records), rel=1e-9)
    assert out["cost_usd"] > sum(c["cost_usd"] for c in out["cells"])
    # scores are stored linked to their call
    stored = scores_for(store, [r.id for r in cells])
    assert set(stored) == {r.id for r in cells}
    by_id = {c["record_id"]: c for c in out["cells"]}
    for call_id, scores in stored.items():
        assert {s.name: (s.passed, s.value) for s in scores} == {
            k: (v["pass"], v["score"]) for k, v in by_id[call_id]["scores"].items()}
        assert {s.source for s in scores} == {"assert", "judge"}


def test_a_failing_assert_exits_1(sim, tmp_path, db_path):
    data = {**PASSING, "asserts": [{"type": "contains", "value": "4"},
                                   {"type": "judge", "rubric": 'Score 1 to 5: does it mention "4"?'}]}
    proc = run_cli(sim, db_path, write(tmp_path, data, "exp.json"), "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["passed"], out["failed"], out["errors"]) == (4, 4, 0)      # 2 + 3 = 5 has no "4"
    failing = [c for c in out["cells"] if not c["pass"]]
    assert {c["vars"]["a"] for c in failing} == {"2"}
    judge = failing[0]["scores"]['judge: Score 1 to 5: does it mention "4"?']
    assert judge == {"pass": False, "score": 1.0, "reason": 'The output is missing "4".'}


def test_progress_and_table_without_json(sim, tmp_path, db_path):
    proc = run_cli(sim, db_path, write(tmp_path, PASSING))
    assert proc.returncode == 0, proc.stderr
    assert "pass rate" in proc.stdout and "8 passed, 0 failed, 0 errors" in proc.stdout
    assert "P1: You are terse." in proc.stdout


def test_errors_fail_the_run(sim, tmp_path, db_path):
    data = {**PASSING, "params": {"max_tokens": 50, "extra_headers": {"X-Sim-Status": "500"}}}
    proc = run_cli(sim, db_path, write(tmp_path, data), "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["errors"] == 8 and out["passed"] == 0
    assert out["cells"][0]["status"] == "error" and "HTTP 500" in out["cells"][0]["output"]


@pytest.mark.parametrize("content, message", [
    ("name: x\nuser: hi\n", "exp.yaml: models: Field required"),
    ("name: x\nuser: 'hi {who}'\nmodels: [m]\n", "exp.yaml: Give at least one value for {who}."),
    ("name: x\nuser: hi\nmodels: [m]\nasserts: [{type: contains}]\n", "exp.yaml: asserts.0.value: Field required"),
    ("name: x\nuser: hi\nmodels: [m]\nasserts: [{type: sounds_good}]\n", "exp.yaml: asserts.0: Input tag 'sounds_good'"),
    ("name: x\nuser: hi\nmodels: [m]\nrepeat: 2\n", "exp.yaml: repeat: Extra inputs are not permitted"),
    ("name: [x\n", "exp.yaml is not valid YAML or JSON"),
    ("name: x\nuser: hi\nmodels: [m]\nparams: {stream: true}\n", "exp.yaml: params.stream: not allowed here"),
    ("- just\n- a list\n", "exp.yaml is not an experiment file"),
])
def test_bad_files_exit_2_with_one_line(sim, tmp_path, db_path, content, message):
    path = tmp_path / "exp.yaml"
    path.write_text(content)
    proc = run_cli(sim, db_path, path, "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("openai-monitor: " + message), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not db_path.exists()                                   # nothing was run or stored


def test_usage_errors_exit_2(sim, tmp_path, db_path):
    path = write(tmp_path, PASSING)
    assert run_cli(sim, db_path, tmp_path / "missing.yaml").returncode == 2
    proc = run_cli(sim, db_path, path, env_key=False)
    assert proc.returncode == 2 and "no API key" in proc.stderr
    proc = run_cli(sim, db_path, path, "--profile", "nope")
    assert proc.returncode == 2 and "no profile named 'nope'" in proc.stderr


def test_runs_through_a_saved_profile(sim, tmp_path, db_path, monkeypatch):
    from monitor.paths import user_config_dir
    from monitor.profiles import Profile, ProfileStore

    ProfileStore(user_config_dir() / "profiles.json").save(Profile("local-sim", base_url=sim.base_url, kind="demo"))
    proc = run_cli(sim, db_path, write(tmp_path, PASSING), "--profile", "local-sim", "--stream", "other", "--json",
                   env_key=False)
    assert proc.returncode == 0, proc.stderr
    assert len(Store(db_path).records("other")) == 16


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal via the pty module")
def test_a_progress_bar_on_a_terminal(sim, tmp_path, db_path):
    import pty
    import select

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test-0123456789abcdef",
           "OPENAI_BASE_URL": sim.base_url, "COLUMNS": "100", "TERM": "xterm"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "experiment", "run", str(write(tmp_path, PASSING)),
                             "--db", str(db_path)], env=env, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:                      # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(60) == 0
    text = out.decode(errors="replace")
    assert "━" in text and "8/8" in text                      # rich's bar, then the table
    assert "8 passed, 0 failed, 0 errors" in text
