"""Column chunks: a stream's numbers kept as blobs of CHUNK_ROWS calls each (table ``column_chunks``), sealed
as calls land, so no reader turns rows into columns when it opens a board.

A chunk covers the next CHUNK_ROWS calls of one stream in id order (ids grow in commit order, from any
process).  Kinds: 'core' (the numbers, see CORE_COLUMNS) and 'attrs' (the attribute JSON texts of the same
calls, dictionary-encoded, so a first grouping by any attribute key parses each distinct text once instead
of every row).  'attrs' is left out when a chunk has more than ATTR_DICT_MAX distinct texts (an id-like
attribute); readers then take that chunk's attributes from SQL.

Who seals: the writer of every process, after a successful commit (`seal_ready_chunks`, called through the
light `monitor.column_seal` counter once a process has committed a few thousand calls), and any reader that
finds full runs of calls not yet sealed.  Sealing is its own transaction after the calls are committed, so a
crash mid-chunk leaves no chunk, and the next writer or reader seals it.  Chunks are derived data: readers
check them (format version, ids, count) and rebuild whatever is missing or wrong.  Two processes sealing the
same run write identical blobs (INSERT OR REPLACE on the same key).
"""
from __future__ import annotations

import json
import sqlite3
import struct
from typing import Iterable

import numpy as np

from .spec import MISSING_LABEL

CHUNK_ROWS = 8192
CHUNK_FORMAT = 3              # 3: 'attrs' chunks; readers ignore (and rebuild) chunks of any other version
ATTR_DICT_MAX = 1024
_MAGIC = b"OMC1"

# name, dtype.  Floats use NaN for None; tokens are int32 with 0 for None and a bit set in `nulls`
# (bit i = TOKEN_COLUMNS[i] not reported), so sums need no masking.
CORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "<i8"), ("ts", "<f8"), ("latency_ms", "<f8"), ("ttft_ms", "<f8"), ("cost_usd", "<f8"),
    ("prompt_tokens", "<i4"), ("completion_tokens", "<i4"), ("total_tokens", "<i4"), ("cached_tokens", "<i4"),
    ("reasoning_tokens", "<i4"), ("nulls", "u1"), ("status", "<i2"), ("model", "<i4"), ("api", "<i2"),   # status/api: a handful of values
)
CORE_NAMES = frozenset(name for name, _ in CORE_COLUMNS)
DICT_COLUMNS = ("status", "model", "api")
TOKEN_COLUMNS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
CORE_SELECT = (
    "SELECT id, ts, latency_ms, ttft_ms, cost_usd, prompt_tokens, completion_tokens, total_tokens, "
    "cached_tokens, reasoning_tokens, status, model, api FROM calls "
)
_SEAL_SELECT = CORE_SELECT.replace(" FROM calls", ", attributes FROM calls")
# `+stream_id` keeps SQLite on the rowid range (a few new rows) instead of the (stream_id, ts) index
# (every row of the stream).
TAIL_WHERE = "WHERE +stream_id = ? AND id > ? ORDER BY id"
RANGE_WHERE = "WHERE +stream_id = ? AND id BETWEEN ? AND ? ORDER BY id"
_INSERT = "INSERT OR REPLACE INTO column_chunks (stream_id, kind, first_id, last_id, n, data) VALUES (?, ?, ?, ?, ?, ?)"


class Dictionary:
    """String dictionary: label -> code, codes in order of first appearance."""
    __slots__ = ("labels", "index")

    def __init__(self) -> None:
        self.labels: list = []
        self.index: dict = {}

    def code(self, label) -> int:
        code = self.index.get(label)
        if code is None:
            code = self.index[label] = len(self.labels)
            self.labels.append(label)
        return code

    def encode(self, values: Iterable) -> np.ndarray:
        index, labels = self.index, self.labels
        out = []
        append = out.append
        for v in values:
            code = index.get(v)
            if code is None:
                code = index[v] = len(labels)
                labels.append(v)
            append(code)
        return np.array(out, dtype=np.int32)


def columns_from_rows(rows: list[tuple], dicts: dict[str, Dictionary]) -> dict[str, np.ndarray]:
    """CORE_SELECT rows -> core columns (status/model/api as codes of `dicts`)."""
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
        out[name] = dicts[name].encode(MISSING_LABEL if v is None else v for v in cols[i])
    return out


# -- blobs: b"OMC1" + u32 header length + JSON header + raw little-endian arrays --------------------------------
def encode(arrays: dict[str, np.ndarray], dicts: dict[str, list]) -> bytes:
    n = len(next(iter(arrays.values())))
    header = json.dumps({"v": CHUNK_FORMAT, "n": n, "cols": [[k, a.dtype.str] for k, a in arrays.items()],
                         "dicts": dicts}, ensure_ascii=False).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(header)), header] + [np.ascontiguousarray(a).tobytes()
                                                                      for a in arrays.values()])


def decode(data: bytes, n: int) -> tuple[dict[str, np.ndarray], dict[str, list]]:
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


def encode_core(arrays: dict[str, np.ndarray], labels: dict[str, list]) -> bytes:
    return encode({name: arrays[name] for name, _ in CORE_COLUMNS}, {name: labels[name] for name in DICT_COLUMNS})


def encode_attrs(texts: list[str | None]) -> bytes | None:
    """The attribute texts of a chunk's calls, dictionary-encoded; None if too varied to be worth it."""
    d = Dictionary()
    codes = d.encode(texts)
    if len(d.labels) > ATTR_DICT_MAX:
        return None
    return encode({"codes": codes}, {"codes": d.labels})


# -- sealing after a commit (the writer's hook) ----------------------------------------------------------------
SEAL_MAX_CHUNKS = 32          # per call: a big backlog is sealed over several commits, the writer never stalls long


def last_sealed_id(conn: sqlite3.Connection, sid: int) -> int:
    row = conn.execute("SELECT last_id FROM column_chunks WHERE stream_id = ? AND kind = 'core' "
                       "ORDER BY first_id DESC LIMIT 1", (sid,)).fetchone()
    return row[0] if row else 0


def seal_stream(conn: sqlite3.Connection, sid: int, max_chunks: int = SEAL_MAX_CHUNKS) -> tuple[int, bool]:
    """Seal the full runs of CHUNK_ROWS calls after the stream's last sealed chunk: (chunks sealed, more due).

    Raises sqlite3.Error (e.g. the store is busy); the caller decides to ignore it."""
    after = last_sealed_id(conn, sid)
    sealed = 0
    while sealed < max_chunks:
        rows = conn.execute(_SEAL_SELECT + TAIL_WHERE + " LIMIT ?", (sid, after, CHUNK_ROWS)).fetchall()
        if len(rows) < CHUNK_ROWS:
            return sealed, False
        dicts = {name: Dictionary() for name in DICT_COLUMNS}
        arrays = columns_from_rows(rows, dicts)
        core = encode_core(arrays, {name: d.labels for name, d in dicts.items()})
        attrs = encode_attrs([r[-1] for r in rows])
        first, last = rows[0][0], rows[-1][0]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_INSERT, (sid, "core", first, last, CHUNK_ROWS, core))
            if attrs is not None:
                conn.execute(_INSERT, (sid, "attrs", first, last, CHUNK_ROWS, attrs))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        sealed += 1
        after = last
    return sealed, True


def seal_ready_chunks(conn: sqlite3.Connection, stream_ids: Iterable[int]) -> bool:
    """Seal what is due in these streams with the writer's own connection, waiting at most a moment for a
    busy store (what is left is sealed later, by a writer or a reader).  Never raises.  Returns True if
    more remains to seal (a backlog)."""
    more = False
    sqlite = isinstance(conn, sqlite3.Connection)       # (a PostgreSQL store's connection waits its own way)
    try:
        busy = conn.execute("PRAGMA busy_timeout").fetchone()[0] if sqlite else None
    except sqlite3.Error:
        return False
    try:
        if sqlite:
            conn.execute("PRAGMA busy_timeout = 200")
        for sid in set(stream_ids):
            more |= seal_stream(conn, sid)[1]
    except Exception:           # derived data: a failure here must never reach the writer
        if getattr(conn, "in_transaction", False):
            try:
                conn.execute("ROLLBACK")
            except Exception:
                pass
    finally:
        if sqlite:
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy)}")
            except sqlite3.Error:
                pass
    return more
