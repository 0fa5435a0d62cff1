"""Saved boards: the store's `boards` table (name unique, the spec as JSON)."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from pydantic import ValidationError

from ..store import Store
from .spec import BoardSpec
from .template import template_spec


class BoardError(Exception):
    """A board operation failed; the message is one line meant for the user."""


class BoardNotFound(BoardError):
    pass


class BoardExists(BoardError):
    pass


@dataclass(frozen=True)
class BoardInfo:
    name: str
    stream: str
    created: float
    updated: float


def list_boards(store: Store, stream: str | None = None) -> list[BoardInfo]:
    """Saved boards, by name (only those over `stream` if given)."""
    sql = "SELECT name, stream, created, updated FROM boards"
    params: tuple = ()
    if stream is not None:
        sql += " WHERE stream = ?"
        params = (stream,)
    return [BoardInfo(*row) for row in store.conn.execute(sql + " ORDER BY name COLLATE NOCASE, name", params)]


def board_exists(store: Store, name: str) -> bool:
    return store.conn.execute("SELECT 1 FROM boards WHERE name = ?", (name,)).fetchone() is not None


def get_board(store: Store, name: str) -> BoardSpec:
    row = store.conn.execute("SELECT spec FROM boards WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise BoardNotFound(f"no board named {name!r}")
    try:
        spec = BoardSpec.from_json(row[0])
    except ValidationError as exc:
        raise BoardError(f"board {name!r} is stored in a form this version can't read: {first_error(exc)}") from None
    if spec.name != name:                  # the row's name is authoritative
        spec = spec.model_copy(update={"name": name})
    return spec


def save_board(store: Store, spec: BoardSpec, *, overwrite: bool = True) -> BoardSpec:
    """Create the board, or replace the one with the same name (unless overwrite=False: BoardExists)."""
    spec = BoardSpec.model_validate(spec.model_dump())          # re-validate (assignment may have skipped)
    now = time.time()
    with store.transaction() as conn:
        _save(conn, spec, now, overwrite=overwrite)
    return spec


def _save(conn: sqlite3.Connection, spec: BoardSpec, now: float, *, overwrite: bool) -> None:
    exists = conn.execute("SELECT 1 FROM boards WHERE name = ?", (spec.name,)).fetchone() is not None
    if exists and not overwrite:
        raise BoardExists(f"a board named {spec.name!r} already exists")
    if exists:
        conn.execute("UPDATE boards SET stream = ?, spec = ?, updated = ? WHERE name = ?",
                     (spec.stream, spec.to_json(), now, spec.name))
    else:
        conn.execute("INSERT INTO boards (name, stream, spec, created, updated) VALUES (?, ?, ?, ?, ?)",
                     (spec.name, spec.stream, spec.to_json(), now, now))


def rename_board(store: Store, old: str, new: str) -> BoardSpec:
    spec = get_board(store, old)
    renamed = BoardSpec.model_validate({**spec.model_dump(), "name": new})
    if renamed.name == old:
        return spec
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM boards WHERE name = ?", (renamed.name,)).fetchone():
            raise BoardExists(f"can't rename {old!r}: a board named {renamed.name!r} already exists")
        conn.execute("UPDATE boards SET name = ?, spec = ?, updated = ? WHERE name = ?",
                     (renamed.name, renamed.to_json(), time.time(), old))
    return renamed


def duplicate_board(store: Store, name: str, new_name: str | None = None) -> BoardSpec:
    spec = get_board(store, name)
    target = new_name or unique_board_name(store, f"{name} (copy)")
    copy = BoardSpec.model_validate({**spec.model_dump(), "name": target})
    return save_board(store, copy, overwrite=False)


def delete_board(store: Store, name: str) -> bool:
    """True if a board was deleted."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM boards WHERE name = ?", (name,)).rowcount > 0


def unique_board_name(store: Store, base: str) -> str:
    return _unique(lambda n: board_exists(store, n), base)


def _unique(taken, base: str) -> str:
    base = base[:110]
    if not taken(base):
        return base
    i = 2
    while taken(f"{base} ({i})"):
        i += 1
    return f"{base} ({i})"


def new_template_board(store: Store, stream: str, name: str | None = None) -> BoardSpec:
    """Save a new "OpenAI Monitor Board" over `stream`.  Without a name it gets a free one; an explicit
    name that is taken raises BoardExists."""
    if name is not None and not name.strip():
        raise BoardError("a board name can't be blank")
    if name is None:
        name = unique_board_name(store, template_spec(stream).name)
    return save_board(store, template_spec(stream, name), overwrite=False)


def first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc).splitlines()[0]
    e = errors[0]
    loc = ".".join(str(p) for p in e.get("loc", ())) or "value"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {e.get('msg', 'invalid')}{more}"
