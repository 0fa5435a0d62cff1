"""Monitor: a named stream in a store file, and the handle a program logs through."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from .capture import PendingCall
from .instrument import wrap_client
from .paths import resolve_db_path
from .record import Record
from .store import Store
from .writer import writer_for

_scoped_attributes: contextvars.ContextVar[dict | None] = contextvars.ContextVar("openai_monitor_attrs", default=None)
_PART = re.compile(r"^[\w.\- ]{1,100}$")

_current: "Monitor | None" = None
log = logging.getLogger("openai_monitor")


def normalize_stream_name(name: str) -> str:
    """1 to 3 '/'-separated parts.  Empty parts are dropped, so the seed's f"{''}/weave/openai_logs" works."""
    if not isinstance(name, str):
        raise TypeError(f"stream name must be a string, not {type(name).__name__}")
    parts = [p.strip() for p in name.split("/") if p.strip()]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"stream name {name!r} must have 1 to 3 '/'-separated parts, like 'team/project/openai_logs'")
    for part in parts:
        if not _PART.match(part):
            raise ValueError(f"stream name part {part!r} may use letters, digits, '_', '-', '.' and spaces only")
    return "/".join(parts)


class Monitor:
    """Logs the OpenAI calls of wrapped clients (and of the `monitor.openai` facade) to one stream."""

    def __init__(self, stream: str, db_path: str | Path | None = None):
        self.stream = normalize_stream_name(stream)
        self.db_path = resolve_db_path(db_path)
        self._writer = writer_for(self.db_path)
        self._store: Store | None = None
        self._base_attributes: dict[str, Any] = {}
        self._dropped_said = 0
        self._cause_said: str | None = None
        self.closed = False

    # -- logging --------------------------------------------------------------------------------
    def wrap(self, client: Any) -> Any:
        """Instrument an `openai.OpenAI` / `AsyncOpenAI` (or Azure) client in place; returns it."""
        return wrap_client(self, client)

    @contextlib.contextmanager
    def attributes(self, **attributes: Any) -> Iterator[None]:
        """Attributes for every call made inside the block (nested blocks merge; inner keys win)."""
        outer = _scoped_attributes.get()
        token = _scoped_attributes.set({**(outer or {}), **attributes})
        try:
            yield
        finally:
            _scoped_attributes.reset(token)

    def _merged_attributes(self, explicit: dict | None) -> dict:
        scoped = _scoped_attributes.get()
        if not scoped and not self._base_attributes:
            return dict(explicit) if explicit else {}
        return {**self._base_attributes, **(scoped or {}), **(explicit or {})}

    def _submit(self, call: PendingCall) -> None:
        self._live_writer().submit(call)

    def _live_writer(self):
        if self._writer.pid != os.getpid():        # we are a forked child: get this process's own writer
            self._writer = writer_for(self.db_path)
        return self._writer

    # -- reading --------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.db_path)
        return self._store

    def flush(self, timeout: float | None = 30.0) -> None:
        """Return once every call logged so far is committed to the store (or dropped: then say so once)."""
        if not self._live_writer().flush(timeout):
            raise TimeoutError(f"the store writer did not finish within {timeout} s ({self._writer.last_error or 'busy'})")
        health = self.health()
        # said once per cause (the writer already said it as it happened), not once per flush
        cause = health["last_error"]
        if health["dropped"] > self._dropped_said and cause is not None and cause != self._cause_said:
            self._dropped_said = health["dropped"]
            self._cause_said = cause
            log.warning("openai-monitor: %d of %d calls to stream '%s' could not be stored in %s: %s "
                        "(see m.health())", health["dropped"], health["logged"], self.stream, self.db_path,
                        health["last_error"])

    def health(self) -> dict:
        """{"logged", "committed", "dropped", "last_error"} for this stream's calls made by this process."""
        return self._live_writer().health(self.stream)

    def records(self) -> list[Record]:
        """This stream's records, oldest first (pending calls are flushed first)."""
        self.flush()
        return self.store.records(self.stream)

    def close(self) -> None:
        if self.closed:
            return
        self._live_writer().flush()
        if self._store is not None:
            self._store.close()
        self.closed = True
        global _current
        if _current is self:
            _current = None

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Monitor(stream={self.stream!r}, db_path={str(self.db_path)!r})"


def init_monitor(stream: str, db_path: str | Path | None = None, *, quiet: bool = False,
                 otlp_endpoint: str | None = None) -> Monitor:
    """Start logging to `stream`; the `monitor.openai` facade logs through the latest monitor.

    `otlp_endpoint` (else `$OPENAI_MONITOR_OTLP_ENDPOINT`) also sends every record as an OpenTelemetry span.
    """
    global _current
    monitor = Monitor(stream, db_path)
    _current = monitor
    from .export import otlp
    otlp.route(monitor.stream, otlp_endpoint)
    if not quiet:
        print(
            f"openai-monitor: logging stream '{monitor.stream}' to {monitor.db_path} — "
            f"view it with: openai-monitor --db '{monitor.db_path}' --stream '{monitor.stream}'",
            file=sys.stdout,
        )
    return monitor


def current_monitor() -> Monitor | None:
    return _current
