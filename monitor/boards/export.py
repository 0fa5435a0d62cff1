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
of the wrong type or unknown key, more than MAX_RECORDS records.  Everything is validated before the
single write transaction that creates the imported stream (origin 'imported') and the board.
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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from ..redact import SECRET_KEY_NAMES, scrub, scrub_record
from ..csv_safe import spreadsheet_cell
from ..files import atomic_text_file
from ..record import RECORD_FIELDS, Record
from ..store import INSERT_CALL_SQL, Store, record_row, row_to_record, stream_id
from .engine import BoardEngine
from .repository import BoardError, _save, first_error, get_board
from .spec import BoardSpec, TimeRange

FORMAT = "openai-monitor.board"
VERSION = 1
MAX_FILE_BYTES = 200 * 1024 * 1024      # 200 MiB
MAX_RECORDS = 1_000_000
MAX_DEPTH = 64                          # JSON nesting, counted from the top of the file
CONTENT_KEYS = ("messages", "input", "prompt", "instructions")
# Attributes the playground, experiments and the seed's examples fill with prompt text: without content
# they become stable short labels, so a board still groups by them but the file holds no prompt text.
CONTENT_ATTRIBUTE_KEYS = ("system_prompt", "prompt_template", "prompt", "instructions", "params")
_SECRET_KEYS = SECRET_KEY_NAMES


class BoardFileError(BoardError):
    """A board file can't be imported; the message is one line saying why."""


# -- export -------------------------------------------------------------------------------------------------
def export_board(store: Store, name: str, path: str | os.PathLike, include_content: bool = True,
                 now: float | None = None) -> int:
    """Write board `name` and the records it covers to `path` (atomically); returns the record count."""
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
    with atomic_text_file(path) as f:
        f.write(text[:-1] + ', "records": [')
        first = True
        for record in _records_by_id(store, spec.stream, ids):
            f.write(("\n" if first else ",\n") + json.dumps(export_record(record, include_content),
                                                             ensure_ascii=False, allow_nan=False))
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


_SELECT = ("SELECT c.id, s.name, c.ts, c.latency_ms, c.ttft_ms, c.api, c.model, c.response_model, c.status, "
           "c.error, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.cached_tokens, c.reasoning_tokens, "
           "c.usage_estimated, c.cost_usd, c.streamed, c.request, c.output, c.attributes "
           "FROM calls c JOIN streams s ON s.id = c.stream_id WHERE +c.stream_id = ? AND c.id BETWEEN ? AND ? "
           "ORDER BY c.id")


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
CSV_COLUMNS = ("id", "time_utc", "timestamp", "stream", "api", "model", "response_model", "status", "error",
               "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens",
               "usage_estimated", "cost_usd", "latency_ms", "ttft_ms", "streamed", "group", "attributes",
               "request", "output")


def export_csv(store: Store, spec: BoardSpec, path: str | os.PathLike, include_content: bool = True,
               now: float | None = None) -> int:
    """The board's records (its range and filters) as CSV, oldest first; returns the row count.  Text
    cells that a spreadsheet would run as a formula (= + - @ first) get a leading apostrophe."""
    engine = BoardEngine(store, spec)
    engine.refresh(now)
    ids, labels = engine.covered_calls()
    groups = dict(zip(ids.tolist(), labels))
    columns = [c for c in CSV_COLUMNS if include_content or c not in ("request", "output")]
    with atomic_text_file(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in _records_by_id(store, spec.stream, ids.tolist()):
            d = export_record(r, include_content)
            d["time_utc"] = _dt.datetime.fromtimestamp(r.timestamp, _dt.timezone.utc).isoformat()
            d["group"] = groups.get(r.id)
            d["attributes"] = json.dumps(d["attributes"], ensure_ascii=False)
            d["request"] = json.dumps(d["request"], ensure_ascii=False)
            w.writerow([spreadsheet_cell(d.get(c)) for c in columns])
    return len(ids)


# -- import -----------------------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Tokens = Annotated[int, Field(ge=0, le=2**31 - 1)] | None
Text = Annotated[str, Field(max_length=50_000_000)]


class FileRecord(_Strict):
    id: Annotated[int, Field(ge=0)] | None = None
    stream: Annotated[str, Field(max_length=400)]
    timestamp: FiniteFloat
    latency_ms: FiniteFloat | None
    ttft_ms: FiniteFloat | None
    api: Annotated[str, Field(min_length=1, max_length=40)]
    model: Annotated[str, Field(max_length=300)] | None
    response_model: Annotated[str, Field(max_length=300)] | None
    status: Literal["success", "error", "cancelled"]
    error: Text | None
    prompt_tokens: Tokens
    completion_tokens: Tokens
    total_tokens: Tokens
    cached_tokens: Tokens
    reasoning_tokens: Tokens
    usage_estimated: bool
    cost_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    streamed: bool
    request: dict[str, Any]
    output: Text | None
    attributes: dict[str, Any]


class FileStream(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=400, pattern=r"^[^\x00-\x1f\x7f]+$")]
    records: Annotated[int, Field(ge=0)]


class BoardFile(_Strict):
    format: Literal["openai-monitor.board"]
    version: Literal[1]
    exported_at: FiniteFloat | None = None
    generator: Annotated[str, Field(max_length=200)] | None = None
    content: Literal["full", "numbers"] = "full"
    board: dict[str, Any]
    stream: FileStream
    records: Annotated[list[FileRecord], Field(max_length=MAX_RECORDS)]


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


class _NonFinite(ValueError):
    pass


def read_board_file(path: str | os.PathLike) -> tuple[BoardFile, BoardSpec]:
    """Parse and validate a board file completely; BoardFileError (one line) if anything is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BoardFileError(f"{path.name} is {size / 2**20:.0f} MB; board files are limited to "
                                 f"{MAX_FILE_BYTES // 2**20} MB")
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BoardFileError(f"can't read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise BoardFileError(f"{path.name} is over {MAX_FILE_BYTES // 2**20} MB; board files are limited to that")
    if not raw.strip():
        raise BoardFileError(f"{path.name} is empty, not a board file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BoardFileError(f"{path.name} is not UTF-8 text, so not a board file") from None
    del raw
    if not text.lstrip().startswith("{"):
        raise BoardFileError(f"{path.name} is not a board file (not a JSON object)")
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BoardFileError(f"{path.name} is nested too deeply to be a board file") from None
    except _NonFinite as exc:
        raise BoardFileError(f"{path.name} contains {exc}, which board files never hold") from None
    except json.JSONDecodeError as exc:
        cut = not text.rstrip().endswith("}") or exc.pos >= len(text.rstrip()) - 1
        what = "is truncated or damaged" if cut else "is not valid JSON"
        raise BoardFileError(f"{path.name} {what} (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError as exc:            # an integer with thousands of digits (int_max_str_digits)
        reason = "an integer with too many digits" if "digits" in str(exc) else str(exc).splitlines()[0][:100]
        raise BoardFileError(f"{path.name} is not a usable board file: {reason}") from None
    del text
    if not isinstance(obj, dict):
        raise BoardFileError(f"{path.name} is not a board file (not a JSON object)")
    if obj.get("format") != FORMAT:
        raise BoardFileError(f"{path.name} is not an OpenAI Monitor board file (format is {_show(obj.get('format'))}, "
                             f"expected {FORMAT!r})")
    version = obj.get("version")
    if type(version) is not int:
        raise BoardFileError(f"{path.name} has no valid version number (got {_show(version)})")
    if version > VERSION:
        raise BoardFileError(f"{path.name} was written by a newer OpenAI Monitor (board file version {version}; "
                             f"this one reads version {VERSION}): upgrade openai-monitor to open it")
    if version != VERSION:
        raise BoardFileError(f"{path.name} has unsupported board file version {version}")
    records = obj.get("records")
    if isinstance(records, list) and len(records) > MAX_RECORDS:
        raise BoardFileError(f"{path.name} holds {len(records):,} records; board files are limited to {MAX_RECORDS:,}")
    _check_depth(obj, path.name)
    try:
        bf = BoardFile.model_validate(obj)
    except ValidationError as exc:
        raise BoardFileError(f"{path.name} is not a valid board file: {first_error(exc)}") from None
    try:
        spec = BoardSpec.model_validate(bf.board)
    except ValidationError as exc:
        raise BoardFileError(f"{path.name} holds an invalid board: {first_error(exc)}") from None
    if bf.stream.records != len(bf.records):
        raise BoardFileError(f"{path.name} says it holds {bf.stream.records} records but holds {len(bf.records)} "
                             "(damaged file?)")
    return bf, spec


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_depth(obj: Any, name: str) -> None:
    """Iteratively: nesting <= MAX_DEPTH and every float finite (1e999 parses as inf)."""
    stack = [(obj, 1)]
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
    unique); returns (board name, stream name).  Nothing in the store changes unless it all succeeds."""
    bf, spec = read_board_file(path)
    now = time.time()
    with store.transaction() as conn:
        def stream_taken(n: str) -> bool:
            return conn.execute("SELECT 1 FROM streams WHERE name = ?", (n,)).fetchone() is not None

        def board_taken(n: str) -> bool:
            return conn.execute("SELECT 1 FROM boards WHERE name = ?", (n,)).fetchone() is not None

        stream_name = _unique_suffix(stream_taken, bf.stream.name, "imported")
        board_name = spec.name if not board_taken(spec.name) else _unique_suffix(board_taken, spec.name[:95], "imported")
        sid = stream_id(conn, stream_name, create=True, origin="imported")
        fields = [f for f in RECORD_FIELDS if f not in ("id", "stream")]
        rows = (record_row(sid, Record(id=None, stream=stream_name, **{f: getattr(r, f) for f in fields}))
                for r in bf.records)
        conn.executemany(INSERT_CALL_SQL, rows)
        board = BoardSpec.model_validate({**spec.model_dump(), "name": board_name, "stream": stream_name})
        _save(conn, board, now, overwrite=False)
    return board_name, stream_name


def _unique_suffix(taken, base: str, word: str) -> str:
    first = f"{base} ({word})"
    if len(first) <= 400 and not taken(first):
        return first
    i = 2
    while taken(f"{base} ({word} {i})"):
        i += 1
    return f"{base} ({word} {i})"
