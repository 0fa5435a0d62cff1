"""A columnar, append-only copy of one stream's numbers in numpy arrays — what every board computes from.

Loading a million calls row by row out of SQLite costs seconds, so the store keeps the same columns in
chunks of CHUNK_ROWS calls (table ``column_chunks``, migration 2): a reader loads the sealed chunks as
blobs and reads only the unsealed tail row by row; whenever CHUNK_ROWS more calls have landed, the reader
seals them into a new chunk.  The chunks are derived data: if they ever disagree with ``calls`` (a count
mismatch), they are dropped and rebuilt.  Attribute columns (for grouping and filtering by an attribute)
are dictionary-encoded per key and chunked the same way, on first use.

Ids grow in commit order (SQLite serialises writers and gives a new row max(id)+1), so "calls with id >
last seen id" is exactly what landed since the last read, from any process.

A cache only grows by appending; readers take ``n`` and the arrays at one moment and use ``[:n]`` views,
so a refresh on another thread never changes what they see.
"""
from __future__ import annotations

import ctypes
import json
import sqlite3
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import StoreURL
from ..store import Store, loads_json
from .spec import MISSING_LABEL

CHUNK_ROWS = 8192
_FETCH = 50_000
_MAGIC = b"OMC1"

# name, dtype.  Floats use NaN for None; tokens are int32 with 0 for None and a bit set in `nulls`
# (bit i = TOKEN_COLUMNS[i] not reported), so sums need no masking.
CORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "<i8"), ("ts", "<f8"), ("latency_ms", "<f8"), ("ttft_ms", "<f8"), ("cost_usd", "<f8"),
    ("prompt_tokens", "<i4"), ("completion_tokens", "<i4"), ("total_tokens", "<i4"), ("cached_tokens", "<i4"),
    ("reasoning_tokens", "<i4"), ("nulls", "u1"), ("status", "<i2"), ("model", "<i4"), ("api", "<i2"),   # status/api: a handful of values
)
CHUNK_FORMAT = 2
DICT_COLUMNS = ("status", "model", "api")
TOKEN_COLUMNS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
_CORE_SELECT = (
    "SELECT id, ts, latency_ms, ttft_ms, cost_usd, prompt_tokens, completion_tokens, total_tokens, "
    "cached_tokens, reasoning_tokens, status, model, api FROM calls "
)
# `+stream_id` keeps SQLite on the rowid range (a few new rows) instead of the (stream_id, ts) index
# (every row of the stream).
_TAIL_WHERE = "WHERE +stream_id = ? AND id > ? ORDER BY id"
_RANGE_WHERE = "WHERE +stream_id = ? AND id BETWEEN ? AND ? ORDER BY id"
_HAS_ARROW = sqlite3.sqlite_version_info >= (3, 38, 0)


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


def _json_path(parts: list[str]) -> str:
    return "$" + "".join(f'."{p}"' for p in parts)


def attribute_sql(key: str) -> tuple[str, list[str]]:
    """SQL expression (with parameters) giving the JSON text of attribute ``key`` or NULL."""
    parts = key.split(".")
    if len(parts) == 1:
        return "c.attributes -> ?", [_json_path(parts)]
    return "COALESCE(c.attributes -> ?, c.attributes -> ?)", [_json_path([key]), _json_path(parts)]


def _label_from_json_text(text: str | None) -> str:
    if text is None:
        return MISSING_LABEL
    try:
        return attribute_label(json.loads(text))
    except ValueError:
        return text


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
class _Dict:
    """String dictionary: label -> code, codes in order of first appearance."""
    __slots__ = ("labels", "index")

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.index: dict[str, int] = {}

    def code(self, label: str) -> int:
        code = self.index.get(label)
        if code is None:
            code = self.index[label] = len(self.labels)
            self.labels.append(label)
        return code

    def encode(self, values: list) -> np.ndarray:
        index, labels = self.index, self.labels
        out = np.empty(len(values), dtype=np.int32)
        for i, v in enumerate(values):
            code = index.get(v)
            if code is None:
                code = index[v] = len(labels)
                labels.append(v)
            out[i] = code
        return out


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
    """A per-row column computed from SQL on demand (attribute codes, a text-search mask)."""

    def __init__(self, kind: str, dtype: str) -> None:
        self.kind = kind            # 'attr:<key>' or 'text:<needle>'
        self.col = _Growing(dtype)
        self.dict = _Dict() if kind.startswith("attr:") else None
        self.sealed: set[int] = set()   # chunk numbers known to be in the store


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
        self._orders: dict[str, tuple[int, np.ndarray]] = {}
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
            self._seal()
            return old, self.n

    def _load(self, store: Store) -> None:

        t0 = time.perf_counter()
        conn = store.conn
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")      # one snapshot: the count and the rows agree
        try:
            total = conn.execute("SELECT COUNT(*) FROM calls WHERE stream_id = ?", (self.sid,)).fetchone()[0]
            for col in self.cols.values():
                col.reserve(_headroom(total))
            loaded = self._load_chunks(conn)
            t1 = time.perf_counter()
            self._read_rows(conn, self.last_id)
        finally:
            if own:
                conn.execute("COMMIT")
        if self.n != total:          # chunks out of step with calls (calls deleted?): start over without them
            self._drop_chunks()
            sid, ident = self.sid, self.ident
            self._reset()
            self.sid, self.ident = sid, ident
            for col in self.cols.values():
                col.reserve(_headroom(total))
            loaded = 0
            self._read_rows(conn, 0)
        t2 = time.perf_counter()
        self._seal()
        if self.n - loaded > 100_000:
            _return_freed_memory()
        self.load_stats = {"chunk_rows": loaded, "tail_rows": self.n - loaded, "chunks_s": t1 - t0,
                           "tail_s": t2 - t1, "seal_s": time.perf_counter() - t2}

    def _load_chunks(self, conn: sqlite3.Connection) -> int:
        rows = conn.execute(
            "SELECT first_id, last_id, n, data FROM column_chunks WHERE stream_id = ? AND kind = 'core' "
            "ORDER BY first_id", (self.sid,))
        for first_id, last_id, n, data in rows:
            if first_id <= self.last_id or n != CHUNK_ROWS:
                break
            try:
                arrays, dicts = _decode(data, n)
            except ValueError:
                break
            if set(arrays) != {name for name, _ in CORE_COLUMNS} or int(arrays["id"][0]) != first_id or int(arrays["id"][-1]) != last_id:
                break
            for name in DICT_COLUMNS:
                remap = np.array([self.dicts[name].code(lbl) for lbl in dicts[name]] or [0], dtype=np.int32)
                arrays[name] = remap[arrays[name]]
            self._append(arrays)
            self.chunks.append((first_id, last_id))
        return self.n

    def _read_rows(self, conn: sqlite3.Connection, after_id: int) -> None:
        cur = conn.execute(_CORE_SELECT + _TAIL_WHERE, (self.sid, after_id))
        while True:
            rows = cur.fetchmany(_FETCH)
            if not rows:
                break
            self._append(self._columns_from_rows(rows))

    def _columns_from_rows(self, rows: list[tuple]) -> dict[str, np.ndarray]:
        cols = list(zip(*rows))
        out: dict[str, np.ndarray] = {"id": np.array(cols[0], dtype=np.int64)}
        for i, name in enumerate(("ts", "latency_ms", "ttft_ms", "cost_usd"), start=1):
            out[name] = np.array(cols[i], dtype=np.float64)
        nulls = np.zeros(len(rows), dtype=np.uint8)
        for i, name in enumerate(TOKEN_COLUMNS, start=5):
            values = np.array(cols[i], dtype=np.float64)
            missing = np.isnan(values)
            nulls |= missing.astype(np.uint8) << (i - 5)
            out[name] = np.clip(np.where(missing, 0, values), 0, 2**31 - 1).astype(np.int32)
        out["nulls"] = nulls
        for i, name in enumerate(DICT_COLUMNS, start=10):
            out[name] = self.dicts[name].encode([MISSING_LABEL if v is None else v for v in cols[i]])
        return out

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

    def _seal(self) -> None:
        """Store every full CHUNK_ROWS run of unsealed calls as a chunk (best effort: a busy or read-only
        store just leaves them for the next reader)."""
        start = len(self.chunks) * CHUNK_ROWS
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
                data = _encode({name: col.arr[start:end] for name, col in self.cols.items()},
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

    def value_order(self, column: str, n: int) -> np.ndarray:
        """Row indices (< n) whose `column` is not NaN, sorted by value (ties by row): a board's
        percentiles filter this instead of sorting a million values on every computation."""
        with self.lock:
            # int32 row indices: half the memory of numpy's default, and a stream has < 2**31 calls
            done, order = self._orders.get(column, (0, np.zeros(0, dtype=np.int32)))
            if n < done:
                return order[order < n]
            if n > done:
                x = self.cols[column].arr
                new = np.arange(done, n, dtype=np.int64)
                new = new[~np.isnan(x[done:n])]
                if len(new) * 4 > len(order):                # much new: sort everything again
                    everything = np.flatnonzero(~np.isnan(x[:n]))
                    order = everything[np.argsort(x[everything])].astype(np.int32)
                elif len(new):
                    new = new[np.argsort(x[new], kind="stable")].astype(np.int32)
                    order = np.insert(order, np.searchsorted(x[order], x[new], side="right"), new)
                self._orders[column] = (n, order)
            return order

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
        persist = d.kind.startswith("attr:")
        # whole sealed chunks first: from the store if there, else computed and then stored
        to_store: list[tuple[int, bytes]] = []
        while d.col.n < self.n:
            chunk_no = d.col.n // CHUNK_ROWS
            start = d.col.n
            if persist and start % CHUNK_ROWS == 0 and chunk_no < len(self.chunks):
                first, last = self.chunks[chunk_no]
                row = store.conn.execute(
                    "SELECT n, data FROM column_chunks WHERE stream_id = ? AND kind = ? AND first_id = ? AND last_id = ?",
                    (self.sid, d.kind, first, last)).fetchone()
                if row is not None:
                    try:
                        arrays, dicts = _decode(row[1], row[0])
                        remap = np.array([d.dict.code(lbl) for lbl in dicts["codes"]] or [0], dtype=np.int32)
                        d.col.extend(remap[arrays["codes"]])
                        d.sealed.add(chunk_no)
                        continue
                    except (ValueError, KeyError, IndexError):
                        pass
                end = start + CHUNK_ROWS
            else:
                end = self.n
            values = self._derived_values(store, d, start, end)
            d.col.extend(values)
            if persist and start % CHUNK_ROWS == 0 and end - start == CHUNK_ROWS and chunk_no < len(self.chunks):
                local = _Dict()
                codes = local.encode([d.dict.labels[c] for c in values.tolist()])
                to_store.append((chunk_no, _encode({"codes": codes}, {"codes": local.labels})))
        if to_store:
            self._store_derived(d, to_store)

    def _derived_values(self, store: Store, d: _Derived, start: int, end: int) -> np.ndarray:
        """Values of rows [start, end) of the cache, from SQL."""
        kind, _, arg = d.kind.partition(":")
        ids = self.cols["id"].arr[start:end]
        params = (self.sid, int(ids[0]), int(ids[-1]))
        conn = store.conn
        if kind == "attr":
            if _HAS_ARROW:
                expr, path_params = attribute_sql(arg)
                cur = conn.execute(f"SELECT {expr} FROM calls c WHERE +c.stream_id = ? AND c.id BETWEEN ? AND ? "
                                   "ORDER BY c.id", (*path_params, *params))
                seen: dict[Any, str] = {}
                out = []
                for (text,) in cur:
                    lbl = seen.get(text)
                    if lbl is None:
                        lbl = seen[text] = _label_from_json_text(text)
                    out.append(lbl)
            else:
                cur = conn.execute("SELECT attributes FROM calls " + _RANGE_WHERE, params)
                out = [record_attribute_label(loads_json(t), arg) for (t,) in cur]
            if len(out) != end - start:
                raise RuntimeError(f"stream {self.stream!r} changed while reading attribute {arg!r}")
            return d.dict.encode(out)
        # text search: SQL narrows to candidates (ASCII case-insensitive, on the stored JSON), Python decides
        needle = arg.lower()
        escaped = json.dumps(needle)[1:-1]
        cur = conn.execute(
            "SELECT id, request, output FROM calls WHERE +stream_id = ? AND id BETWEEN ? AND ? AND "
            "(instr(lower(request), ?) > 0 OR instr(lower(request), ?) > 0 OR instr(lower(output), ?) > 0)",
            (*params, needle, escaped, needle))
        hits = [row_id for row_id, request, output in cur if text_matches(arg, loads_json(request), output)]
        return np.isin(ids, np.array(hits, dtype=np.int64))

    def _store_derived(self, d: _Derived, chunks: list[tuple[int, bytes]]) -> None:
        conn = self._writer()
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            for chunk_no, data in chunks:
                first, last = self.chunks[chunk_no]
                conn.execute("INSERT OR REPLACE INTO column_chunks (stream_id, kind, first_id, last_id, n, data) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (self.sid, d.kind, first, last, CHUNK_ROWS, data))
            conn.execute("COMMIT")
            d.sealed.update(no for no, _ in chunks)
        except conn.Error:
            try:
                conn.execute("ROLLBACK")
            except conn.Error:
                pass
        finally:
            conn.close()


def _return_freed_memory() -> None:
    """Reading many rows row by row leaves glibc's heap full of freed Python objects that RSS keeps
    counting; hand those pages back to the OS (Linux/glibc only; elsewhere nothing to do)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


# -- chunk blobs: b"OMC1" + u32 header length + JSON header + raw little-endian arrays --------------------
def _encode(arrays: dict[str, np.ndarray], dicts: dict[str, list[str]]) -> bytes:
    n = len(next(iter(arrays.values())))
    header = json.dumps({"v": CHUNK_FORMAT, "n": n, "cols": [[k, a.dtype.str] for k, a in arrays.items()], "dicts": dicts},
                        ensure_ascii=False).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(header)), header] + [np.ascontiguousarray(a).tobytes()
                                                                      for a in arrays.values()])


def _decode(data: bytes, n: int) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    if not isinstance(data, bytes) or data[:4] != _MAGIC:
        raise ValueError("not a column chunk")
    (hlen,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8:8 + hlen])
    if header.get("v") != CHUNK_FORMAT or header["n"] != n:
        raise ValueError("chunk of another format or length")
    pos = 8 + hlen
    arrays = {}
    for name, dtype in header["cols"]:
        dt = np.dtype(dtype)
        size = dt.itemsize * n
        if pos + size > len(data):
            raise ValueError("truncated chunk")
        arrays[name] = np.frombuffer(data, dtype=dt, count=n, offset=pos)
        pos += size
    return arrays, header["dicts"]


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
