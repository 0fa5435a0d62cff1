"""What the Boards page runs on the DB worker.  Every function here takes the worker's Store and runs on
that one thread; the GUI never calls them directly (it submits them with `ctx.db.submit`).

A BoardEngine is not thread-safe, so the engines live in `Engines`, an object only these functions touch:
one engine per open board view, created on first use and kept, so a live tick folds in new calls only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from monitor.boards import (BoardData, BoardEngine, BoardFileError, BoardSpec, RequestsPage, export_board,
                            export_csv, get_board, import_board, list_boards, new_template_board)
from monitor.boards.columns import columns_for
from monitor.record import Record
from monitor.store import Store

ATTRIBUTE_SAMPLE = 2000        # newest calls whose attributes are read to offer keys and values
MAX_VALUES = 40                # values offered per attribute key


class Engines:
    """view key -> BoardEngine; touched only on the DB worker thread."""

    def __init__(self) -> None:
        self._by_view: dict[str, BoardEngine] = {}

    def engine(self, store: Store, view: str, spec: BoardSpec) -> BoardEngine:
        engine = self._by_view.get(view)
        if engine is None or engine.store is not store:
            engine = self._by_view[view] = BoardEngine(store, spec)
        elif engine.spec != spec:
            engine.set_spec(spec)             # grouping, filters, panels or stream changed: recompute
        return engine

    def forget(self, view: str) -> None:
        self._by_view.pop(view, None)


ENGINES = Engines()


def refresh(store: Store, view: str, spec: BoardSpec) -> BoardData:
    return ENGINES.engine(store, view, spec).refresh()


def requests(store: Store, view: str, spec: BoardSpec, offset: int, limit: int, bucket: float | None,
             group: str | None) -> RequestsPage:
    engine = ENGINES.engine(store, view, spec)
    return engine.requests_page(offset, limit, bucket=bucket, group=group)


def record(store: Store, record_id: int) -> Record | None:
    return store.record(record_id)


# -- opening boards -----------------------------------------------------------------------------------------
@dataclass
class StreamBoards:
    stream: str
    boards: list[str]
    origin: str                       # "local" | "imported" | "" (no such stream yet)


def stream_boards(store: Store, stream: str) -> StreamBoards:
    origins = {s.name: s.origin for s in store.streams()}
    return StreamBoards(stream, [b.name for b in list_boards(store, stream)], origins.get(stream, ""))


def open_board(store: Store, name: str) -> tuple[BoardSpec, str]:
    """(spec, origin of its stream)."""
    spec = get_board(store, name)
    origins = {s.name: s.origin for s in store.streams()}
    return spec, origins.get(spec.stream, "")


def create_template(store: Store, stream: str) -> BoardSpec:
    return new_template_board(store, stream)


# -- what the toolbar offers -------------------------------------------------------------------------------
@dataclass
class Facets:
    """Choices for the toolbar: models seen in the stream and attribute keys (dotted for nested) with some
    of their values, from the newest ATTRIBUTE_SAMPLE calls."""
    stream: str
    models: list[str] = field(default_factory=list)
    attribute_keys: list[str] = field(default_factory=list)
    attribute_values: dict[str, list[str]] = field(default_factory=dict)


def _walk(value: dict, prefix: str, out: dict[str, dict[str, int]], depth: int = 0) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            continue
        path = f"{prefix}{key}"
        if isinstance(item, dict) and depth < 4:
            _walk(item, path + ".", out, depth + 1)
            continue
        values = out.setdefault(path, {})
        label = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, separators=(",", ":"),
                                                               default=str)
        if len(label) <= 200:
            values[label] = values.get(label, 0) + 1


def facets(store: Store, stream: str) -> Facets:
    out = Facets(stream)
    sid = store.stream_id(stream, create=False)
    if sid is None:
        return out
    cache = columns_for(store, stream)             # the engine's own column cache: models are already known
    cache.sync(store)
    out.models = sorted(m for m in cache.labels("model") if m and m != "(none)")
    found: dict[str, dict[str, int]] = {}
    rows = store.conn.execute("SELECT attributes FROM calls WHERE stream_id = ? AND attributes IS NOT NULL "
                              "ORDER BY id DESC LIMIT ?", (sid, ATTRIBUTE_SAMPLE))
    for (text,) in rows:
        try:
            attributes = json.loads(text)
        except ValueError:
            continue
        if isinstance(attributes, dict):
            _walk(attributes, "", found)
    out.attribute_keys = sorted(found, key=str.casefold)
    out.attribute_values = {k: sorted(v, key=lambda lbl: -v[lbl])[:MAX_VALUES] for k, v in found.items()}
    return out


# -- files ----------------------------------------------------------------------------------------------------
@dataclass
class FileResult:
    ok: bool
    message: str                   # the one-line reason when not ok
    board: str = ""
    stream: str = ""
    count: int = 0


def import_file(store: Store, path: str) -> FileResult:
    try:
        board, stream = import_board(store, path)
    except BoardFileError as exc:
        return FileResult(False, str(exc))
    return FileResult(True, "", board, stream)


def export_file(store: Store, name: str, path: str, include_content: bool) -> FileResult:
    n = export_board(store, name, path, include_content=include_content)
    return FileResult(True, "", name, count=n)


def export_records_csv(store: Store, spec: BoardSpec, path: str) -> FileResult:
    n = export_csv(store, spec, path)
    return FileResult(True, "", spec.name, count=n)
