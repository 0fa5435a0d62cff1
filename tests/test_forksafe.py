"""A module lock held by another thread at fork() is unlocked in the child (it would wait forever there)."""
from __future__ import annotations

import os
import threading

from monitor import column_seal, pricing, tokens
from monitor.forksafe import ForkSafeLock


def _acquirable_in_a_child(lock) -> bool:
    pid = os.fork()
    if pid == 0:
        os._exit(0 if lock.acquire(timeout=5) else 3)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _held_by_a_thread(lock):
    held, release = threading.Event(), threading.Event()

    def hold():
        with lock:
            held.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    return release, thread


def test_a_lock_held_by_another_thread_is_free_in_a_forked_child():
    for lock in (ForkSafeLock(), column_seal._lock, tokens._lock, pricing._default_lock):
        release, thread = _held_by_a_thread(lock)
        try:
            assert lock.locked()
            assert _acquirable_in_a_child(lock)
            assert lock.locked()                          # the parent's holder still holds it
        finally:
            release.set()
            thread.join()


def test_a_plain_lock_would_not_be():       # what the test above would see without ForkSafeLock
    plain = threading.Lock()
    release, thread = _held_by_a_thread(plain)
    try:
        assert not _acquirable_in_a_child(plain)
    finally:
        release.set()
        thread.join()
