"""The writer's hook for boards' column chunks (monitor/boards/chunks.py), kept light: it only counts the
calls this process committed per stream, and imports the boards code (numpy) once a stream has
SEAL_CHECK_EVERY new calls — a script logging a few calls never pays for it; their calls are sealed by the
next process that writes many, or by the reader that opens the board."""
from __future__ import annotations

from typing import Iterable

from .forksafe import ForkSafeLock

CHUNK_ROWS = 8192                      # = monitor.boards.chunks.CHUNK_ROWS (checked by a test)
SEAL_CHECK_EVERY = CHUNK_ROWS // 4

_since_check: dict[tuple[int, int], int] = {}
_lock = ForkSafeLock()     # a forked child gets it unlocked


def after_commit(conn, stream_ids: Iterable[int]) -> None:
    """Called by the writer after each successful commit, with the stream id of every call committed.
    Never raises: the calls are committed, and chunks are derived data."""
    try:
        _after_commit(conn, stream_ids)
    except Exception:
        pass


def _after_commit(conn, stream_ids: Iterable[int]) -> None:
    due = []
    with _lock:
        for sid in stream_ids:
            key = (id(conn), sid)
            count = _since_check.get(key, 0) + 1
            if count >= SEAL_CHECK_EVERY:
                count = 0
                due.append(sid)
            _since_check[key] = count
    if due:
        from .boards.chunks import seal_ready_chunks
        if seal_ready_chunks(conn, due):            # a backlog: look again at the next commit
            with _lock:
                for sid in due:
                    _since_check[(id(conn), sid)] = SEAL_CHECK_EVERY
