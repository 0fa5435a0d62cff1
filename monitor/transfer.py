"""`openai-monitor migrate --from local.db --to postgresql://…`: copy one store into another.

Calls (with their scores) are copied in id order, in transactions of BATCH calls; each transaction also
records, in the target's `meta`, the source store's identity and the last source id copied, so running it
again (or after an interruption) copies only calls logged since.  Boards and saved prompts are copied when
the target has none of that name (a team's board of the same name is kept).  Works between any two stores
(either engine); the stored values are copied as they are, never decoded and re-encoded.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from .record import CALL_FIELDS
from .store import INSERT_CALL_WITH_ID_SQL, Store, reserve_call_ids, stream_id

BATCH = 5_000
_COLUMNS = [f.column for f in CALL_FIELDS]
_SELECT_CALLS = (f"SELECT c.id, s.name, s.origin, {', '.join('c.' + c for c in _COLUMNS)} FROM calls c "   # CALL_COLUMNS' order
                 "JOIN streams s ON s.id = c.stream_id WHERE c.id > ? ORDER BY c.id LIMIT ?")
_SCORE_COLUMNS = "name, value, passed, reason, source, created"


@dataclass
class Copied:
    calls: int = 0
    scores: int = 0
    boards: int = 0
    prompts: int = 0
    already: int = 0      # calls a previous run copied


def store_identity(store: Store) -> str:
    """The store's own id (a meta row, made on first use): survives renames and moves of the file."""
    with store.transaction() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
        if row:
            return row[0]
        ident = uuid.uuid4().hex
        conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (ident,))
        return ident


def copy_store(source: Store, target: Store) -> Copied:
    done = Copied()
    mark = f"copied_from:{store_identity(source)}"
    row = target.conn.execute("SELECT value FROM meta WHERE key = ?", (mark,)).fetchone()
    last = int(row[0]) if row else 0
    done.already = source.conn.execute("SELECT COUNT(*) FROM calls WHERE id <= ?", (last,)).fetchone()[0]
    sids: dict[str, int] = {}
    while True:
        rows = source.conn.execute(_SELECT_CALLS, (last, BATCH)).fetchall()
        if not rows:
            break
        scores = source.conn.execute(
            f"SELECT call_id, {_SCORE_COLUMNS} FROM scores WHERE call_id BETWEEN ? AND ? ORDER BY id",
            (rows[0][0], rows[-1][0])).fetchall()
        with target.transaction() as conn:
            for _, name, origin, *_values in rows:
                if name not in sids:
                    sids[name] = stream_id(conn, name, create=True, origin=origin)
            ids = reserve_call_ids(conn, len(rows))
            new_id = {r[0]: i for r, i in zip(rows, ids)}
            conn.executemany(INSERT_CALL_WITH_ID_SQL, [(i, sids[r[1]], *r[3:]) for r, i in zip(rows, ids)])
            conn.executemany(f"INSERT INTO scores (call_id, {_SCORE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(new_id[s[0]], *s[1:]) for s in scores])
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (mark, str(rows[-1][0])))
        last = rows[-1][0]
        done.calls += len(rows)
        done.scores += len(scores)
    done.boards = _copy_boards(source, target)
    done.prompts = _copy_prompts(source, target)
    if done.calls and hasattr(target.conn, "analyze"):
        target.conn.analyze("calls")      # PostgreSQL: statistics for the plans now, not at autovacuum's next round
    return done


def _copy_boards(source: Store, target: Store) -> int:
    boards = source.conn.execute("SELECT name, stream, spec, created, updated FROM boards ORDER BY id").fetchall()
    n = 0
    with target.transaction() as conn:
        for board in boards:
            if conn.execute("SELECT 1 FROM boards WHERE name = ?", (board[0],)).fetchone() is None:
                conn.execute("INSERT INTO boards (name, stream, spec, created, updated) VALUES (?, ?, ?, ?, ?)", board)
                n += 1
    return n


def _copy_prompts(source: Store, target: Store) -> int:
    prompts = source.conn.execute("SELECT id, name, created, updated FROM prompts ORDER BY id").fetchall()
    n = 0
    with target.transaction() as conn:
        for pid, name, created, updated in prompts:
            if conn.execute("SELECT 1 FROM prompts WHERE name = ?", (name,)).fetchone() is not None:
                continue
            conn.execute("INSERT INTO prompts (name, created, updated) VALUES (?, ?, ?)", (name, created, updated))
            new_pid = conn.execute("SELECT id FROM prompts WHERE name = ?", (name,)).fetchone()[0]
            versions = source.conn.execute("SELECT version, body, note, created FROM prompt_versions "
                                           "WHERE prompt_id = ? ORDER BY version", (pid,)).fetchall()
            conn.executemany("INSERT INTO prompt_versions (prompt_id, version, body, note, created) "
                             "VALUES (?, ?, ?, ?, ?)", [(new_pid, *v) for v in versions])
            n += 1
    return n
