"""The store: one SQLite file (WAL mode, shared by every process that logs or reads), or a PostgreSQL
database given as a postgresql:// URL (monitor/pg.py: the same SQL through a translating connection).

Schema changes are migrations keyed by `PRAGMA user_version`; a file written by a newer version is
refused rather than guessed at.  Reads use short-lived connections so any thread can call them.
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .capture import storable_json
from .paths import StoreURL, is_store_url, store_location
from .record import CALL_FIELDS, Record

# Each entry moves the schema from version i to i+1.  Never edit a released entry: append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE streams (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        origin  TEXT NOT NULL DEFAULT 'local'      -- 'local' or 'imported' (a board file's snapshot)
    );
    CREATE TABLE calls (
        id                INTEGER PRIMARY KEY,
        stream_id         INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
        ts                REAL NOT NULL,
        latency_ms        REAL,
        ttft_ms           REAL,
        api               TEXT NOT NULL,
        model             TEXT,
        response_model    TEXT,
        status            TEXT NOT NULL,
        error             TEXT,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        total_tokens      INTEGER,
        cached_tokens     INTEGER,
        reasoning_tokens  INTEGER,
        usage_estimated   INTEGER NOT NULL DEFAULT 0,
        cost_usd          REAL,
        streamed          INTEGER NOT NULL DEFAULT 0,
        request           TEXT,
        output            TEXT,
        attributes        TEXT
    );
    CREATE INDEX calls_stream_ts ON calls(stream_id, ts);
    CREATE TABLE boards (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        stream  TEXT NOT NULL,
        spec    TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    """,
    # Boards' column cache (monitor/boards/columns.py): a stream's numbers in chunks of 8,192 calls, as blobs.
    # Derived data, written by readers, dropped and rebuilt whenever it disagrees with `calls`.
    """
    CREATE TABLE column_chunks (
        stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
        kind      TEXT NOT NULL,            -- 'core' or 'attr:<key>'
        first_id  INTEGER NOT NULL,
        last_id   INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        data      BLOB NOT NULL,
        PRIMARY KEY (stream_id, kind, first_id)
    );
    """,
    # The reply as the API gave it: its id, why it stopped, and its structure (record.py's new fields).
    """
    ALTER TABLE calls ADD COLUMN response_id TEXT;
    ALTER TABLE calls ADD COLUMN finish_reason TEXT;
    ALTER TABLE calls ADD COLUMN response TEXT;
    """,
    # Scores of calls (experiment asserts, LLM judges, human ratings) and the saved-prompt library
    # (monitor/scores.py, monitor/experiments/prompts.py).
    """
    CREATE TABLE scores (
        id      INTEGER PRIMARY KEY,
        call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
        name    TEXT NOT NULL,              -- the assert's label, or 'human'
        value   REAL,
        passed  INTEGER,                    -- 1 / 0, NULL when a score has no verdict
        reason  TEXT,
        source  TEXT NOT NULL,              -- 'assert' | 'judge' | 'human'
        created REAL NOT NULL
    );
    CREATE INDEX scores_call ON scores(call_id);
    CREATE TABLE prompts (
        id      INTEGER PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE TABLE prompt_versions (
        prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
        version   INTEGER NOT NULL,
        body      TEXT NOT NULL,            -- JSON: messages, variables, model, params, tools
        note      TEXT NOT NULL DEFAULT '',
        created   REAL NOT NULL,
        PRIMARY KEY (prompt_id, version)
    );
    """,
    # Conversations (monitor/conversations.py): a Responses reply by its id (only those are continued), the
    # calls that continue it, a Responses conversation's calls, a session's calls.  Partial indexes: a cheap
    # instr() guard keeps calls without the key out, so the writer parses a call's JSON only when it has one.
    """
    CREATE INDEX calls_response_id ON calls(response_id) WHERE api = 'responses';
    CREATE INDEX calls_previous_response ON calls(json_extract(request, '$.previous_response_id'))
        WHERE instr(request, '"previous_response_id"') > 0;
    CREATE INDEX calls_conversation ON calls(
        coalesce(json_extract(request, '$.conversation.id'), json_extract(request, '$.conversation')))
        WHERE instr(request, '"conversation"') > 0;
    CREATE INDEX calls_session ON calls(stream_id, json_extract(attributes, '$.session'))
        WHERE instr(attributes, '"session"') > 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

# Everything below derives from record.py's field list: the column order of INSERT and SELECT, and the codec.
CALL_COLUMNS = ("stream_id", *(f.column for f in CALL_FIELDS))
INSERT_CALL_SQL = (
    f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * len(CALL_COLUMNS))})"
)
INSERT_CALL_WITH_ID_SQL = (        # (with ids from reserve_call_ids)
    f"INSERT INTO calls (id, {', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * (len(CALL_COLUMNS) + 1))})"
)
RECORD_SELECT_LIST = "c.id, s.name, " + ", ".join(f"c.{f.column}" for f in CALL_FIELDS)
_SELECT_RECORD = f"SELECT {RECORD_SELECT_LIST} FROM calls c JOIN streams s ON s.id = c.stream_id "


class StoreError(Exception):
    """The store file can't be used (newer schema, not a database, unwritable)."""


class StoreUnreachable(StoreError):
    """A PostgreSQL store's server does not answer (or the connection was lost): the writer queues and retries."""


_WHERE = "db_path=, --db or $OPENAI_MONITOR_DB"


def connect(path: Path | str, *, timeout: float = 30.0, probe_write: bool = False) -> sqlite3.Connection:
    """A connection configured for many concurrent processes: WAL, a generous busy timeout.
    A postgresql:// URL gets monitor/pg.py's connection, which takes the same SQL.

    Any file that can't serve as a store raises StoreError with one line saying what is wrong and what to
    do.  `probe_write` also proves the store can be written (the writer's check, so a read-only or damaged
    store fails in init_monitor instead of dropping every call later)."""
    if is_store_url(path):
        from . import pg
        return pg.connect(path, probe_write=probe_write)
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a store file: pass a file path such as {path / 'monitor.db'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"can't create the folder {path.parent} for the store ({exc.strerror or exc}): "
                         f"choose another store file with {_WHERE}") from None
    try:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _unusable(path, exc) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), timeout)
        conn.execute("PRAGMA synchronous = NORMAL")   # WAL + NORMAL: fast commits; see README on power loss
        conn.execute("PRAGMA foreign_keys = ON")
        _retry_locked(lambda: migrate(conn, path), timeout)
        if probe_write:
            _probe_write(conn)
    except sqlite3.OperationalError as exc:
        conn.close()
        if _is_locked(exc):
            raise StoreError(f"{path} stayed locked by another process for {timeout:.0f} s") from None
        raise _unusable(path, exc) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _unusable(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _probe_write(conn: sqlite3.Connection) -> None:
    """Take the write lock, write a stream and a call as the writer would, then roll back: a read-only file, an
    unwritable folder (the -wal/-shm files) or a damaged table or index fails here.  A store another process is
    writing right now is not waited for (it is evidently writable)."""
    conn.execute("PRAGMA busy_timeout = 50")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_locked(exc):
            return
        raise
    try:
        # A real stream and call, rolled back: the insert walks every index a logged call updates, so a
        # damaged index page fails here, not on every call afterwards.
        sid = conn.execute("INSERT INTO streams (name, created) VALUES (?, 0)", ("\x00write probe",)).lastrowid
        conn.execute("INSERT INTO calls (stream_id, ts, api, status) VALUES (?, 0, 'probe', 'success')", (sid,))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', '')")
    finally:
        conn.execute("ROLLBACK")


def _unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low or "unable to open" in low or "access permission" in low:
        return StoreError(f"{path} can't be written ({text}): check that the file and its folder are writable "
                          f"(SQLite also writes {path.name}-wal and {path.name}-shm beside it), or choose another "
                          f"store file with {_WHERE}")
    if "full" in low:
        return StoreError(f"{path} can't be written ({text}): free some disk space, or choose another store "
                          f"file with {_WHERE}")
    return StoreError(f"{path} is not a usable OpenAI Monitor store ({text}): it may be damaged or not a store; "
                      f"move it aside to start a new store, or choose another file with {_WHERE}")


def _is_locked(exc: Exception) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retry_locked(step, timeout: float):
    """Switching a new file to WAL (and migrating it) fails at once with SQLITE_BUSY when several processes
    start together — the busy timeout does not cover it — so retry with backoff."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def migrate(conn: sqlite3.Connection, path: Path | str = "") -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer OpenAI Monitor (schema {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade openai-monitor to open it"
        )
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")      # one process migrates; the others wait, then see the new version
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def loads_json(text: str | None) -> Any:
    """A stored JSON column: {} when empty, a marked snippet when unreadable."""
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {"_unreadable": text[:200]}


_DECODE = {"bool": bool, "json": loads_json}


def row_to_record(row: Sequence[Any]) -> Record:
    """A Record from a row selected with RECORD_SELECT_LIST (id, stream name, then CALL_FIELDS in order)."""
    values = {}
    for f, value in zip(CALL_FIELDS, row[2:]):
        decode = _DECODE.get(f.kind)
        values[f.name] = decode(value) if decode is not None else value
    if values.get("response") == {}:
        values["response"] = None            # "no reply structure" stays None (loads_json reads NULL as {})
    return Record(id=row[0], stream=row[1], **values)


@dataclass(frozen=True)
class StreamInfo:
    name: str
    calls: int
    last_ts: float | None
    origin: str


class Store:
    """Read access (and small admin writes) to one store file.  Thread-safe: one connection per thread."""

    def __init__(self, path: Path | str):
        self.path = store_location(path)      # a Path, or a StoreURL (prints without its password)
        self._local = threading.local()
        self.conn  # open now so a bad file fails here, with a clear StoreError

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "broken", False):     # (a PostgreSQL server restarted: reconnect)
            conn = self._local.conn = connect(self.path)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- streams -------------------------------------------------------------------------------
    def stream_id(self, name: str, *, create: bool = True, origin: str = "local") -> int | None:
        return stream_id(self.conn, name, create=create, origin=origin)

    def streams(self) -> list[StreamInfo]:
        rows = self.conn.execute(
            "SELECT s.name, (SELECT COUNT(*) FROM calls c WHERE c.stream_id = s.id), "
            "(SELECT MAX(ts) FROM calls c WHERE c.stream_id = s.id), s.origin FROM streams s ORDER BY s.name"
        ).fetchall()
        return [StreamInfo(*row) for row in rows]

    def delete_stream(self, name: str) -> None:
        with self.transaction() as conn:
            sid = stream_id(conn, name, create=False)
            if sid is not None:
                conn.execute("DELETE FROM calls WHERE stream_id = ?", (sid,))
                conn.execute("DELETE FROM streams WHERE id = ?", (sid,))

    # -- calls ---------------------------------------------------------------------------------
    def records(self, stream: str, *, after_id: int = 0, limit: int | None = None) -> list[Record]:
        sid = self.stream_id(stream, create=False)
        if sid is None:
            return []
        # "+c.stream_id" keeps SQLite on the rowid range; the (stream_id, ts) index would sort the whole stream.
        sql = _SELECT_RECORD + "WHERE +c.stream_id = ? AND c.id > ? ORDER BY c.id"
        params: list[Any] = [sid, after_id]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [row_to_record(r) for r in self.conn.execute(sql, params)]

    def record(self, record_id: int) -> Record | None:
        row = self.conn.execute(_SELECT_RECORD + "WHERE c.id = ?", (record_id,)).fetchone()
        return row_to_record(row) if row else None

    def count(self, stream: str) -> int:
        sid = self.stream_id(stream, create=False)
        if sid is None:
            return 0
        return self.conn.execute("SELECT COUNT(*) FROM calls WHERE stream_id = ?", (sid,)).fetchone()[0]

    def max_id(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]

    def insert_records(self, records: Iterable[Record], *, origin: str = "local", only_into_empty: bool = False) -> int:
        """Insert finished Records (imports, tests, benchmarks) in one transaction; returns the count.
        `only_into_empty`: insert nothing (0) if a stream of theirs already holds calls, checked inside that
        transaction, so two processes seeding the same stream at once (the demo) seed it once."""
        n = 0
        if only_into_empty:
            records = list(records)
        with self.transaction() as conn:
            if only_into_empty and any(self.count(stream) for stream in {r.stream for r in records}):
                return 0
            ids: dict[str, int] = {}
            rows = []
            for r in records:
                if r.stream not in ids:
                    ids[r.stream] = stream_id(conn, r.stream, create=True, origin=origin)
                rows.append(record_row(ids[r.stream], r))
                n += 1
            conn.executemany(INSERT_CALL_SQL, rows)
        return n

    def transaction(self):
        return _Transaction(self.conn)

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.path, StoreURL)


def watch_calls(location, on_calls, on_state=None):
    """A push of new calls for a PostgreSQL store: `on_calls(stream names)` runs (on a listener thread) at
    every commit by any process on any machine; returns the listener (`.close()`).  None for a SQLite file,
    whose readers see new calls by polling max_id (cheap on a local file).  `on_state(listening, reason)`
    says when the push is lost and back (pg.CallsListener)."""
    location = store_location(location)
    if not isinstance(location, StoreURL):
        return None
    from .pg import CallsListener
    return CallsListener(location, on_calls, on_state)


def stream_id(conn: sqlite3.Connection, name: str, *, create: bool = True, origin: str = "local") -> int | None:
    row = conn.execute("SELECT id FROM streams WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    if not create:
        return None
    conn.execute(
        "INSERT OR IGNORE INTO streams (name, created, origin) VALUES (?, ?, ?)", (name, time.time(), origin)
    )
    return conn.execute("SELECT id FROM streams WHERE name = ?", (name,)).fetchone()[0]


def reserve_call_ids(conn, n: int) -> list[int]:
    """n ids for calls this write transaction inserts with explicit ids (to link rows to them, e.g. scores).
    SQLite: the transaction holds the write lock, so the next n after the maximum; PostgreSQL: from the
    sequence, as other processes insert meanwhile."""
    reserve = getattr(conn, "reserve_call_ids", None)
    if reserve is not None:
        return reserve(n)
    top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
    return list(range(top + 1, top + 1 + n))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str | None) -> str | None:
    """SQLite text must be valid UTF-8; a server can send a lone surrogate (half an emoji)."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)


# JSON columns: always valid JSON (no NaN, bounded nesting), None when empty — capture.storable_json
_ENCODE = {"text": _text, "bool": lambda v: int(bool(v)), "json": storable_json}
_CODEC = tuple((f.name, _ENCODE.get(f.kind)) for f in CALL_FIELDS)


def _row_function():
    """record_row, written out from _CODEC once (the writer calls it per record: no loop, no lookups)."""
    names = {encode: f"_encode_{i}" for i, (_, encode) in enumerate(_CODEC) if encode is not None}
    values = ", ".join(f"{names[encode]}(d[{name!r}])" if encode is not None else f"d[{name!r}]"
                       for name, encode in _CODEC)
    source = f"def record_row(sid, r):\n    d = r.__dict__\n    return (sid, {values})\n"
    scope = {name: encode for encode, name in names.items()}
    exec(compile(source, "<store.record_row>", "exec"), scope)
    return scope["record_row"]


record_row = _row_function()
record_row.__doc__ = """record_row(sid, record): the INSERT_CALL_SQL parameters of a Record, in CALL_COLUMNS order."""


class _Transaction:
    """`with store.transaction() as conn:` — BEGIN IMMEDIATE so concurrent writers queue, not deadlock."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
