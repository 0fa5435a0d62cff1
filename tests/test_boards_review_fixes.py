"""Board files and exports, as an adversarial review found them (issue 7 items 1, 8, 10)."""
from __future__ import annotations

import json
import os
import stat

import pytest

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
    st.insert_records(make_records(30, stream="team/s"))
    st.close()
    code = main(["board", "new", "team/s", "--name", "B", "--db", str(db_path)])
    assert code == 0
    return str(db_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _exported(capsys, db, tmp_path) -> dict:
    path = tmp_path / "b.json"
    assert run(capsys, "board", "export", "B", "-o", str(path), "--db", db)[0] == 0
    return json.loads(path.read_text())


def test_a_regular_file_under_dev_is_a_file_not_a_device(db, capsys):
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    target = f"/dev/shm/openai-monitor-test-{os.getpid()}.json"
    with open(target, "w") as f:
        f.write("precious")
    try:
        code, _, err = run(capsys, "board", "export", "B", "-o", target, "--db", db)
        assert code == 2 and "already exists" in err
        assert open(target).read() == "precious"
    finally:
        os.unlink(target)


def test_exports_get_the_umask_mode_and_keep_an_existing_files_mode(db, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        assert run(capsys, "board", "export", "B", "-o", str(fresh), "--db", db)[0] == 0
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644           # before: 0600, unreadable to a teammate
        kept = tmp_path / "kept.json"
        kept.write_text("x")
        kept.chmod(0o640)
        assert run(capsys, "board", "export", "B", "-o", str(kept), "--force", "--db", db)[0] == 0
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_stream_name_near_the_limit_imports_with_its_suffix_shortened(db, tmp_path, capsys):
    data = _exported(capsys, db, tmp_path)
    data["stream"]["name"] = "s" * 395
    data["board"]["stream"] = "s" * 395
    path = tmp_path / "long.json"
    path.write_text(json.dumps(data))
    other = str(tmp_path / "other.db")
    code, out, err = run(capsys, "board", "import", str(path), "--db", other)
    assert code == 0, err                                            # before: a pydantic traceback, exit 1
    (name,) = [s.name for s in Store(other).streams()]
    assert len(name) <= 400 and name.endswith("(imported)")


@pytest.mark.parametrize("where,value", [
    ("stream", "team\u202es"), ("stream", "team\u200bs"), ("title", "Cost\u202e"),
    ("description", "about \u009b31m"), ("board", "B\u009b31m"), ("group_by", "attributes.us\u200ber"),
])
def test_invisible_and_control_characters_are_refused_everywhere_a_file_names_things(db, tmp_path, capsys, where, value):
    data = _exported(capsys, db, tmp_path)
    if where == "stream":
        data["stream"]["name"] = value
    elif where == "title":
        data["board"]["panels"][0]["title"] = value
    elif where == "description":
        data["board"]["description"] = value
    elif where == "board":
        data["board"]["name"] = value
    else:
        data["board"]["group_by"] = value
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    other = tmp_path / "other.db"
    code, out, err = run(capsys, "board", "import", str(path), "--db", str(other))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not other.exists() or Store(other).streams() == []


def test_numbers_only_files_hold_no_prompt_text_of_any_api(tmp_path, capsys, db_path):
    st = Store(db_path)
    records = make_records(2, stream="team/c")
    records[0].request = {"model": "gpt-3.5-turbo-instruct", "prompt": "PROMPT_A", "suffix": "SECRETSUFFIX_B"}
    records[1].request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "C"}],
                          "prediction": {"type": "content", "content": "PREDICTED_D"}}
    st.insert_records(records)
    st.close()
    db = str(db_path)
    assert run(capsys, "board", "new", "team/c", "--name", "C", "--db", db)[0] == 0
    path = tmp_path / "numbers.json"
    assert run(capsys, "board", "export", "C", "-o", str(path), "--no-content", "--db", db)[0] == 0
    text = path.read_text()
    for secret in ("PROMPT_A", "SECRETSUFFIX_B", "PREDICTED_D"):
        assert secret not in text
