"""benchmarks/run_all.py: one row per script, whatever the script does (figures, failure, hang, no JSON)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run_all  # noqa: E402


SCRIPTS = {
    "good": 'import json\nprint("median 12 us")\nprint(json.dumps({"calls": 300, "added_us": 1.234, '
            '"this": {"seconds": 51.0, "peak_rss_mb": 77}, "heavy": ["openai"], "pipe": "a | b"}))\n',
    "renamed": 'import json\nprint(json.dumps({"a_new_key": 0.5}))\nprint("done")\n',
    "crash": 'import sys\nprint("started")\nraise SystemExit("store.py: initdb not found")\n',
    "silent": 'print("board drawn: True after 1.3 s")\nprint("app RSS 322 MB")\n',
    "hang": 'import time\nprint("{}")\ntime.sleep(600)\n',
}


def _benches(tmp_path: Path) -> list[run_all.Bench]:
    out = []
    for name, code in SCRIPTS.items():
        path = tmp_path / f"{name}.py"
        path.write_text(code)
        out.append(run_all.Bench(name, str(path), headline=("calls", "this.seconds", "missing")))
    return out


def test_every_script_is_a_row_saying_how_it_went(tmp_path):
    benches = _benches(tmp_path)
    env = dict(os.environ)
    rows = {b.name: run_all.run(b, [], 2 if b.name == "hang" else 60, env) for b in benches}
    assert rows["good"]["status"] == "ok" and rows["good"]["figures"]["added_us"] == 1.234
    assert rows["renamed"]["status"] == "ok" and rows["renamed"]["figures"] == {"a_new_key": 0.5}
    assert rows["crash"]["status"] == "failed (exit 1)" and rows["crash"]["last_line"] == "store.py: initdb not found"
    assert rows["silent"]["status"] == "no JSON line" and rows["silent"]["last_line"] == "app RSS 322 MB"
    assert rows["hang"]["status"] == "timed out after 2 s"

    info = {**run_all.machine(), "quick": True, "date": "2026-11-30 06:00 UTC", "load_start": [1.0, 2.0, 3.0],
            "load_end": None, "seconds": 12.0}
    table = run_all.markdown(info, list(rows.values()), {b.name: b for b in benches})
    lines = table.splitlines()
    assert "2026-11-30 06:00 UTC" in lines[0] and f"Python {info['python']}" in lines[0]
    assert "1.0 / 2.0 / 3.0 at the start" in lines[0] and "unknown at the end" in lines[0]
    body = [line for line in lines if line.startswith("| `")]
    assert len(body) == len(SCRIPTS)
    assert all(line.count(" | ") == 5 for line in body)          # six columns, the "a | b" value escaped
    good = next(line for line in body if "good.py" in line)
    assert "calls **300**, this.seconds **51.0**" in good and "missing" not in good
    assert "added_us 1.23" in good and "this.peak_rss_mb 77" in good and 'heavy ["openai"]' in good
    assert "a_new_key 0.5" in next(line for line in body if "renamed.py" in line)
    assert "initdb not found" in next(line for line in body if "crash.py" in line)
    assert "app RSS 322 MB" in next(line for line in body if "silent.py" in line)


def test_unknown_names_are_refused(capsys):
    assert run_all.main(["no_such_bench"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_every_benchmark_script_is_listed():
    names = {b.script for b in run_all.discovered()}
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name != "run_all.py"}
    assert scripts <= names
    assert json.loads(json.dumps([b.headline for b in run_all.BENCHES]))   # plain data
