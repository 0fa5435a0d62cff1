"""Team stores: the same library and CLI on a real PostgreSQL server (a throwaway cluster, tests/pg_server.py),
side by side with SQLite where the behaviour is shared (`store_at` runs a test on both engines)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import openai
import psycopg
import pytest

from monitor import init_monitor
from monitor import writer as writer_mod
from monitor.cli import main
from monitor.pg import translate
from monitor.record import CALL_FIELDS
from monitor.stats import stream_stats
from monitor.store import SCHEMA_VERSION, Store, StoreError
from tests.pg_server import WRITER, PgCluster

KEY = "sk-test-0123456789abcdef"
MSG = [{"role": "user", "content": "hi"}]


def _poll(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _log_calls(m, base_url, n, **attrs):
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0))
    for i in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"i": i, **attrs})
    client.close()


def _cli(*args, home=None, env_db=None):
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())}
    if home is not None:
        env["HOME"] = str(home)
        env.pop("OPENAI_MONITOR_CONFIG_DIR", None)
    if env_db is not None:
        env["OPENAI_MONITOR_DB"] = env_db
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


# -- the dialect, in one place --------------------------------------------------------------------------------
def test_translate_sqlite_dialect():
    assert translate("SELECT a FROM calls WHERE +c.stream_id = ? AND x LIKE '%a'") == \
        "SELECT a FROM calls WHERE +c.stream_id = %s AND x ILIKE '%%a'"     # the hint works alike: not that index
    assert translate("SELECT name FROM prompts ORDER BY name COLLATE NOCASE, name") == \
        "SELECT name FROM prompts ORDER BY lower(name), name"
    assert translate("INSERT OR IGNORE INTO streams (name) VALUES (?)") == \
        "INSERT INTO streams (name) VALUES (%s) ON CONFLICT DO NOTHING"
    assert translate("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)") == \
        "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    assert translate("SELECT COALESCE(MAX(version), 0) + 1 FROM v") == "SELECT COALESCE(MAX(version), 0) + 1 FROM v"


def test_percent_signs_survive_with_and_without_parameters(pg_url):
    conn = Store(pg_url).conn
    assert conn.execute("SELECT '5%'").fetchone() == ("5%",)
    assert conn.execute("SELECT '5%', ?", (1,)).fetchone() == ("5%", 1)


def test_writers_take_one_write_lock_so_ids_grow_in_commit_order(pg_url):
    """BEGIN IMMEDIATE waits for the writer in progress, as in SQLite: a call committed after another never has
    a smaller id, so readers following `id > last seen` miss nothing."""
    import threading

    first, second = Store(pg_url), Store(pg_url)
    first.stream_id("s")
    acquired = threading.Event()

    def other_writer():
        with second.transaction() as conn:
            acquired.set()
            conn.execute("INSERT INTO calls (stream_id, ts, api, status) VALUES (1, 2.0, 'chat', 'success')")

    with first.transaction() as conn:
        conn.execute("INSERT INTO calls (stream_id, ts, api, status) VALUES (1, 1.0, 'chat', 'success')")
        t = threading.Thread(target=other_writer)
        t.start()
        assert not acquired.wait(0.5)          # still waiting for this transaction
    t.join(30)
    assert acquired.is_set()
    assert [r.timestamp for r in first.records("s")] == [1.0, 2.0]


def test_postgres_schema_has_every_record_field(pg_url):
    store = Store(pg_url)
    cols = {r[0]: r[1] for r in store.conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'calls'")}
    assert {f.column for f in CALL_FIELDS} <= set(cols)
    assert cols["ts"] == "double precision" and cols["prompt_tokens"] == "bigint"
    tables = {r[0] for r in store.conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert {"streams", "calls", "boards", "scores", "prompts", "prompt_versions", "meta", "column_chunks"} <= tables
    assert Store(pg_url).conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


# -- the library and CLI on both engines -----------------------------------------------------------------------
def test_log_read_and_stats_on_both_engines(store_at, sim, capsys):
    m = init_monitor("team/svc/logs", db_path=store_at)
    assert "openai-monitor: logging stream 'team/svc/logs'" in capsys.readouterr().out
    _log_calls(m, sim.base_url, 12)
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True) if c.choices)
    records = m.records()
    assert len(records) == 13 and sorted(r.attributes.get("i", -1) for r in records) == [-1, *range(12)]
    assert records[-1].streamed and records[-1].output == text
    assert m.health() == {"logged": 13, "committed": 13, "dropped": 0, "last_error": None}
    m.close()
    assert main(["stats", "team/svc/logs", "--json", "--db", store_at]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["requests"] == 13 and stats["errors"] == 0 and isinstance(stats["total_tokens"], int)
    assert main(["streams", "--db", store_at]) == 0
    assert "team/svc/logs" in capsys.readouterr().out


def test_board_cli_on_both_engines(store_at, sim, tmp_path, capsys):
    m = init_monitor("boards/s", db_path=store_at, quiet=True)
    _log_calls(m, sim.base_url, 5)
    m.close()
    assert main(["board", "new", "boards/s", "--name", "Ops", "--db", store_at]) == 0
    assert main(["board", "list", "--db", store_at]) == 0
    assert "Ops" in capsys.readouterr().out
    out = tmp_path / "ops.json"
    assert main(["board", "export", "Ops", "-o", str(out), "--db", store_at]) == 0
    assert len(json.loads(out.read_text())["records"]) == 5
    assert main(["board", "import", str(out), "--db", store_at]) == 0
    names = {s.name: s.calls for s in Store(store_at).streams()}
    assert names == {"boards/s": 5, "boards/s (imported)": 5}


def test_scores_and_prompts_shared_on_postgres(pg_url):
    from monitor.experiments.prompts import PromptLibrary
    from monitor.experiments.scorers import Score
    from monitor.record import Record
    from monitor.scores import add_scores, scores_for, set_human_rating

    store = Store(pg_url)
    store.insert_records([Record(id=None, stream="s", timestamp=1.0, latency_ms=1.0, ttft_ms=None,
                                 api="chat.completions", model="m", response_model=None, status="success",
                                 error=None, prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=None,
                                 reasoning_tokens=None, usage_estimated=False, cost_usd=None, streamed=False)])
    call_id = store.records("s")[0].id
    add_scores(store, [(call_id, Score("len", 1.0, True, "ok", "assert"))])
    set_human_rating(Store(pg_url), call_id, 1)
    assert [s.name for s in scores_for(Store(pg_url), [call_id])[call_id]] == ["len", "human"]
    lib = PromptLibrary(store)
    lib.save("Tone", [{"role": "system", "content": "terse"}])
    lib.save("Tone", [{"role": "system", "content": "kind"}])
    assert [v.version for v in PromptLibrary(Store(pg_url)).versions("Tone")] == [1, 2]


# -- many processes, many machines ------------------------------------------------------------------------------


def test_three_processes_with_separate_homes_share_one_postgres_store(pg_url, sim, tmp_path):
    homes = [tmp_path / f"home{k}" for k in range(4)]
    env = {**os.environ, "OPENAI_MONITOR_DB": pg_url}
    env.pop("OPENAI_MONITOR_CONFIG_DIR", None)
    procs = []
    for k in range(3):
        homes[k].mkdir()
        procs.append(subprocess.Popen([sys.executable, "-c", WRITER, sim.base_url, "team/shared", "120"],
                                      env={**env, "HOME": str(homes[k])}))
    for p in procs:
        assert p.wait(120) == 0
    homes[3].mkdir()
    result = _cli("stats", "team/shared", "--json", home=homes[3], env_db=pg_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 360
    # a board made by one user is listed by another
    assert _cli("board", "new", "team/shared", "--name", "Team board", home=homes[0], env_db=pg_url).returncode == 0
    listed = _cli("board", "list", home=homes[1], env_db=pg_url)
    assert listed.returncode == 0 and "Team board" in listed.stdout


# -- faults -----------------------------------------------------------------------------------------------------
@pytest.fixture
def own_cluster():
    """A cluster of this test's own, to stop and start (the session's cluster serves the other tests)."""
    from tests.pg_server import find_bin
    if find_bin("initdb") is None:
        pytest.skip("PostgreSQL is not installed (initdb not found)")
    cluster = PgCluster().start()
    yield cluster
    cluster.destroy()


def test_server_stopped_mid_run_calls_return_and_are_stored_after_restart(own_cluster, sim, caplog):
    url = own_cluster.new_database()
    m = init_monitor("faults", db_path=url, quiet=True)
    _log_calls(m, sim.base_url, 3)
    assert len(m.records()) == 3             # a reader connection, open across the restart
    own_cluster.stop()
    with caplog.at_level(logging.WARNING, logger="openai_monitor"):
        _log_calls(m, sim.base_url, 20)                # every call returns while the server is down
        m.flush(timeout=30)
        health = m.health()
        assert health["logged"] == 23 and health["committed"] == 3 and health["dropped"] == 0
        assert "does not answer" in health["last_error"] or "lost the connection" in health["last_error"]
        own_cluster.restart()
        _poll(lambda: m.health()["committed"] == 23)
    said = [r.getMessage() for r in caplog.records if "kept in memory" in r.getMessage()]
    assert len(said) == 1                              # one line said, not one per call
    _log_calls(m, sim.base_url, 2)
    assert len(m.records()) == 25            # (its reader's connection was lost too, and is opened again)
    m.close()


def test_server_down_at_start_holds_a_bounded_number_then_counts_drops(pg_cluster, sim, monkeypatch, caplog):
    closed = pg_cluster.url().replace(f":{pg_cluster.port}/", ":1/")          # nothing listens on port 1
    monkeypatch.setattr(writer_mod, "MAX_HELD", 5)
    with caplog.at_level(logging.WARNING, logger="openai_monitor"):
        m = init_monitor("down", db_path=closed, quiet=True)   # no exception: the caller keeps working
        _log_calls(m, sim.base_url, 8)
        m.flush(timeout=30)
    health = m.health()
    assert health["logged"] == 8 and health["committed"] == 0 and health["dropped"] == 3
    said = [r.getMessage() for r in caplog.records if r.module == "writer"]
    assert len(said) == 2 and "kept in memory (up to 5)" in said[0] and "more than 5 calls were waiting" in said[1]
    # give up on the held calls now, so the test session's exit doesn't wait for this server
    m._writer._give_up_at = time.monotonic()
    m._writer.close(10)
    writer_mod._writers.pop(writer_mod._key(closed), None)


def test_wrong_password_and_wrong_database_are_one_line_with_exit_2(pg_cluster, capsys, monkeypatch, tmp_path):
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE ROLE alice LOGIN PASSWORD 'right-pw-123'")
        conn.execute("CREATE DATABASE alicedb OWNER alice")
    base = f"127.0.0.1:{pg_cluster.port}/alicedb"
    assert main(["streams", "--db", f"postgresql://alice:wrong-pw-456@{base}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused the login" in err and "wrong-pw-456" not in err
    assert "postgresql://alice:***@" in err
    assert main(["streams", "--db", f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/no_such_db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_db" in err and "does not exist" in err
    with pytest.raises(StoreError, match="refused the login"):
        init_monitor("x", db_path=f"postgresql://alice:wrong-pw-456@{base}", quiet=True)
    # the password from $PGPASSWORD (libpq reads it) — never shown
    monkeypatch.setenv("PGPASSWORD", "right-pw-123")
    assert main(["streams", "--db", f"postgresql://alice@{base}"]) == 0
    monkeypatch.delenv("PGPASSWORD")
    home = tmp_path / "home"                     # ... or from ~/.pgpass
    home.mkdir()
    (home / ".pgpass").write_text(f"127.0.0.1:{pg_cluster.port}:alicedb:alice:right-pw-123\n")
    (home / ".pgpass").chmod(0o600)
    assert _cli("streams", "--db", f"postgresql://alice@{base}", home=home).returncode == 0
    assert _cli("streams", "--db", f"postgresql://alice@{base}", home=tmp_path).returncode == 2
    m = init_monitor("pw", db_path=f"postgresql://alice:right-pw-123@{base}")
    shown = capsys.readouterr().out + repr(m) + str(m.db_path)
    assert "right-pw-123" not in shown and "alice:***@" in shown
    m.close()


# -- migrate -----------------------------------------------------------------------------------------------------
def test_migrate_copies_calls_boards_scores_once(tmp_path, pg_url, sim, capsys):
    from monitor.experiments.scorers import Score
    from monitor.scores import add_scores, scores_for

    local = str(tmp_path / "local.db")
    m = init_monitor("mine/app", db_path=local, quiet=True)
    _log_calls(m, sim.base_url, 7)
    m.flush()
    first = m.records()[0].id
    add_scores(Store(local), [(first, Score("ok", 1.0, True, "", "assert"))])
    assert main(["board", "new", "mine/app", "--name", "Mine", "--db", local]) == 0
    capsys.readouterr()
    assert main(["migrate", "--from", local, "--to", pg_url]) == 0
    assert "copied 7 calls, 1 scores, 1 boards" in capsys.readouterr().out
    team = Store(pg_url)
    assert team.conn.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'calls'").fetchone()[0]
    assert stream_stats(team, "mine/app") == stream_stats(Store(local), "mine/app")
    copied = team.records("mine/app")
    assert [r.attributes["i"] for r in copied] == list(range(7))
    assert [s.name for s in scores_for(team, [copied[0].id])[copied[0].id]] == ["ok"]
    # again: nothing twice; then only what is new
    assert main(["migrate", "--from", local, "--to", pg_url]) == 0
    assert "copied 0 calls, 0 scores, 0 boards" in capsys.readouterr().out
    _log_calls(m, sim.base_url, 3)
    m.close()
    assert main(["migrate", "--from", local, "--to", pg_url]) == 0
    assert "copied 3 calls" in capsys.readouterr().out
    assert Store(pg_url).count("mine/app") == 10
    assert main(["board", "list", "--db", pg_url]) == 0
    assert "Mine" in capsys.readouterr().out


def test_text_with_nul_is_stored_on_postgres(pg_url):
    """PostgreSQL text can't hold NUL (SQLite's can): the call is kept, the NUL shown as U+FFFD."""
    from monitor.record import Record

    store = Store(pg_url)
    store.insert_records([Record(id=None, stream="nul", timestamp=1.0, latency_ms=1.0, ttft_ms=None,
                                 api="chat.completions", model="m", response_model=None, status="success",
                                 error=None, prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=None,
                                 reasoning_tokens=None, usage_estimated=False, cost_usd=None, streamed=False,
                                 output="a\x00b", attributes={"k": "x\x00y"})])
    record = store.records("nul")[0]
    assert record.output == "a\ufffdb" and record.attributes == {"k": "x\x00y"}


# -- live across machines ------------------------------------------------------------------------------------
def test_calls_committed_by_another_process_are_pushed_to_listeners(pg_url, sim, tmp_path):
    from monitor.store import watch_calls

    assert watch_calls(str(tmp_path / "local.db"), print) is None          # SQLite readers poll instead
    Store(pg_url)                                                         # the schema exists before listening
    seen: list[list[str]] = []
    listener = watch_calls(pg_url, seen.append)
    try:
        assert listener.wait_listening(30)
        env = {**os.environ, "OPENAI_MONITOR_DB": pg_url, "HOME": str(tmp_path)}
        subprocess.run([sys.executable, "-c", WRITER, sim.base_url, "team/live", "3"], env=env, check=True,
                       timeout=120)
        _poll(lambda: any("team/live" in s for s in seen))
    finally:
        listener.close()
    assert all(s == ["team/live"] for s in seen)


def test_requests_page_queries_on_both_engines(store_at, sim):
    from monitor.queries import CallFilter, count_calls, list_calls, stream_models

    m = init_monitor("page/s", db_path=store_at, quiet=True)
    _log_calls(m, sim.base_url, 6, user="zoë")
    m.close()
    store = Store(store_at)
    flt = CallFilter(stream="page/s")
    rows = list_calls(store, flt, limit=4)
    assert len(rows) == 4 and [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    rest = list_calls(store, flt, before=(rows[-1][1], rows[-1][0]))
    assert len(rest) == 2 and rest[0][0] < rows[-1][0]
    assert count_calls(store, CallFilter(stream="page/s", text="zoë")) == 6
    assert count_calls(store, CallFilter(stream="page/s", text="50%_off")) == 0
    assert count_calls(store, CallFilter(stream="page/s", text="GPT-4O-MINI")) == 6     # any case, as SQLite's LIKE
    assert count_calls(store, CallFilter(stream="page/s", text="zoe")) == 0
    assert stream_models(store, "page/s") == ["gpt-4o-mini"]
    assert [r[0] for r in list_calls(store, flt, after_id=rows[1][0])] == [rows[0][0]]


def test_board_file_with_scores_imports_into_a_team_store_with_id_gaps(tmp_path, pg_url):
    """On PostgreSQL ids have gaps (a rolled-back batch spends its sequence values) and other machines insert
    meanwhile: an import links its scores to the ids its calls really got."""
    from monitor.boards import export_board, import_board, new_template_board
    from monitor.experiments.scorers import Score
    from monitor.record import Record
    from monitor.scores import add_scores, scores_for

    def rec(i):
        return Record(id=None, stream="s", timestamp=1_700_000_000.0 + i, latency_ms=1.0, ttft_ms=None,
                      api="chat.completions", model="m", response_model=None, status="success", error=None,
                      prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=None, reasoning_tokens=None,
                      usage_estimated=False, cost_usd=None, streamed=False)

    src = Store(tmp_path / "a.db")
    src.insert_records([rec(i) for i in range(3)])
    ids = [r.id for r in src.records("s")]
    add_scores(src, [(ids[0], Score("first", 1.0, True, "")), (ids[2], Score("third", 0.0, False, ""))])
    new_template_board(src, "s", "Scored")
    path = tmp_path / "board.json"
    export_board(src, "Scored", path, now=1_700_000_100.0)
    team = Store(pg_url)
    team.insert_records([rec(9)])
    with team.transaction() as conn:                        # a batch that was rolled back: a gap in the ids
        conn.execute("SELECT nextval(pg_get_serial_sequence('calls', 'id')) FROM generate_series(1, 5)")
    _, stream = import_board(team, path)
    imported = team.records(stream)
    got = scores_for(team, [r.id for r in imported])
    assert [s.name for s in got[imported[0].id]] == ["first"] and imported[1].id not in got
    assert [s.name for s in got[imported[2].id]] == ["third"]


def test_column_chunks_are_compressed_with_lz4_where_the_server_has_it(pg_url):
    conn = Store(pg_url).conn
    has_lz4 = conn.execute("SELECT setting LIKE '%--with-lz4%' FROM pg_config WHERE name = 'CONFIGURE'").fetchone()[0]
    method = conn.execute("SELECT attcompression FROM pg_attribute WHERE attrelid = 'column_chunks'::regclass "
                          "AND attname = 'data'").fetchone()[0]
    assert method == ("l" if has_lz4 else "")
