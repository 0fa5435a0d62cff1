"""The writer under hostile conditions (issue 7): another process holding the store, a caller that never
lets go of the GIL, SIGTERM, a full disk.  Real processes, real SQLite files, the real openai client."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

from monitor.store import Store

HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("ROLLBACK")
""")

# Logs calls while another process holds the store, then forks and exits (atexit flush under the lock).
UNDER_LOCK = textwrap.dedent("""
    import json, os, sys, time, openai
    from monitor import init_monitor
    base_url, db = sys.argv[1], sys.argv[2]
    m = init_monitor("locked", db_path=db, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
    print("ready", flush=True)
    sys.stdin.readline()                      # the test has locked the store
    for i in range(50):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    time.sleep(0.5)                           # (only to let the writer be waiting on the lock when we fork)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    fork_s = time.perf_counter() - t0
    os.waitpid(pid, 0)
    print(json.dumps({"fork_s": fork_s}), flush=True)
""")

MOCK_CLIENT = textwrap.dedent("""
    import openai
    try:
        import httpx2 as httpx                # the HTTP library this openai SDK is built on
    except ImportError:
        import httpx
    REPLY = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "finish_reason": "stop",
                          "message": {"role": "assistant", "content": "ok"}}],
             "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}

    def mock_client(m):
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=REPLY))
        return m.wrap(openai.OpenAI(api_key="sk-x", base_url="http://mock.invalid/v1", max_retries=0,
                                    http_client=httpx.Client(transport=transport)))
""")

# A caller that never lets go of the GIL: each call is submitted as the wrappers do (with a real response
# object taken from the simulator), then pure-Python work.  An in-process transport (httpx MockTransport)
# comes close to this; this loop makes the starvation certain instead of load-dependent.
CPU_BOUND_CALLER = textwrap.dedent("""
    import mmap, os, sys, time, openai
    from monitor import init_monitor
    from monitor.capture import PendingCall

    def busy_calls(m, response, seconds=None, progress=None):
        submitted = []
        start = time.monotonic()
        while seconds is None or time.monotonic() - start < seconds:
            call = PendingCall(m.stream, 1.7e9 + len(submitted), "chat.completions",
                               {"model": "gpt-4o-mini", "messages": []}, {"i": len(submitted)})
            call.response, call.latency_ms = response, 1.0
            m._submit(call)
            sum(range(3000))                                  # the caller's own work
            submitted.append(time.monotonic())
            if progress is not None:
                progress[0:12] = b"%12d" % len(submitted)     # memory only: no GIL release
            yield submitted

    def sim_response(base_url):
        client = openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0)
        return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
""")

UNTIL_SIGTERM = CPU_BOUND_CALLER + textwrap.dedent("""
    m = init_monitor("busy", db_path=sys.argv[2], quiet=True)
    response = sim_response(sys.argv[1])
    fd = os.open(sys.argv[3], os.O_RDWR | os.O_CREAT)
    os.ftruncate(fd, 16)
    progress = mmap.mmap(fd, 16)
    for submitted in busy_calls(m, response, progress=progress):
        if len(submitted) == 20000:
            print("busy", flush=True)
""")


def _start_lock_holder(db, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_fork_and_exit_do_not_wait_on_another_process_lock(sim, db_path):
    Store(db_path).close()
    child = subprocess.Popen([sys.executable, "-c", UNDER_LOCK, sim.base_url, str(db_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder = None
    try:
        assert child.stdout.readline().strip() == "ready"
        holder = _start_lock_holder(db_path, 20)
        started = time.monotonic()
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=60)
        exit_s = time.monotonic() - started
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        child.kill()
    assert child.returncode == 0, err
    fork_s = json.loads(out.strip().splitlines()[-1])["fork_s"]
    assert fork_s < 2.0                  # was 19.6 s: fork() waited for the other process's lock
    assert exit_s < 10.0                 # exit waits at most 5 s (was ~30 s)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "50 of 50 calls" in lines[0] and "not stored" in lines[0] and "locked" in lines[0]
    assert Store(db_path).count("locked") == 0


def test_commit_lag_stays_bounded_under_a_busy_caller(sim, db_path):
    # Before, the writer needed the GIL back after every row; a caller that never releases it left tens of
    # thousands of calls uncommitted for seconds.  Now a commit is a few statements and the call path
    # backs off when a call has waited 60 ms: the lag stays under 200 ms (figure: benchmarks/overhead.py);
    # the bound here leaves room for a loaded machine.
    namespace: dict = {}
    exec(CPU_BOUND_CALLER, namespace)
    from monitor import init_monitor
    m = init_monitor("busy", db_path=db_path, quiet=True)
    writer = m._writer
    worst = 0.0
    for submitted in namespace["busy_calls"](m, namespace["sim_response"](sim.base_url), seconds=3.0):
        committed = writer.written                          # looked at while the caller keeps calling
        if committed < len(submitted):
            worst = max(worst, submitted[-1] - submitted[committed])    # age of the oldest uncommitted call
    assert len(submitted) > 1000
    assert worst < 1.0, f"a call waited {worst * 1000:.0f} ms for its commit (was 1,634 ms)"
    m.flush()
    assert m.health() == {"logged": len(submitted), "committed": len(submitted), "dropped": 0,
                          "last_error": None}


def test_sigterm_flushes_before_terminating(sim, db_path, tmp_path):
    Store(db_path).close()
    progress = tmp_path / "progress"
    child = subprocess.Popen([sys.executable, "-c", UNTIL_SIGTERM, sim.base_url, str(db_path), str(progress)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "busy"
        child.send_signal(signal.SIGTERM)       # mid-loop, as multiprocessing.Pool.__exit__ does to workers
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == -signal.SIGTERM       # the default behaviour still happens, after the flush
    returned = int(progress.read_bytes()[:12])
    stored = sorted(r.attributes["i"] for r in Store(db_path).records("busy"))
    assert stored == list(range(len(stored)))
    # before: every call not yet committed was lost (thousands); now every call that returned is stored
    assert len(stored) >= returned, (len(stored), returned, err)


DISK_FULL = MOCK_CLIENT + textwrap.dedent("""
    import json, sys
    from monitor import init_monitor
    from monitor.writer import _sqlite
    m = init_monitor("full", db_path=sys.argv[1], quiet=True)
    client = mock_client(m)
    msg = [{"role": "user", "content": "x" * 2000}]
    for _ in range(5):
        client.chat.completions.create(model="gpt-4o-mini", messages=msg)
    m.flush()
    conn = m._writer._conn       # the store cannot grow past its current size: SQLite's real SQLITE_FULL
    _sqlite(conn.execute, "PRAGMA max_page_count = " + str(conn.execute("PRAGMA page_count").fetchone()[0]))
    for _ in range(300):
        client.chat.completions.create(model="gpt-4o-mini", messages=msg)
    m.flush()                    # returns, and says once that calls were dropped
    m.flush()
    print(json.dumps(m.health()), flush=True)
""")


def test_disk_full_is_counted_and_said_once_with_the_real_cause(db_path):
    run = subprocess.run([sys.executable, "-c", DISK_FULL, str(db_path)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    health = json.loads(run.stdout.strip().splitlines()[-1])
    assert health["logged"] == 305 and health["committed"] == 5 and health["dropped"] == 300
    assert "database or disk is full" in health["last_error"]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    # before: 1,132 lines, "cannot rollback - no transaction is active"; now the cause once, flush once
    assert len(lines) == 2, run.stderr
    assert "database or disk is full" in lines[0]
    assert "300 of 305 calls" in lines[1] and "m.health()" in lines[1]
    assert "cannot rollback" not in run.stderr
    assert Store(db_path).count("full") == 5


def test_health_counts_per_stream(sim, db_path):
    import openai

    from monitor import init_monitor
    a = init_monitor("a", db_path=db_path, quiet=True)
    b = init_monitor("b", db_path=db_path, quiet=True)
    ca = a.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-x", max_retries=0))
    cb = b.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-x", max_retries=0))
    for _ in range(3):
        ca.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    cb.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    a.flush()
    assert a.health() == {"logged": 3, "committed": 3, "dropped": 0, "last_error": None}
    assert b.health()["committed"] == 1


def test_locked_store_does_not_hold_a_fork_in_this_process(sim, db_path):
    """In-process variant: the writer retries a locked store; os.fork() still returns at once."""
    import os

    import openai

    from monitor import init_monitor
    m = init_monitor("s", db_path=db_path, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-x", max_retries=0))
    holder = _start_lock_holder(db_path, 8)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        time.sleep(0.3)              # (only so the writer is mid-retry; the bound holds whatever the timing)
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        fork_s = time.perf_counter() - t0
        os.waitpid(pid, 0)
    finally:
        holder.kill()
        holder.wait()
    assert fork_s < 2.0
    m.flush(timeout=30)
    assert m.health()["committed"] == 1


def test_wal_with_synchronous_normal(db_path):
    # the README's crash promise rests on these two settings
    from monitor.store import connect
    conn = connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1          # NORMAL
    conn.close()


POOL_EXIT = textwrap.dedent("""
    import multiprocessing as mp, sys, openai
    from monitor import init_monitor
    base_url, db = sys.argv[1], sys.argv[2]

    def work(i):
        m = init_monitor("pool", db_path=db, quiet=True)
        client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0))
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}],
                                       monitor_attributes={"i": i})
        return i

    with mp.get_context("fork").Pool(2) as pool:      # __exit__ terminates the workers with SIGTERM
        assert pool.map(work, range(40)) == list(range(40))
""")


def test_pool_exit_terminating_its_workers_loses_nothing(sim, db_path):
    # the batch window makes the last ~50 ms of each worker's calls uncommitted when SIGTERM arrives;
    # the SIGTERM handler flushes them before the worker ends
    subprocess.run([sys.executable, "-c", POOL_EXIT, sim.base_url, str(db_path)], check=True, timeout=60)
    assert sorted(r.attributes["i"] for r in Store(db_path).records("pool")) == list(range(40))


DISK_FULL_THEN_FREE = MOCK_CLIENT + textwrap.dedent("""
    import json, sys
    from monitor import init_monitor
    from monitor.writer import _sqlite
    m = init_monitor("full", db_path=sys.argv[1], quiet=True)
    client = mock_client(m)
    msg = [{"role": "user", "content": "x" * 2000}]
    client.chat.completions.create(model="gpt-4o-mini", messages=msg)
    m.flush()
    conn = m._writer._conn
    size = conn.execute("PRAGMA page_count").fetchone()[0]
    _sqlite(conn.execute, f"PRAGMA max_page_count = {size}")
    for _ in range(20):                     # a caller that flushes after every call while the disk is full
        client.chat.completions.create(model="gpt-4o-mini", messages=msg)
        m.flush()
    full = m.health()
    _sqlite(conn.execute, "PRAGMA max_page_count = 1073741823")    # space again
    for _ in range(5):
        client.chat.completions.create(model="gpt-4o-mini", messages=msg)
        m.flush()
    print(json.dumps([full, m.health()]), flush=True)
""")


def test_after_the_disk_frees_up_health_is_well_again_and_flush_did_not_repeat_itself(db_path):
    run = subprocess.run([sys.executable, "-c", DISK_FULL_THEN_FREE, str(db_path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    full, later = json.loads(run.stdout.strip().splitlines()[-1])
    assert full["dropped"] == 20 and "database or disk is full" in full["last_error"]
    assert later == {"logged": 26, "committed": 6, "dropped": 20, "last_error": None}
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, run.stderr           # the cause once (writer), once from flush: not once per flush
