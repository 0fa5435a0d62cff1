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
