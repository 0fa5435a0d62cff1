"""The Record: one logged API call, and the one field list every stored form derives from.

Field names are a public contract (see GUIDE.md). Each field says, in its metadata, how it is stored
(`kind`: int, float, text, bool or json; `column`: the SQL column when it differs from the name) and
what a board file may hold (`file`: a pydantic type). The SQL column list, INSERT and SELECT, the row
codec (monitor/store.py), CSV columns and board-file records (monitor/boards/export.py) are built from
this list; adding a field here (plus a migration adding its column) is the whole change.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Annotated, Any, Literal

from pydantic import Field

from .apis import API_NAMES as APIS      # one adapter per API (monitor/apis): the registry is the list
STATUSES = ("success", "error", "cancelled")

# board-file value types (limits that keep a hostile file from breaking a later command)
_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Tokens = Annotated[int, Field(ge=0, le=2**31 - 1)] | None
_Text = Annotated[str, Field(max_length=50_000_000)] | None
_Name = Annotated[str, Field(max_length=300)] | None


def _col(kind: str, file: Any, *, column: str | None = None, default: Any = ..., sql: str | None = None) -> Any:
    meta = {"kind": kind, "file": file, "column": column, "sql": sql}
    if default is ...:
        return field(metadata=meta)
    if isinstance(default, (dict, list)):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Record:
    id: int | None = _col("int", Annotated[int, Field(ge=0)] | None)
    stream: str = _col("text", Annotated[str, Field(max_length=400)], column="stream_id")
    timestamp: float = _col("float", _Finite, column="ts", sql="REAL NOT NULL")   # call start, unix seconds
    latency_ms: float | None = _col("float", _Finite | None)
    ttft_ms: float | None = _col("float", _Finite | None)                        # streams only
    api: str = _col("text", Annotated[str, Field(min_length=1, max_length=40)], sql="TEXT NOT NULL")
    model: str | None = _col("text", _Name)                                     # as requested
    response_model: str | None = _col("text", _Name)
    status: str = _col("text", Literal[STATUSES], sql="TEXT NOT NULL")           # type: ignore[valid-type]
    error: str | None = _col("text", _Text)
    prompt_tokens: int | None = _col("int", _Tokens)
    completion_tokens: int | None = _col("int", _Tokens)
    total_tokens: int | None = _col("int", _Tokens)
    cached_tokens: int | None = _col("int", _Tokens)
    reasoning_tokens: int | None = _col("int", _Tokens)
    usage_estimated: bool = _col("bool", bool, sql="INTEGER NOT NULL DEFAULT 0")
    cost_usd: float | None = _col("float", Annotated[float, Field(ge=0, allow_inf_nan=False)] | None)  # None = no known price
    streamed: bool = _col("bool", bool, sql="INTEGER NOT NULL DEFAULT 0")
    request: dict[str, Any] = _col("json", dict[str, Any], default={})
    output: str | None = _col("text", _Text, default=None)
    attributes: dict[str, Any] = _col("json", dict[str, Any], default={})
    # schema 3: the reply as the API gave it (GUIDE "Contracts for the next capabilities")
    response_id: str | None = _col("text", _Name, default=None)
    finish_reason: str | None = _col("text", Annotated[str, Field(max_length=100)] | None, default=None)
    response: dict[str, Any] | None = _col("json", dict[str, Any] | None, default=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RECORD_FIELDS = tuple(f.name for f in fields(Record))


@dataclass(frozen=True)
class StoredField:
    name: str           # the Record attribute
    column: str         # the SQL column of `calls`
    kind: str           # int | float | text | bool | json
    sql: str            # its SQL type (for the migration that adds it, and the schema test)
    file: Any           # its type in a board file


_SQL = {"int": "INTEGER", "float": "REAL", "text": "TEXT", "bool": "INTEGER NOT NULL DEFAULT 0", "json": "TEXT"}

STORED_FIELDS: tuple[StoredField, ...] = tuple(
    StoredField(f.name, f.metadata["column"] or f.name, f.metadata["kind"],
                f.metadata["sql"] or _SQL[f.metadata["kind"]], f.metadata["file"])
    for f in fields(Record)
)
# The fields a call row stores besides its id and stream (stream is the stream_id foreign key).
CALL_FIELDS = tuple(f for f in STORED_FIELDS if f.name not in ("id", "stream"))
