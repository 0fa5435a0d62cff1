"""Module-level locks that a forked child gets back unlocked.

fork() copies a lock held by another thread in its held state, and that thread does not exist in the child:
the child's first use of the lock waits forever (a child's writer hanging on a price table or a chunk counter
the parent's writer held at that instant).  Locks made here are replaced by fresh ones in every child."""
from __future__ import annotations

import os
import threading
import weakref


class ForkSafeLock:
    """A threading.Lock (with, acquire, release) that is unlocked again in a forked child."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _locks.add(self)

    def __enter__(self) -> "ForkSafeLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


_locks: "weakref.WeakSet[ForkSafeLock]" = weakref.WeakSet()


def _renew_in_child() -> None:
    for lock in list(_locks):
        lock._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_in_child)
