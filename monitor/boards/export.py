"""Board files: export a board with a snapshot of its records, import one as a copy; CSV of the records.

A board file is one JSON object::

    {"format": "openai-monitor.board", "version": 1, "exported_at": …, "generator": "openai-monitor …",
     "content": "full" | "numbers", "board": {…spec, time range frozen to what it covered…},
     "stream": {"name": …, "records": N}, "records": [{…every Record field…}, …]}

The board's time range is frozen to the absolute range (and bucket) it covered, so whoever imports it
sees the same numbers.  "numbers" files (include_content=False) hold no prompt or completion text:
`request.messages/input/prompt/instructions` and `output` are dropped, and a text-search filter is
dropped from the board (the snapshot already holds only the matching calls).  Attributes are kept: they
are what a board groups and filters by.  No key or header is ever written: records never hold one, and
the export scrubs anything that looks like one anyway.

Import refuses, with a one-line BoardFileError and without touching the store: files over
MAX_FILE_BYTES, non-UTF-8 or non-JSON or truncated text, JSON nested deeper than MAX_DEPTH, NaN or
Infinity anywhere, another format, a version other than 1 (a newer one asks for an upgrade), any field
of the wrong type or unknown key, duplicate keys, more than MAX_RECORDS records, a custom range outside
1970..2100 or of more than MAX_FILE_BUCKETS buckets.  The file is read as a stream (bounded memory) and
validated completely before anything is written; see import_board for how it is written.
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal

from dataclasses import MISSING, fields as _dataclass_fields

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError, create_model, field_validator

from ..redact import SECRET_KEY_NAMES, scrub, scrub_record
from ..csv_safe import spreadsheet_cell
from ..files import check_output_path, output_text_file
from ..record import CALL_FIELDS, RECORD_FIELDS, STORED_FIELDS, Record

_REQUIRED = {f.name: f.default is MISSING and f.default_factory is MISSING and f.name != "id"
             for f in _dataclass_fields(Record)}
_DEFAULTS = {f.name: (None if f.default_factory is MISSING else f.default_factory()) if f.default is MISSING else f.default
             for f in _dataclass_fields(Record)}
from ..scores import exported_scores, import_scores
from ..store import (INSERT_CALL_SQL, INSERT_CALL_WITH_ID_SQL, RECORD_SELECT_LIST, Store, record_row,
                     reserve_call_ids, row_to_record, stream_id)
from .engine import MAX_BUCKETS, BoardEngine
from .json_stream import ARRAY, JsonStreamError, members
from .repository import BoardError, _save, first_error, get_board
from .spec import EPOCH_MAX, EPOCH_MIN, BoardSpec, TimeRange, check_visible_name

FORMAT = "openai-monitor.board"
VERSION = 1
MAX_FILE_BYTES = 200 * 1024 * 1024      # 200 MiB
MAX_RECORDS = 1_000_000
MAX_FILE_BUCKETS = MAX_BUCKETS + 2      # an exported board's frozen range and bucket (+ rounding at both ends)
IMPORT_CHUNK = 5000                     # records per write transaction while importing
MAX_DEPTH = 64                          # JSON nesting, counted from the top of the file
CONTENT_KEYS = ("messages", "input", "prompt", "instructions", "suffix", "prediction", "image", "mask", "file")
# Attributes the playground, experiments and the seed's examples fill with prompt text: without content
# they become stable short labels, so a board still groups by them but the file holds no prompt text.
CONTENT_ATTRIBUTE_KEYS = ("system_prompt", "prompt_template", "prompt", "instructions", "params")
_SECRET_KEYS = SECRET_KEY_NAMES


class BoardFileError(BoardError):
    """A board file can't be imported; the message is one line saying why."""


# -- export -------------------------------------------------------------------------------------------------
def export_board(store: Store, name: str, path: str | os.PathLike, include_content: bool = True,
                 now: float | None = None, force: bool = True) -> int:
    """Write board `name` and the records it covers to `path` (atomically); returns the record count.
    Never over the store itself, nor over an existing file unless `force` (OutputPathError, see
    monitor.files.check_output_path)."""
    check_output_path(path, protect=store.path, force=force)
    spec = get_board(store, name)
    engine = BoardEngine(store, spec)
    data = engine.refresh(now)
    ids = engine.covered_ids()
    filters = spec.filters if include_content else spec.filters.model_copy(update={"text": None})
    frozen = BoardSpec.model_validate({
        **spec.model_dump(), "time_range": TimeRange(kind="custom", start=data.start, end=data.end).model_dump(),
        "bucket_s": data.bucket_s, "filters": filters.model_dump()})
    head = {
        "format": FORMAT, "version": VERSION, "exported_at": time.time(),
        "generator": f"openai-monitor {_version()}", "content": "full" if include_content else "numbers",
        "board": frozen.model_dump(mode="json"), "stream": {"name": spec.stream, "records": int(len(ids))},
    }
    text = json.dumps(head, ensure_ascii=False, allow_nan=False)
    with output_text_file(path, protect=store.path, force=force) as f:
        f.write(text[:-1] + ', "records": [')
        first = True
        scores = exported_scores(store, [int(i) for i in ids])
        for record in _records_by_id(store, spec.stream, ids):
            d = export_record(record, include_content)
            if record.id in scores:
                d["scores"] = scores[record.id]
            f.write(("\n" if first else ",\n") + json.dumps(d, ensure_ascii=False, allow_nan=False))
            first = False
        f.write("\n]}\n")
    return int(len(ids))


def export_record(record: Record, include_content: bool = True) -> dict[str, Any]:
    """A Record as written in a board file: every field, secrets scrubbed, text dropped if asked."""
    d = scrub_record(record.to_dict())      # every text field, response_model included
    request = _scrub(d.get("request") or {})
    if not include_content:
        request = {k: v for k, v in request.items() if k not in CONTENT_KEYS}
        d["output"] = None
    d["request"] = request
    # the reply's structure carries its text: kept (scrubbed) with content, dropped in numbers-only files
    d["response"] = _scrub(d["response"]) if include_content and d.get("response") else None
    d["attributes"] = _scrub(d.get("attributes") or {})
    if not include_content:
        d["attributes"] = {k: _text_label(v) if k in CONTENT_ATTRIBUTE_KEYS else v for k, v in d["attributes"].items()}
    if d.get("error"):
        d["error"] = scrub(d["error"])
    if isinstance(d.get("output"), str):
        d["output"] = scrub(d["output"])
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            d[k] = None
    return d


def _text_label(value: Any) -> Any:
    """'text#1a2b3c4d' for a string (the same text always gets the same label); dicts label their values."""
    if isinstance(value, dict):
        return {k: _text_label(v) for k, v in value.items()}
    if isinstance(value, str):
        return "text#" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:8]
    return value


def _scrub(value: Any) -> Any:
    """Copy of value without credential-like keys, key-like strings masked, non-finite floats as None."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not (isinstance(k, str) and _SECRET_KEYS.match(k))}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_SELECT = (f"SELECT {RECORD_SELECT_LIST} FROM calls c JOIN streams s ON s.id = c.stream_id "
           "WHERE +c.stream_id = ? AND c.id BETWEEN ? AND ? ORDER BY c.id")


def _records_by_id(store: Store, stream: str, ids) -> Any:
    """The Records with these ids (ascending), read in id ranges."""
    sid = store.stream_id(stream, create=False)
    if sid is None or not len(ids):
        return
    ids = [int(i) for i in ids]
    for i in range(0, len(ids), 2000):
        chunk = ids[i:i + 2000]
        wanted = set(chunk)
        for row in store.conn.execute(_SELECT, (sid, chunk[0], chunk[-1])):
            if row[0] in wanted:
                yield row_to_record(row)


def _version() -> str:
    try:
        from .. import __version__
        return __version__
    except ImportError:
        return "?"


# -- CSV ------------------------------------------------------------------------------------------------------
# From record.py's field list: the scalar fields, the row's group, then the JSON and text bodies.
CSV_CONTENT_COLUMNS = ("request", "output", "response")
CSV_COLUMNS = ("id", "time_utc", "stream",
               *(f.name for f in CALL_FIELDS if f.kind != "json" and f.name not in CSV_CONTENT_COLUMNS), "group", "scores",
               *(f.name for f in CALL_FIELDS if f.kind == "json" or f.name in CSV_CONTENT_COLUMNS))
_CSV_JSON = tuple(f.name for f in CALL_FIELDS if f.kind == "json")


def export_csv(store: Store, spec: BoardSpec, path: str | os.PathLike, include_content: bool = True,
               now: float | None = None, force: bool = True) -> int:
    """The board's records (its range and filters) as CSV, oldest first; returns the row count.  Text
    cells that a spreadsheet would run as a formula (= + - @ first) get a leading apostrophe; numbers are
    plain decimals.  The output path follows export_board's rules."""
    check_output_path(path, protect=store.path, force=force)
    engine = BoardEngine(store, spec)
    engine.refresh(now)
    ids, labels = engine.covered_calls()
    groups = dict(zip(ids.tolist(), labels))
    columns = [c for c in CSV_COLUMNS if include_content or c not in CSV_CONTENT_COLUMNS]
    scores = exported_scores(store, ids.tolist())
    with output_text_file(path, protect=store.path, force=force, newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in _records_by_id(store, spec.stream, ids.tolist()):
            d = export_record(r, include_content)
            d["time_utc"] = _dt.datetime.fromtimestamp(r.timestamp, _dt.timezone.utc).isoformat()
            d["group"] = groups.get(r.id)
            d["scores"] = json.dumps({x["name"]: x["value"] for x in scores[r.id]}, ensure_ascii=False) \
                if r.id in scores else ""
            for name in _CSV_JSON:
                if d.get(name) is not None:
                    d[name] = json.dumps(d[name], ensure_ascii=False)
            w.writerow([spreadsheet_cell(d.get(c)) for c in columns])
    return len(ids)


# -- import -----------------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FileScore(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=400)]
    value: FiniteFloat | None
    passed: bool | None
    reason: Annotated[str, Field(max_length=50_000_000)] = ""
    source: Literal["assert", "judge", "human"]


# A board file's record: built from record.py's field list. Fields with a default in Record (the reply
# fields added in schema 3, output, request, attributes) may be missing, so older files still import;
# so may `scores` (files written before scores existed).
_FILE_TYPES = {"timestamp": Annotated[float, Field(ge=EPOCH_MIN, le=EPOCH_MAX, allow_inf_nan=False)]}
FileRecord = create_model(
    "FileRecord", __base__=_Strict,
    **{f.name: (_FILE_TYPES.get(f.name, f.file), ... if _REQUIRED[f.name] else _DEFAULTS[f.name])
       for f in STORED_FIELDS},
    scores=(list[FileScore] | None, None),
)


class FileStream(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=400, pattern=r"^[^\x00-\x1f\x7f]+$")]
    records: Annotated[int, Field(ge=0)]

    @field_validator("name")
    @classmethod
    def _visible(cls, v: str) -> str:     # a stream the file brings: no invisible or reordering characters
        return check_visible_name(v)


class BoardFile(_Strict):
    """Everything in a board file but its records (those are read and validated one at a time)."""
    format: Literal["openai-monitor.board"]
    version: Literal[1]
    exported_at: FiniteFloat | None = None
    generator: Annotated[str, Field(max_length=200)] | None = None
    content: Literal["full", "numbers"] = "full"
    board: dict[str, Any]
    stream: FileStream
    records: int = 0                      # how many the file holds (counted while reading)


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


class _NonFinite(ValueError):
    pass


def read_board_file(path: str | os.PathLike) -> tuple[BoardFile, BoardSpec]:
    """Parse and validate a board file completely, in bounded memory (records are checked one by one and
    not kept); BoardFileError (one line) if anything is wrong."""
    header: dict[str, Any] = {}
    count = 0
    for count, _record in _file_records(path, header):
        pass
    return _check_header(Path(path).name, header, count)


def _file_records(path: str | os.PathLike, header: dict[str, Any]) -> Iterator[tuple[int, FileRecord]]:
    """(n, record) for each valid record, numbered from 1; fills `header` with the other top-level members.
    Any problem raises BoardFileError."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BoardFileError(f"{name} is {size / 2**20:.0f} MB; board files are limited to "
                                 f"{MAX_FILE_BYTES // 2**20} MB")
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BoardFileError(f"can't read {path}: {exc.strerror or exc}") from None
    n = 0
    with f:
        try:
            first = f.read(64)
            if not first.strip():
                raise BoardFileError(f"{name} is empty, not a board file")
            if not first.lstrip().startswith("{"):
                raise BoardFileError(f"{name} is not a board file (not a JSON object)")
            f.seek(0)
            in_records = False
            for key, value in members(f, "records", parse_constant=_reject_constant):
                if key is None:
                    n += 1
                    if n > MAX_RECORDS:
                        raise BoardFileError(f"{name} holds more than {MAX_RECORDS:,} records; board files are "
                                             f"limited to {MAX_RECORDS:,}")
                    _check_depth(value, name, 3)
                    try:
                        record = FileRecord.model_validate(value)
                    except ValidationError as exc:
                        raise BoardFileError(f"{name} is not a valid board file: records.{n - 1}."
                                             f"{first_error(exc)}") from None
                    yield n, record
                    continue
                in_records = key == "records" and value is ARRAY
                if key == "format" and value != FORMAT:
                    raise BoardFileError(f"{name} is not an OpenAI Monitor board file (format is {_show(value)}, "
                                         f"expected {FORMAT!r})")
                if key == "version":
                    _check_version(name, value)
                if not in_records:
                    _check_depth(value, name, 2)
                    header[key] = value
                else:
                    header[key] = []
        except BoardFileError:
            raise
        except UnicodeDecodeError:
            raise BoardFileError(f"{name} is not UTF-8 text, so not a board file") from None
        except RecursionError:
            raise BoardFileError(f"{name} is nested too deeply to be a board file") from None
        except _NonFinite as exc:
            raise BoardFileError(f"{name} contains {exc}, which board files never hold") from None
        except JsonStreamError as exc:
            what = "is truncated or damaged" if exc.truncated else "is not valid JSON"
            raise BoardFileError(f"{name} {what} (line {exc.line}, column {exc.col}: {exc.msg})") from None
        except ValueError as exc:            # an integer with thousands of digits (int_max_str_digits)
            reason = "an integer with too many digits" if "digits" in str(exc) else str(exc).splitlines()[0][:100]
            raise BoardFileError(f"{name} is not a usable board file: {reason}") from None
        except OSError as exc:
            raise BoardFileError(f"can't read {path}: {exc.strerror or exc}") from None


def _check_version(name: str, version: Any) -> None:
    if type(version) is not int:
        raise BoardFileError(f"{name} has no valid version number (got {_show(version)})")
    if version > VERSION:
        raise BoardFileError(f"{name} was written by a newer OpenAI Monitor (board file version {version}; "
                             f"this one reads version {VERSION}): upgrade openai-monitor to open it")
    if version != VERSION:
        raise BoardFileError(f"{name} has unsupported board file version {version}")


def _check_header(name: str, header: dict[str, Any], count: int) -> tuple[BoardFile, BoardSpec]:
    if header.get("format") != FORMAT:
        raise BoardFileError(f"{name} is not an OpenAI Monitor board file (format is {_show(header.get('format'))}, "
                             f"expected {FORMAT!r})")
    _check_version(name, header.get("version"))
    if "records" not in header:
        raise BoardFileError(f"{name} is not a valid board file: records: Field required")
    if not isinstance(header["records"], list):
        raise BoardFileError(f"{name} is not a valid board file: records: Input should be a valid list")
    try:
        bf = BoardFile.model_validate({**header, "records": count})
    except ValidationError as exc:
        raise BoardFileError(f"{name} is not a valid board file: {first_error(exc)}") from None
    try:
        spec = BoardSpec.model_validate(bf.board)
    except ValidationError as exc:
        raise BoardFileError(f"{name} holds an invalid board: {first_error(exc)}") from None
    tr = spec.time_range
    if tr.kind == "custom" and spec.bucket_s and (tr.end - tr.start) / spec.bucket_s > MAX_FILE_BUCKETS:
        raise BoardFileError(f"{name} holds a board of {(tr.end - tr.start) / spec.bucket_s:,.0f} buckets "
                             f"(its range over {spec.bucket_s} s buckets); boards have at most {MAX_FILE_BUCKETS:,}")
    if bf.stream.records != count:
        raise BoardFileError(f"{name} says it holds {bf.stream.records} records but holds {count} "
                             "(damaged file?)")
    return bf, spec


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_depth(obj: Any, name: str, depth: int = 1) -> None:
    """Iteratively: nesting <= MAX_DEPTH (counted from the top of the file; `obj` is at `depth`) and every
    float finite (1e999 parses as inf)."""
    stack = [(obj, depth)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BoardFileError(f"{name} is nested more than {MAX_DEPTH} levels deep; board files never are")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list, float)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list, float)))
        elif isinstance(value, float) and not math.isfinite(value):
            raise BoardFileError(f"{name} contains a number too large to represent, which board files never hold")


def import_board(store: Store, path: str | os.PathLike) -> tuple[str, str]:
    """Import a board file as a new board over a new imported stream (``<stream> (imported)``, made
    unique); returns (board name, stream name).

    Nothing in the store changes unless it all succeeds: a first pass validates the whole file without
    writing; the second inserts the records into a staging stream in short transactions of
    IMPORT_CHUNK records (so other writers, e.g. the monitored program, wait at most one chunk), and
    a last short transaction renames it and saves the board.  Any failure deletes the staging stream."""
    bf, spec = read_board_file(path)
    staging = None
    try:
        with store.transaction() as conn:
            staging = _unique_suffix(lambda n: _stream_taken(conn, n), bf.stream.name[:380], "importing")
            sid = stream_id(conn, staging, create=True, origin="imported")
        fields = [f for f in RECORD_FIELDS if f not in ("id", "stream")]
        batch: list = []
        batch_scores: list = []
        header: dict[str, Any] = {}
        count = 0
        for count, r in _file_records(path, header):
            batch.append(record_row(sid, Record(id=None, stream=staging, **{f: getattr(r, f) for f in fields})))
            batch_scores.append([x.model_dump() for x in r.scores or []])
            if len(batch) >= IMPORT_CHUNK:
                with store.transaction() as conn:
                    _insert_chunk(conn, batch, batch_scores)
                batch.clear()
                batch_scores.clear()
        _check_header(Path(path).name, header, count)            # the file changed since the first pass?
        with store.transaction() as conn:
            _insert_chunk(conn, batch, batch_scores)
            stream_name = _unique_suffix(lambda n: _stream_taken(conn, n), bf.stream.name, "imported")
            board_name = spec.name if not _board_taken(conn, spec.name) else _unique_suffix(
                lambda n: _board_taken(conn, n), spec.name, "imported", limit=120)
            conn.execute("UPDATE streams SET name = ? WHERE id = ?", (stream_name, sid))
            board = BoardSpec.model_validate({**spec.model_dump(), "name": board_name, "stream": stream_name})
            _save(conn, board, time.time(), overwrite=False)
        staging = None
        if count >= 10_000 and hasattr(store.conn, "analyze"):
            store.conn.analyze("calls")       # PostgreSQL, a big file: statistics now (see pg.PgConnection.analyze)
    finally:
        if staging is not None:
            _drop_stream(store, staging)
    return board_name, stream_name


def _insert_chunk(conn, rows: list, scores: list[list[dict]]) -> None:
    """Insert one chunk of records and link their scores (inside the caller's write transaction).  The ids are
    reserved first (store.reserve_call_ids), so the scores link right also on a PostgreSQL store that other
    machines write to meanwhile, and whose ids have gaps."""
    if not any(scores):
        conn.executemany(INSERT_CALL_SQL, rows)
        return
    ids = reserve_call_ids(conn, len(rows))
    conn.executemany(INSERT_CALL_WITH_ID_SQL, [(i, *row) for i, row in zip(ids, rows)])
    import_scores(conn, ids, scores, time.time())


def _drop_stream(store: Store, name: str) -> None:
    """Remove a staging stream and its calls (in chunks, so no single transaction is long)."""
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM streams WHERE name = ?", (name,)).fetchone()
    if row is None:
        return
    while True:
        with store.transaction() as conn:
            n = conn.execute("DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE stream_id = ? LIMIT ?)",
                             (row[0], IMPORT_CHUNK)).rowcount
        if not n:
            break
    with store.transaction() as conn:
        conn.execute("DELETE FROM streams WHERE id = ?", (row[0],))


def _stream_taken(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM streams WHERE name = ?", (name,)).fetchone() is not None


def _board_taken(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM boards WHERE name = ?", (name,)).fetchone() is not None


def _unique_suffix(taken, base: str, word: str, limit: int = 400) -> str:
    """`base (word)`, `base (word 2)`, … — the first not taken, shortened so it stays within `limit`."""
    i = 1
    while True:
        suffix = f" ({word})" if i == 1 else f" ({word} {i})"
        name = base[:limit - len(suffix)].rstrip() + suffix
        if not taken(name):
            return name
        i += 1
