"""Shared fixtures: the built-in simulator over real HTTP, a fresh store file, offline tiktoken."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_CACHE = ROOT.parent / "shared" / "tiktoken-cache"
if _CACHE.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_CACHE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Waits on a condition or a signal get at least PATIENCE_MS before they fail: a 2–5 s timeout written for a quiet
# machine is a flake on a loaded one, and a passing wait returns as soon as its condition holds, so the suite
# is not slowed.  (No test waits for something *not* to happen with these.)
PATIENCE_MS = 30_000


def _patient(wait):
    def patient_wait(self, *args, timeout: int = 5000, **kwargs):
        if timeout is not None and 0 < timeout < PATIENCE_MS:
            timeout = PATIENCE_MS
        return wait(self, *args, timeout=timeout, **kwargs)
    patient_wait.__doc__ = wait.__doc__
    return patient_wait


try:
    from pytestqt.qtbot import QtBot
except ImportError:                     # the library-only checks run without the app's test extras
    QtBot = None
if QtBot is not None:
    for _name in ("waitUntil", "waitSignal", "waitSignals", "waitCallback"):
        setattr(QtBot, _name, _patient(getattr(QtBot, _name)))


@pytest.fixture(scope="session")
def sim():
    from monitor.simulator import Simulator

    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "monitor.db"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    # Nothing a test does may touch the user's real store or config.
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("OPENAI_MONITOR_DB", str(tmp_path / "default.db"))


@pytest.fixture
def sim_env(sim, monkeypatch):
    """OPENAI_API_KEY / OPENAI_BASE_URL pointing at the simulator, as the seed's facade reads them."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    return sim


@pytest.fixture
def client(sim):
    import openai

    c = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-0123456789abcdef", max_retries=0)
    yield c
    c.close()


# -- PostgreSQL (team stores): a throwaway cluster per session, a fresh database per test -------------------
@pytest.fixture(scope="session")
def pg_cluster():
    from tests.pg_server import PgCluster, find_bin

    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        pytest.skip("PostgreSQL is not installed (initdb not on PATH nor in /usr/lib/postgresql/*/bin): "
                    "apt-get install postgresql")
    cluster = PgCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """postgresql:// URL of a new, empty database."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def store_at(request, tmp_path) -> str:
    """A new store on each engine: a SQLite file path, or a postgresql:// URL."""
    if request.param == "sqlite":
        return str(tmp_path / "monitor.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_main_thread(request):
    """As the app does (desktop/gc_on_gui_thread.py): no automatic collection — a collection started by a
    worker thread (the store writer, a task lane) would free the tests' Qt objects there and can deadlock —
    and collections between tests, on the main thread."""
    import gc
    gc.disable()
    yield
    thresholds = gc.get_threshold()
    count0, count1, count2 = gc.get_count()
    if count0 > thresholds[0]:
        gc.collect(0)
        if count1 > thresholds[1]:
            gc.collect(1)
            if count2 > thresholds[2]:
                gc.collect(2)
