"""Shared by the playground and experiments tests: a real AppContext on a temp store whose profile
points at the simulator (over real HTTP, through the real openai client)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from monitor.profiles import Profile, ProfileStore
from monitor.store import Store

SIM_PROFILE = "simulator"


def make_context(tmp_path: Path, sim, *, kind: str = "demo", base_url: str | None = None):
    from desktop.context import AppContext

    profiles = ProfileStore(tmp_path / "profiles.json")
    # "demo" kind: the simulator accepts any key and the demo key needs no keyring (see the report on
    # "compatible", which still asks the keyring for a key and fails where there is none).
    profiles.save(Profile(SIM_PROFILE, base_url=base_url or sim.base_url, kind=kind, default_model="gpt-4o-mini"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(tmp_path / "app.db", simulator=None, profiles=profiles, settings=settings)
    ctx.current_profile = SIM_PROFILE
    return ctx


def stored_records(ctx, stream: str):
    store = Store(ctx.db_path)
    try:
        return store.records(stream)
    finally:
        store.close()


@pytest.fixture
def ctx(tmp_path, sim):
    from desktop import tasks

    context = make_context(tmp_path, sim)
    yield context
    finished = tasks.wait_for_network(30_000)
    context.shutdown()
    # Said here, at the test that left it, rather than as a slow wait in every later test (the lane is shared).
    assert finished, "a network op is still running 30 s after the test"
