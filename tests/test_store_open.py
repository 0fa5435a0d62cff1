"""Stores that can't be used (issue 7.6): each gets a StoreError with one line saying what is wrong and
what to do, from init_monitor and from the CLI (exit 2, no traceback), and nothing is changed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from monitor import StoreError, init_monitor
from monitor.record import Record
from monitor.store import Store


@pytest.fixture
def read_only():
    """Make a file or folder unwritable for real — also for root, who ignores permission bits: the
    immutable attribute (chattr +i) when running as root, chmod otherwise."""
    made = []

    def make(path):
        if os.geteuid() == 0:
            if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)],
                                                                capture_output=True).returncode:
                pytest.skip("running as root on a file system without chattr +i: no real way to make it read-only")
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
        made.append(path)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o755 if path.is_dir() else 0o644)


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, timeout=60)


def _one_line_store_error(path, match: str) -> str:
    with pytest.raises(StoreError) as info:
        init_monitor("s", db_path=path, quiet=True)
    text = str(info.value)
    assert "\n" not in text and match in text, text
    return text


def _store_with_calls(path, n=300) -> None:
    store = Store(path)
    store.insert_records(
        Record(id=None, stream="s", timestamp=1.7e9 + i, latency_ms=1.0, ttft_ms=None, api="chat.completions",
               model="m", response_model="m", status="success", error=None, prompt_tokens=1,
               completion_tokens=1, total_tokens=2, cached_tokens=0, reasoning_tokens=0, usage_estimated=False,
               cost_usd=None, streamed=False, request={"x": "y" * 500}, output="z" * 500, attributes={})
        for i in range(n))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def test_a_folder_path(tmp_path):
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    text = _one_line_store_error(folder, "is a folder")
    assert "monitor.db" in text                     # says what to pass instead
    run = _cli("streams", "--db", str(folder))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"openai-monitor: {text}"]
    assert list(folder.iterdir()) == []


def test_an_unwritable_folder(tmp_path, read_only):
    folder = tmp_path / "locked-folder"
    folder.mkdir()
    read_only(folder)
    _one_line_store_error(folder / "monitor.db", "can't be written")
    _one_line_store_error(folder / "sub" / "monitor.db", "can't create the folder")
    run = _cli("board", "import", str(tmp_path / "missing.json"), "--db", str(folder / "monitor.db"))
    assert run.returncode == 2 and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_read_only_store_is_refused_when_opened(tmp_path, read_only):
    # before: init_monitor passed, then every record was dropped with only a warning
    folder = tmp_path / "shared"
    folder.mkdir()
    store = folder / "monitor.db"
    _store_with_calls(store)
    before = store.read_bytes()
    read_only(store)
    _one_line_store_error(store, "can't be written")
    assert store.read_bytes() == before


def test_a_store_damaged_after_its_header_is_refused_when_opened(tmp_path):
    # before: the schema on page 1 read fine, init_monitor passed, and every record was dropped later
    store = tmp_path / "damaged.db"
    _store_with_calls(store)
    size = store.stat().st_size
    with open(store, "r+b") as f:
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    before = store.read_bytes()
    text = _one_line_store_error(store, "not a usable OpenAI Monitor store")
    assert "move it aside" in text
    assert store.read_bytes() == before
    run = _cli("stats", "s", "--db", str(store))
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_random_bytes_and_a_truncated_header(tmp_path):
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(8192))
    _one_line_store_error(noise, "not a usable OpenAI Monitor store")
    good = tmp_path / "good.db"
    _store_with_calls(good, 10)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.read_bytes()[:50])
    _one_line_store_error(truncated, "not a usable OpenAI Monitor store")
    assert truncated.stat().st_size == 50
    run = _cli("streams", "--db", str(truncated))
    assert run.returncode == 2 and "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("index", ["calls_stream_ts", "sqlite_autoindex_streams_1"])
def test_a_damaged_index_is_refused_when_opened(tmp_path, index):
    # before: only the tables' rowid trees were read, so init_monitor passed and every call was dropped
    import sqlite3
    store = tmp_path / "index.db"
    _store_with_calls(store, 300)
    con = sqlite3.connect(store)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
    page = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    with open(store, "r+b") as f:
        f.seek((root - 1) * page)
        f.write(b"\xa5" * page)
    _one_line_store_error(store, "not a usable OpenAI Monitor store")
