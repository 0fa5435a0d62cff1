"""The store under concurrency, hard kills and schema changes — a real SQLite file, real processes."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import openai
import pytest

from monitor import init_monitor
from monitor.store import SCHEMA_VERSION, Store, StoreError, connect

KEY = "sk-test-0123456789abcdef"
MSG = [{"role": "user", "content": "hi"}]

WRITER_SCRIPT = textwrap.dedent("""
    import sys, time, openai
    from monitor import init_monitor
    base_url, db, stream, n, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    m = init_monitor(stream, db_path=db, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
    for i in range(n):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}],
                                       monitor_attributes={"i": i})
    if mode == "flush-then-hang":
        m.flush()
        print("flushed", flush=True)
        time.sleep(60)
    # mode "exit": rely on normal interpreter exit to lose nothing
""")


def test_wal_mode_and_schema_version(db_path):
    m = init_monitor("s", db_path=db_path, quiet=True)
    m.close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_refused(db_path):
    connect(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_not_a_database_refused(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        Store(bad)
    assert bad.read_bytes() == b"this is not sqlite" * 100


def test_concurrent_threads_exact_count(sim, db_path):
    m = init_monitor("threads", db_path=db_path, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))

    def work(t):
        for i in range(25):
            client.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"t": t, "i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = m.records()
    assert len(recs) == 200
    assert {(r.attributes["t"], r.attributes["i"]) for r in recs} == {(t, i) for t in range(8) for i in range(25)}
    m.close()


def test_two_processes_and_this_one_write_at_once(sim, db_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, sim.base_url, str(db_path), f"proc/{k}", "150", "exit"])
             for k in range(2)]
    m = init_monitor("proc/main", db_path=db_path, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    for i in range(100):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    for p in procs:
        assert p.wait(60) == 0
    m.flush()
    store = Store(db_path)
    counts = {s.name: s.calls for s in store.streams()}
    assert counts == {"proc/0": 150, "proc/1": 150, "proc/main": 100}
    assert sorted(r.attributes["i"] for r in store.records("proc/0")) == list(range(150))


def test_sigkill_after_flush_loses_nothing_flushed(sim, db_path):
    p = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, sim.base_url, str(db_path), "killed", "120",
                          "flush-then-hang"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "flushed"
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    assert p.returncode == -signal.SIGKILL
    store = Store(db_path)
    assert store.count("killed") == 120
    assert sorted(r.attributes["i"] for r in store.records("killed")) == list(range(120))


def test_reader_sees_other_process_writes_live(sim, db_path):
    store = Store(db_path)
    assert store.count("live") == 0
    p = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, sim.base_url, str(db_path), "live", "30", "exit"])
    seen = 0
    deadline = time.time() + 30
    while time.time() < deadline and seen < 30:
        seen = store.count("live")
        time.sleep(0.05)
    p.wait(30)
    assert seen == 30


def test_stream_names(db_path):
    assert init_monitor("/weave/openai_logs", db_path=db_path, quiet=True).stream == "weave/openai_logs"
    assert init_monitor("a/b/c", db_path=db_path, quiet=True).stream == "a/b/c"
    for bad in ("", "/", "a/b/c/d", "a/b?c"):
        with pytest.raises(ValueError):
            init_monitor(bad, db_path=db_path, quiet=True)


def test_env_var_and_default_location(monkeypatch, tmp_path):
    target = tmp_path / "env.db"
    monkeypatch.setenv("OPENAI_MONITOR_DB", str(target))
    m = init_monitor("envstream", quiet=True)
    assert m.db_path == target and target.exists()
    monkeypatch.delenv("OPENAI_MONITOR_DB")
    from monitor.paths import default_db_path
    assert default_db_path().name == "monitor.db" and "openai-monitor" in str(default_db_path())


FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing as mp, os, sys, openai
    from monitor import init_monitor
    base_url, db = sys.argv[1], sys.argv[2]
    m = init_monitor("forked", db_path=db, quiet=True)

    def work(i):
        # a client per call: a keep-alive socket shared across fork() is not the monitor's business
        client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                       monitor_attributes={"i": i})
        return i

    work(-1)
    pool = mp.get_context("fork").Pool(2)
    pool.map(work, range(4))
    pool.close()      # workers exit normally (Pool.__exit__ would terminate them: a hard kill)
    pool.join()
    pid = os.fork()
    if pid == 0:
        work(100)
        m.flush()
        os._exit(0)
    os.waitpid(pid, 0)
""")


def test_calls_in_forked_children_are_logged(sim, db_path):
    subprocess.run([sys.executable, "-c", FORK_SCRIPT, sim.base_url, str(db_path)], check=True, timeout=60)
    assert sorted(r.attributes["i"] for r in Store(db_path).records("forked")) == [-1, 0, 1, 2, 3, 100]


def test_three_processes_starting_together_on_a_new_store(sim, tmp_path):
    db = tmp_path / "fresh.db"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, sim.base_url, str(db), f"p{k}", "20", "exit"])
             for k in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    assert {s.name: s.calls for s in Store(db).streams()} == {"p0": 20, "p1": 20, "p2": 20}


def test_open_stream_at_exit_is_logged_as_cancelled(sim, db_path):
    script = textwrap.dedent("""
        import sys, openai
        from monitor import init_monitor
        m = init_monitor("exit", db_path=sys.argv[2], quiet=True)
        client = m.wrap(openai.OpenAI(base_url=sys.argv[1], api_key="sk-x", max_retries=0))
        KEEP = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True)
        next(KEEP)
    """)
    subprocess.run([sys.executable, "-c", script, sim.base_url, str(db_path)], check=True, timeout=60)
    [rec] = Store(db_path).records("exit")
    assert rec.status == "cancelled"
