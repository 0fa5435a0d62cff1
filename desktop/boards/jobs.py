"""What the Boards page runs on the DB worker.  Every function here takes the worker's Store and runs on
that one thread; the GUI never calls them directly (it submits them with `ctx.db.submit`).

A BoardEngine is not thread-safe, so the engines live in `Engines`, an object only these functions touch:
one engine per open board view, created on first use and kept, so a live tick folds in new calls only.
"""
from __future__ import annotations

from dataclasses import dataclass

from monitor.boards import (BoardData, BoardEngine, BoardFileError, BoardSpec, RequestsPage, export_board,
                            export_csv, get_board, import_board, list_boards, new_template_board)
from monitor.boards.facets import Facets, stream_facets  # noqa: F401 - Facets: the toolbar's type
from monitor.record import Record
from monitor.store import Store

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


# -- what the toolbar offers: monitor.boards.facets (Facets, stream_facets) -----------------------------


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
