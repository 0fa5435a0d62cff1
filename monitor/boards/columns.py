"""A columnar, append-only copy of one stream's numbers in numpy arrays — what every board computes from.

Loading a million calls row by row out of SQLite costs seconds, so the store keeps the same columns in
chunks of CHUNK_ROWS calls (table ``column_chunks``, see chunks.py), sealed by the writers as calls land:
a reader loads the sealed chunks as blobs and reads only the unsealed tail row by row; full runs of calls
it finds unsealed (a store written before, or by a process that logged few calls) it seals itself.  The
chunks are derived data: if they ever disagree with ``calls`` (a count mismatch), they are dropped and
rebuilt.  An attribute key's group codes (for grouping and filtering) are built once per process from the
'attrs' chunks (each distinct attribute text parsed once) and kept.

Ids grow in commit order (SQLite serialises writers and gives a new row max(id)+1), so "calls with id >
last seen id" is exactly what landed since the last read, from any process.

A cache only grows by appending; readers take ``n`` and the arrays at one moment and use ``[:n]`` views,
so a refresh on another thread never changes what they see.
"""
from __future__ import annotations

import ctypes
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import StoreURL
from ..store import Store, StoreError, loads_json
from .chunks import (CHUNK_FORMAT, CHUNK_ROWS, CORE_COLUMNS, CORE_NAMES, CORE_SELECT, DICT_COLUMNS, RANGE_WHERE,
                     TAIL_WHERE, TOKEN_COLUMNS, Dictionary, columns_from_rows, decode, encode_attrs, encode_core,
                     seal_ready_chunks)
from .spec import MISSING_LABEL

__all__ = ["CHUNK_FORMAT", "CHUNK_ROWS", "CORE_COLUMNS", "DICT_COLUMNS", "TOKEN_COLUMNS", "ColumnCache",
           "attribute_label", "columns_for", "forget_caches", "record_attribute_label", "seal_ready_chunks"]

_FETCH = 50_000
_MEMO_MAX = 100_000       # attribute texts whose group label is remembered, per key


# -- attribute values as group labels ---------------------------------------------------------------
_NOT_FOUND = object()


def attribute_value(attributes: dict | None, key: str) -> Any:
    """The value at ``key`` (a top-level key, else a dotted path into nested dicts); _NOT_FOUND if absent."""
    if not isinstance(attributes, dict):
        return _NOT_FOUND
    if key in attributes:
        return attributes[key]
    value: Any = attributes
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return _NOT_FOUND
        value = value[part]
    return value


def attribute_label(value: Any) -> str:
    """How an attribute value shows as a group (and compares in a filter): strings as they are, anything
    else as compact JSON; an absent attribute is MISSING_LABEL."""
    if value is _NOT_FOUND:
        return MISSING_LABEL
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def record_attribute_label(attributes: dict | None, key: str) -> str:
    return attribute_label(attribute_value(attributes, key))


# -- prompt / output text search --------------------------------------------------------------------
def prompt_strings(request: Any) -> list[str]:
    """The text a user typed: messages' contents, `input`, `prompt`, `instructions` (nested lists too)."""
    out: list[str] = []
    if not isinstance(request, dict):
        return out
    stack = [request.get(k) for k in ("messages", "input", "prompt", "instructions")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k in ("content", "text", "input_text", "output_text")
                         or isinstance(v, (list, dict)))
    return out


def text_matches(needle: str, request: Any, output: str | None) -> bool:
    n = needle.casefold()
    if output and n in output.casefold():
        return True
    return any(n in s.casefold() for s in prompt_strings(request))


# -- the cache ----------------------------------------------------------------------------------------
_Dict = Dictionary


def _headroom(n: int) -> int:
    """Capacity for n rows plus as many again: np.empty pages cost no memory until rows land in them, and
    a live tick then never pays for copying every column to a bigger array."""
    return 2 * n + 65536


class _Growing:
    """A numpy array with spare capacity; append is amortised O(1), views stay valid."""
    __slots__ = ("arr", "n")

    def __init__(self, dtype: str, capacity: int = 0) -> None:
        self.arr = np.empty(max(capacity, 1024), dtype=dtype)
        self.n = 0

    def reserve(self, total: int) -> None:
        if total > len(self.arr):
            new = np.empty(max(total, len(self.arr) * 2), dtype=self.arr.dtype)
            new[:self.n] = self.arr[:self.n]
            self.arr = new

    def extend(self, values: np.ndarray) -> None:
        k = len(values)
        self.reserve(self.n + k)
        self.arr[self.n:self.n + k] = values
        self.n += k

    def view(self, n: int | None = None) -> np.ndarray:
        return self.arr[: self.n if n is None else n]


class _Derived:
    """A per-row column computed on demand (attribute group codes, a text-search mask)."""

    def __init__(self, kind: str, dtype: str) -> None:
        self.kind = kind            # 'attr:<key>' or 'text:<needle>'
        self.col = _Growing(dtype)
        self.dict = _Dict() if kind.startswith("attr:") else None
        self.memo: dict[Any, int] = {}      # attribute JSON text -> group code


class ColumnCache:
    """The columns of one stream of one store file.  Use `columns_for(store, stream)` to share one per
    process; call `sync(store)` to pull new calls; read with `view()` / `attribute_codes()`."""

    def __init__(self, path: Path, stream: str) -> None:
        self.path = path if isinstance(path, StoreURL) else Path(path)
        self.stream = stream
        self.lock = threading.RLock()
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self.generation += 1
        self.sid: int | None = None
        self.ident: tuple | None = None
        self.n = 0
        self.last_id = 0
        self.min_ts: float | None = None
        self.max_ts: float | None = None
        self.cols = {name: _Growing(dtype) for name, dtype in CORE_COLUMNS}
        self.dicts = {name: _Dict() for name in DICT_COLUMNS}
        self.chunks: list[tuple[int, int]] = []     # sealed chunks in the store: (first_id, last_id)
        self.derived: dict[str, _Derived] = {}
        self.load_stats: dict[str, float] = {}

    # -- reading ------------------------------------------------------------------------------------
    def view(self, n: int | None = None) -> dict[str, np.ndarray]:
        n = self.n if n is None else n
        return {name: col.view(n) for name, col in self.cols.items()}

    def labels(self, column: str) -> list[str]:
        return self.dicts[column].labels

    # -- syncing with the store -------------------------------------------------------------------------
    def sync(self, store: Store) -> tuple[int, int]:
        """Pull calls committed since the last sync; returns (old n, new n).  The first sync loads."""
        with self.lock:
            # (id, created): SQLite reuses the id of a deleted last row, so a stream deleted and created
            # again under the same name can get the same id — and its calls ids we have already seen
            row = store.conn.execute("SELECT id, created FROM streams WHERE name = ?", (self.stream,)).fetchone()
            ident = tuple(row) if row else None
            sid = row[0] if row else None
            if ident != self.ident:
                self._reset()
                self.sid, self.ident = sid, ident
                if sid is None:
                    return 0, 0
                self._load(store)
                return 0, self.n
            if sid is None:
                return 0, 0
            old = self.n
            self._read_rows(store.conn, self.last_id)
            self._seal(store.conn)
            return old, self.n

    def _load(self, store: Store) -> None:
        """Sealed chunks as blobs, then the calls after them row by row, in one snapshot.  The chunks are
        checked against `calls` by counting the stream's calls they cover (ids <= the last sealed id: a number
        no later commit changes) on a thread of its own while the blobs load."""
        t0 = time.perf_counter()
        conn = store.conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")      # one snapshot for the chunks and the rows after them
        try:
            sealed_to, n_chunks = conn.execute(
                "SELECT COALESCE(MAX(last_id), 0), COUNT(*) FROM column_chunks WHERE stream_id = ? AND kind = 'core'",
                (self.sid,)).fetchone()
            count = _CountCalls(self.path, self.sid, sealed_to) if sealed_to else None
            for col in self.cols.values():
                col.reserve(_headroom(n_chunks * CHUNK_ROWS))
            loaded = self._load_chunks(conn)
            t1 = time.perf_counter()
            self._read_rows(conn, self.last_id)
            covered = int(np.searchsorted(self.cols["id"].view(), sealed_to, side="right"))
            expected = count.result(conn) if count else 0
        finally:
            if own:
                conn.execute("COMMIT")
        if covered != expected:      # chunks out of step with calls (calls deleted?): start over without them
            self._drop_chunks()
            n = self.n
            sid, ident = self.sid, self.ident
            self._reset()
            self.sid, self.ident = sid, ident
            for col in self.cols.values():
                col.reserve(_headroom(n))
            loaded = 0
            self._read_rows(conn, 0)
        t2 = time.perf_counter()
        self._seal(conn)
        if self.n - loaded > 100_000:
            _return_freed_memory()
        self.load_stats = {"chunk_rows": loaded, "tail_rows": self.n - loaded, "chunks_s": t1 - t0,
                           "tail_s": t2 - t1, "seal_s": time.perf_counter() - t2}

    def _load_chunks(self, conn: sqlite3.Connection) -> int:
        sql = ("SELECT first_id, last_id, n, data FROM column_chunks WHERE stream_id = ? AND kind = 'core' "
               "ORDER BY first_id")
        streamed = hasattr(conn, "stream")      # PostgreSQL: decoded as they arrive (pg.PgConnection.stream)
        rows = conn.stream(sql, (self.sid,)) if streamed else conn.execute(sql, (self.sid,))
        for first_id, last_id, n, data in rows:
            if first_id <= self.last_id or n != CHUNK_ROWS:
                break
            try:
                arrays, dicts = decode(data, n)
            except ValueError:
                break
            if set(arrays) != CORE_NAMES or int(arrays["id"][0]) != first_id or int(arrays["id"][-1]) != last_id:
                break
            for name in DICT_COLUMNS:
                remap = np.array([self.dicts[name].code(lbl) for lbl in dicts[name]] or [0], dtype=np.int32)
                arrays[name] = remap[arrays[name]]
            self._append(arrays)
            self.chunks.append((first_id, last_id))
        if streamed:
            for _ in rows:         # to the end: leaving a stream early would abort the snapshot's transaction
                pass
        return self.n

    def _read_rows(self, conn: sqlite3.Connection, after_id: int) -> None:
        sql, params = CORE_SELECT + TAIL_WHERE, (self.sid, after_id)
        if hasattr(conn, "batches"):       # PostgreSQL: streamed (pg.PgConnection.batches)
            batches = conn.batches(sql, params, _FETCH)
        else:
            cur = conn.execute(sql, params)
            batches = iter(lambda: cur.fetchmany(_FETCH), [])
        for rows in batches:
            self._append(self._columns_from_rows(rows))

    def _columns_from_rows(self, rows: list[tuple]) -> dict[str, np.ndarray]:
        return columns_from_rows(rows, self.dicts)

    def _append(self, arrays: dict[str, np.ndarray]) -> None:
        k = len(arrays["id"])
        if not k:
            return
        for name, col in self.cols.items():
            col.extend(arrays[name])
        self.n += k
        self.last_id = int(arrays["id"][-1])
        lo, hi = float(arrays["ts"].min()), float(arrays["ts"].max())
        self.min_ts = lo if self.min_ts is None else min(self.min_ts, lo)
        self.max_ts = hi if self.max_ts is None else max(self.max_ts, hi)

    # -- sealing chunks -----------------------------------------------------------------------------------
    def _writer(self) -> sqlite3.Connection | None:
        if isinstance(self.path, StoreURL):      # a PostgreSQL store: the same chunks, through monitor/pg.py
            from ..store import StoreError, connect
            try:
                return connect(self.path)
            except StoreError:
                return None
        try:
            conn = sqlite3.connect(str(self.path), timeout=0.25, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")     # derived data: no fsync per chunk
            return conn
        except sqlite3.Error:
            return None

    def _seal(self, store_conn: sqlite3.Connection) -> None:
        """Store every full CHUNK_ROWS run of unsealed calls as a chunk (best effort: a busy or read-only
        store just leaves them for the next reader)."""
        start = len(self.chunks) * CHUNK_ROWS
        if self.n - start < CHUNK_ROWS:
            return
        ids = self.cols["id"].arr
        try:       # sealed by a writer meanwhile (the usual case): adopt, nothing to write
            sealed = dict(store_conn.execute(
                "SELECT first_id, last_id FROM column_chunks WHERE stream_id = ? AND kind = 'core' AND first_id >= ? "
                "AND n = ?", (self.sid, int(ids[start]), CHUNK_ROWS)).fetchall())
        except store_conn.Error:
            sealed = {}
        while self.n - start >= CHUNK_ROWS and sealed.get(int(ids[start])) == int(ids[start + CHUNK_ROWS - 1]):
            self.chunks.append((int(ids[start]), int(ids[start + CHUNK_ROWS - 1])))
            start += CHUNK_ROWS
        if self.n - start < CHUNK_ROWS:
            return
        conn = self._writer()
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            new = []
            while self.n - start >= CHUNK_ROWS:
                end = start + CHUNK_ROWS
                data = encode_core({name: col.arr[start:end] for name, col in self.cols.items()},
                                   {name: self.dicts[name].labels for name in DICT_COLUMNS})
                first, last = int(self.cols["id"].arr[start]), int(self.cols["id"].arr[end - 1])
                conn.execute("INSERT OR REPLACE INTO column_chunks (stream_id, kind, first_id, last_id, n, data) "
                             "VALUES (?, 'core', ?, ?, ?, ?)", (self.sid, first, last, CHUNK_ROWS, data))
                new.append((first, last))
                start = end
            conn.execute("COMMIT")
            self.chunks.extend(new)
        except conn.Error:
            try:
                conn.execute("ROLLBACK")
            except conn.Error:
                pass
        finally:
            conn.close()

    def _drop_chunks(self) -> None:
        conn = self._writer()
        if conn is None:
            return
        try:
            conn.execute("DELETE FROM column_chunks WHERE stream_id = ?", (self.sid,))
        except conn.Error:
            pass
        finally:
            conn.close()

    # -- derived columns: attributes and text search -------------------------------------------------------
    def attribute_codes(self, store: Store, key: str) -> tuple[np.ndarray, list[str]]:
        """Per-row codes of attribute ``key`` (for the first n rows) and the labels they index."""
        with self.lock:
            d = self._derived(store, f"attr:{key}", "<i4")
            return d.col.view(self.n), d.dict.labels

    def text_mask(self, store: Store, needle: str) -> np.ndarray:
        with self.lock:
            return self._derived(store, f"text:{needle}", "?").col.view(self.n)

    def _derived(self, store: Store, kind: str, dtype: str) -> _Derived:
        d = self.derived.get(kind)
        if d is None:
            if kind.startswith("text:"):            # keep only the latest few searches
                texts = [k for k in self.derived if k.startswith("text:")]
                for k in texts[: max(len(texts) - _MAX_TEXT_MASKS + 1, 0)]:
                    del self.derived[k]
            d = self.derived[kind] = _Derived(kind, dtype)
            d.col.reserve(_headroom(self.n))
        if d.col.n < self.n:
            self._extend_derived(store, d)
        return d

    def _extend_derived(self, store: Store, d: _Derived) -> None:
        if d.kind.startswith("text:"):
            d.col.extend(self._text_hits(store, d.kind[5:], d.col.n, self.n))
            return
        # whole sealed chunks from their 'attrs' chunks (or SQL, then stored), the unsealed tail from SQL
        key = d.kind[5:]
        if d.col.n % CHUNK_ROWS == 0 and d.col.n // CHUNK_ROWS < len(self.chunks):
            first = self.chunks[d.col.n // CHUNK_ROWS][0]
            # one pass over the stored 'attrs' chunks in id order, alongside ours (a blob in memory at a time)
            stored = store.conn.execute(
                "SELECT first_id, n, data FROM column_chunks WHERE stream_id = ? AND kind = 'attrs' AND first_id >= ? "
                "ORDER BY first_id", (self.sid, first))
            row = stored.fetchone()
            to_store: list[tuple[int, int, bytes]] = []
            while d.col.n < self.n and d.col.n % CHUNK_ROWS == 0 and d.col.n // CHUNK_ROWS < len(self.chunks):
                first, last = self.chunks[d.col.n // CHUNK_ROWS]
                while row is not None and row[0] < first:
                    row = stored.fetchone()
                texts_codes = None
                if row is not None and row[0] == first and row[1] == CHUNK_ROWS:
                    try:
                        arrays, dicts = decode(row[2], row[1])
                        texts_codes = dicts["codes"], arrays["codes"]
                    except (ValueError, KeyError):
                        pass
                if texts_codes is None:
                    texts = self._attribute_texts(store, d.col.n, d.col.n + CHUNK_ROWS)
                    local = _Dict()
                    texts_codes = local.labels, local.encode(texts)
                    blob = encode_attrs(texts)
                    if blob is not None:
                        to_store.append((first, last, blob))
                labels, codes = texts_codes
                d.col.extend(self._key_codes(d, key, labels)[codes])
            stored.close()
            if to_store:
                self._store_chunks("attrs", to_store)
        if d.col.n < self.n:
            local = _Dict()
            codes = local.encode(self._attribute_texts(store, d.col.n, self.n))
            d.col.extend(self._key_codes(d, key, local.labels)[codes])

    def _key_codes(self, d: _Derived, key: str, texts: list) -> np.ndarray:
        """Group code of attribute `key` for each attribute text (each distinct text parsed once)."""
        memo = d.memo
        if len(memo) > _MEMO_MAX:
            memo.clear()
        out = np.empty(max(len(texts), 1), dtype=np.int32)
        for i, text in enumerate(texts):
            code = memo.get(text)
            if code is None:
                code = memo[text] = d.dict.code(record_attribute_label(loads_json(text), key))
            out[i] = code
        return out

    def _attribute_texts(self, store: Store, start: int, end: int) -> list:
        """Attribute JSON texts of rows [start, end) of the cache, from SQL."""
        ids = self.cols["id"].arr[start:end]
        cur = store.conn.execute("SELECT attributes FROM calls " + RANGE_WHERE, (self.sid, int(ids[0]), int(ids[-1])))
        texts = [t for (t,) in cur]
        if len(texts) != end - start:
            raise RuntimeError(f"stream {self.stream!r} changed while reading its attributes")
        return texts

    def _text_hits(self, store: Store, needle_text: str, start: int, end: int) -> np.ndarray:
        """Text search over rows [start, end): SQL narrows to candidates (ASCII case-insensitive, on the
        stored JSON), Python decides."""
        ids = self.cols["id"].arr[start:end]
        needle = needle_text.lower()
        escaped = json.dumps(needle)[1:-1]
        cur = store.conn.execute(
            "SELECT id, request, output FROM calls WHERE +stream_id = ? AND id BETWEEN ? AND ? AND "
            "(instr(lower(request), ?) > 0 OR instr(lower(request), ?) > 0 OR instr(lower(output), ?) > 0)",
            (self.sid, int(ids[0]), int(ids[-1]), needle, escaped, needle))
        hits = [row_id for row_id, request, output in cur if text_matches(needle_text, loads_json(request), output)]
        return np.isin(ids, np.array(hits, dtype=np.int64))

    def _store_chunks(self, kind: str, chunks: list[tuple[int, int, bytes]]) -> None:
        conn = self._writer()
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            for first, last, data in chunks:
                conn.execute("INSERT OR REPLACE INTO column_chunks (stream_id, kind, first_id, last_id, n, data) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (self.sid, kind, first, last, CHUNK_ROWS, data))
            conn.execute("COMMIT")
        except conn.Error:
            try:
                conn.execute("ROLLBACK")
            except conn.Error:
                pass
        finally:
            conn.close()


_COUNT_SQL = "SELECT COUNT(*) FROM calls WHERE stream_id = ? AND +id <= ?"     # `+id`: the stream's index, not the rowid range


class _CountCalls:
    """COUNT(*) of a stream's calls with id <= upto, on a thread with its own connection (SQLite lets go of
    the GIL while it counts, so the count overlaps the loading of the blobs)."""

    def __init__(self, path: Path, sid: int, upto: int) -> None:
        self.args, self.value = (sid, upto), None
        self.thread = threading.Thread(target=self._run, args=(path,), name="openai-monitor-count", daemon=True)
        self.thread.start()

    def _run(self, path: Path | StoreURL) -> None:
        if isinstance(path, StoreURL):      # PostgreSQL: the server counts on a connection of its own
            from .. import pg
            try:
                conn = pg.PgConnection(pg._open(path), path)
                try:
                    self.value = conn.execute(_COUNT_SQL, self.args).fetchone()[0]
                finally:
                    conn.close()
            except (pg.psycopg.Error, StoreError):
                pass
            return
        try:
            conn = sqlite3.connect(str(path), timeout=5)
            try:
                self.value = conn.execute(_COUNT_SQL, self.args).fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            pass

    def result(self, conn: sqlite3.Connection) -> int:
        self.thread.join()
        if self.value is None:          # the thread could not count: count here
            self.value = conn.execute(_COUNT_SQL, self.args).fetchone()[0]
        return self.value


def _return_freed_memory() -> None:
    """Reading many rows row by row leaves glibc's heap full of freed Python objects that RSS keeps
    counting; hand those pages back to the OS (Linux/glibc only; elsewhere nothing to do)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# -- one cache per (store file, stream) per process -------------------------------------------------------
_MAX_CACHES = 4
_MAX_TEXT_MASKS = 8
_caches: "OrderedDict[tuple[str, str], ColumnCache]" = OrderedDict()
_caches_lock = threading.Lock()


def columns_for(store: Store, stream: str) -> ColumnCache:
    key = (str(store.path if isinstance(store.path, StoreURL) else Path(store.path).resolve()), stream)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = ColumnCache(store.path, stream)
            while len(_caches) > _MAX_CACHES:
                _caches.popitem(last=False)
        else:
            _caches.move_to_end(key)
        return cache


def forget_caches() -> None:
    """Drop every cached column set (tests, or to free memory)."""
    with _caches_lock:
        _caches.clear()
