"""fork() while the writer thread is inside a SQLite transaction: the child inherits SQLite's in-process lock
bookkeeping ("this process holds the write lock", through a connection the child can never commit), so a
child forked between BEGIN and COMMIT could never write the store — its calls waited out "database is locked"
and were lost.  The writer holds its fork guard from BEGIN to COMMIT, so a fork waits for one batch's
inserts.  Real parts: the real client against the simulator for the reply, a real SQLite file, real fork()."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from monitor.store import Store

SCRIPT = textwrap.dedent("""
    import os, sys, threading, openai
    from monitor import init_monitor
    from monitor.capture import PendingCall

    base_url, db, forks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m = init_monitor("parent", db_path=db, quiet=True)
    client = openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=0)
    response = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    stop = threading.Event()

    def busy():                        # keeps the parent's writer committing big batches all the time
        i = 0
        while not stop.is_set():
            call = PendingCall("parent", 1.7e9 + i, "chat.completions", {"model": "gpt-4o-mini", "messages": []}, {})
            call.response, call.latency_ms = response, 1.0
            m._submit(call)
            i += 1
            if i % 64 == 0:
                os.sched_yield()

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    while m.health()["committed"] < 2000:
        os.sched_yield()
    lost = 0
    for k in range(forks):
        pid = os.fork()
        if pid == 0:
            stop.set()
            child = init_monitor("children", db_path=db, quiet=True)
            call = PendingCall("children", 1.8e9 + k, "chat.completions", {"model": "gpt-4o-mini", "messages": []},
                               {"k": k})
            call.response, call.latency_ms = response, 1.0
            child._submit(call)
            try:
                child.flush(timeout=15)
                os._exit(0)
            except TimeoutError:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        lost += os.waitstatus_to_exitcode(status) != 0
    stop.set()
    thread.join()
    m.flush()
    print("lost", lost, flush=True)
""")


def test_children_forked_while_the_writer_commits_can_write(sim, db_path):
    forks = 80
    done = subprocess.run([sys.executable, "-c", SCRIPT, sim.base_url, str(db_path), str(forks)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lost 0" in done.stdout, done.stdout + done.stderr[-2000:]
    children = sorted(r.attributes["k"] for r in Store(db_path).records("children"))
    assert children == list(range(forks))
