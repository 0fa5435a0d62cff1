"""`openai-monitor board list | new | export | import` through monitor.cli.main."""
from __future__ import annotations

import json

import pytest

from monitor.boards import get_board, list_boards
from monitor.boards.columns import forget_caches
from monitor.cli import main
from monitor.store import Store
from test_boards_compute import make_records


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def db(db_path):
    st = Store(db_path)
    st.insert_records(make_records(120, stream="team/s"))
    st.close()
    return str(db_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_new_export_import(db, tmp_path, capsys):
    assert run(capsys, "board", "list", "--db", db) == (0, f"no boards in {db} (create one with: openai-monitor "
                                                        "board new STREAM)\n", "")
    code, out, err = run(capsys, "board", "new", "team/s", "--db", db)
    assert code == 0 and "OpenAI Monitor Board · team/s" in out and not err
    code, out, _ = run(capsys, "board", "new", "team/s", "--name", "Mine", "--db", db)
    assert code == 0 and "'Mine'" in out
    code, out, _ = run(capsys, "board", "list", "--db", db)
    assert code == 0 and out.splitlines()[0].startswith("Mine") and "team/s" in out and len(out.splitlines()) == 2

    path = tmp_path / "mine.json"
    code, out, _ = run(capsys, "board", "export", "Mine", "-o", str(path), "--db", db)
    assert code == 0 and "120 records" in out and json.loads(path.read_text())["format"] == "openai-monitor.board"
    code, out, _ = run(capsys, "board", "export", "Mine", "-o", str(tmp_path / "n.json"), "--no-content", "--db", db)
    assert code == 0 and "no prompt or completion text" in out
    assert "question 3" not in (tmp_path / "n.json").read_text()

    fresh = str(tmp_path / "teammate.db")          # a store that doesn't exist yet is created by import
    code, out, err = run(capsys, "board", "import", str(path), "--db", fresh)
    assert code == 0 and "'Mine'" in out and "team/s (imported)" in out and not err
    st = Store(fresh)
    assert [b.name for b in list_boards(st)] == ["Mine"] and get_board(st, "Mine").stream == "team/s (imported)"
    assert st.count("team/s (imported)") == 120
    st.close()
    code, out, _ = run(capsys, "board", "list", "--db", fresh)
    assert "Mine" in out


def test_errors_exit_2_with_one_line(db, tmp_path, capsys):
    code, out, err = run(capsys, "board", "new", "nope", "--db", db)
    assert code == 2 and not out and err.count("\n") == 1 and "no stream named 'nope'" in err
    run(capsys, "board", "new", "team/s", "--name", "X", "--db", db)
    code, _, err = run(capsys, "board", "new", "team/s", "--name", "X", "--db", db)
    assert code == 2 and "already exists" in err and err.count("\n") == 1
    code, _, err = run(capsys, "board", "export", "missing", "-o", str(tmp_path / "x.json"), "--db", db)
    assert code == 2 and "no board named 'missing'" in err and not (tmp_path / "x.json").exists()
    code, _, err = run(capsys, "board", "list", "--db", str(tmp_path / "none.db"))
    assert code == 2 and "no store" in err
    before = Store(db).conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    for content in (b'{"format": "openai-monitor.board", "version": 1, "records": [', b"garbage",
                    b'{"format": "openai-monitor.board", "version": 7}', b'{"a": NaN}'):
        bad = tmp_path / "bad.json"
        bad.write_bytes(content)
        code, out, err = run(capsys, "board", "import", str(bad), "--db", db)
        assert code == 2 and not out and err.startswith("openai-monitor: bad.json") and err.count("\n") == 1, err
    assert Store(db).conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == before


def test_board_needs_an_action(db, capsys):
    with pytest.raises(SystemExit) as info:
        main(["board", "--db", db])
    assert info.value.code == 2


# -- where an export may write (issue 7.1) -----------------------------------------------------------------------
def _dump_hash(db: str) -> str:
    import hashlib

    st = Store(db)
    try:
        return hashlib.sha256("\n".join(st.conn.iterdump()).encode()).hexdigest()
    finally:
        st.close()


def test_export_never_writes_over_the_store(db, tmp_path, capsys):
    import os

    run(capsys, "board", "new", "team/s", "--name", "B", "--db", db)
    before = _dump_hash(db)
    os.symlink(db, tmp_path / "link.db")
    os.link(db, tmp_path / "hard.db")
    for target in (db, db + "-wal", db + "-shm", str(tmp_path / "link.db"), str(tmp_path / "hard.db")):
        for fmt in ([], ["--force"], ["--force", "--format", "csv"], ["--force", "--format", "html"]):
            code, out, err = run(capsys, "board", "export", "B", "-o", target, *fmt, "--db", db)
            assert code == 2 and not out and err.count("\n") == 1 and "store being read" in err, (target, err)
    assert _dump_hash(db) == before
    assert Store(db).count("team/s") == 120          # still a store, still whole


def test_export_refuses_an_existing_file_unless_forced(db, tmp_path, capsys):
    run(capsys, "board", "new", "team/s", "--name", "B", "--db", db)
    target = tmp_path / "mine.json"
    target.write_text("my notes")
    code, out, err = run(capsys, "board", "export", "B", "-o", str(target), "--db", db)
    assert code == 2 and not out and "already exists; pass --force" in err and err.count("\n") == 1
    assert target.read_text() == "my notes"
    code, out, _ = run(capsys, "board", "export", "B", "-o", str(target), "--force", "--db", db)
    assert code == 0 and json.loads(target.read_text())["stream"]["records"] == 120
    code, _, err = run(capsys, "board", "export", "B", "-o", str(tmp_path), "--force", "--db", db)
    assert code == 2 and "is a directory" in err


def test_export_writes_through_a_symlink_and_to_stdout(db, tmp_path, capsys):
    import os
    import subprocess
    import sys

    run(capsys, "board", "new", "team/s", "--name", "B", "--db", db)
    real = tmp_path / "real.json"
    real.write_text("old")
    os.symlink(real, tmp_path / "latest.json")
    code, _, _ = run(capsys, "board", "export", "B", "-o", str(tmp_path / "latest.json"), "--force", "--db", db)
    assert code == 0 and (tmp_path / "latest.json").is_symlink()       # the link is kept, its target written
    assert json.loads(real.read_text())["stream"]["records"] == 120
    # /dev/stdout is streamed to, not replaced; the confirmation goes to stderr so the data stays clean
    for fmt, check in (("json", lambda t: json.loads(t)["stream"]["records"] == 120),
                       ("csv", lambda t: t.splitlines()[0].startswith("id,time_utc") and len(t.splitlines()) == 121)):
        proc = subprocess.run([sys.executable, "-m", "monitor.cli", "board", "export", "B", "-o", "/dev/stdout",
                               "--format", fmt, "--db", db], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and check(proc.stdout), proc.stderr
        assert "exported" in proc.stderr
    assert os.path.exists("/dev/stdout") and not os.path.isfile("/dev/null")


def test_export_format_by_extension(db, tmp_path, capsys):
    run(capsys, "board", "new", "team/s", "--name", "B", "--db", db)
    code, out, _ = run(capsys, "board", "export", "B", "-o", str(tmp_path / "r.csv"), "--db", db)
    assert code == 0 and (tmp_path / "r.csv").read_text().startswith("id,time_utc,")
    code, out, _ = run(capsys, "board", "export", "B", "-o", str(tmp_path / "r.html"), "--no-content", "--db", db)
    assert code == 0 and (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>") and "report" in out
    assert "question 3" not in (tmp_path / "r.html").read_text()


# -- names and arguments (issue 7.10) -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   ", "invoice\u202egpj.exe", "Mi\u200bne", "a\u2066b", "\ufeffBOM"])
def test_board_names_that_hide_or_reorder_text_are_refused(db, capsys, name):
    code, out, err = run(capsys, "board", "new", "team/s", "--name", name, "--db", db)
    assert code == 2 and not out and err.count("\n") == 1, err
    assert list_boards(Store(db)) == []


def test_renames_refuse_invisible_characters(db):
    from monitor.boards import new_template_board, rename_board

    st = Store(db)
    new_template_board(st, "team/s", "Mine")
    with pytest.raises(ValueError, match="U\\+202E"):
        rename_board(st, "Mine", "Mi\u202ene")
    assert [b.name for b in list_boards(st)] == ["Mine"]


def test_simulate_refuses_a_busy_port_and_bad_rates(capsys):
    import socket

    from monitor.cli import build_parser

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "simulate", "--port", str(port))
    assert code == 2 and err.count("\n") == 1 and f"port {port}" in err and "Traceback" not in err
    for argv in (["--error-rate", "2"], ["--error-rate", "-0.1"], ["--rate-limit-rate", "nan"],
                 ["--port", "70000"], ["--latency-ms", "-5"], ["--tokens-per-s", "0"]):
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(["simulate", *argv])
        assert info.value.code == 2, argv
    assert build_parser().parse_args(["simulate", "--error-rate", "0.25"]).error_rate == 0.25
