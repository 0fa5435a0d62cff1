"""Shared by the app-window and Requests-page tests: a context on a temp store and temp settings,
and realistic finished Records to insert (Store.insert_records, as imports and benchmarks do)."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings

from monitor.profiles import ProfileStore
from monitor.record import Record
from monitor.store import Store


def temp_settings(tmp_path: Path, name: str = "app.ini") -> QSettings:
    return QSettings(str(tmp_path / name), QSettings.IniFormat)


def make_context(tmp_path: Path, settings: QSettings | None = None, db_name: str = "monitor.db",
                 store: str | None = None):
    """`store`: a postgresql:// URL instead of the SQLite file tmp_path/db_name."""
    from desktop.context import AppContext

    return AppContext(store or tmp_path / db_name, profiles=ProfileStore(tmp_path / "profiles.json"),
                      settings=settings if settings is not None else temp_settings(tmp_path))


def make_record(stream: str, i: int = 0, *, ts: float | None = None, **overrides) -> Record:
    fields = dict(
        id=None, stream=stream, timestamp=ts if ts is not None else time.time() - 60 + i * 0.001,
        latency_ms=800.0 + i % 100, ttft_ms=None, api="chat.completions", model="gpt-4o-mini",
        response_model="gpt-4o-mini-2024-07-18", status="success", error=None, prompt_tokens=20 + i % 7,
        completion_tokens=30, total_tokens=50 + i % 7, cached_tokens=0, reasoning_tokens=0,
        usage_estimated=False, cost_usd=0.000021, streamed=False,
        request={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {i}"}]},
        output=f"answer {i}", attributes={"feature": "chat", "n": i},
    )
    fields.update(overrides)
    return Record(**fields)


def insert(db_path: Path, records: list[Record]) -> None:
    store = Store(db_path)
    try:
        store.insert_records(records)
    finally:
        store.close()
