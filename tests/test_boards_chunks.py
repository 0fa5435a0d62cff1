"""Column chunks kept as calls land: sealed by the real writer thread, read back by boards, rebuilt when
missing, damaged or of another format (real SQLite files)."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from monitor import column_seal
from monitor.boards import compute_board
from monitor.boards.chunks import CHUNK_FORMAT, CHUNK_ROWS, encode, seal_ready_chunks, seal_stream
from monitor.boards.columns import columns_for, forget_caches
from monitor.capture import PendingCall
from monitor.store import Store
from monitor.writer import RecordWriter

from test_boards_compute import T0, assert_board_matches, full_spec, make_records


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


def chunk_kinds(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return conn.execute("SELECT kind, COUNT(*) FROM column_chunks GROUP BY kind ORDER BY kind").fetchall()


def pending(i: int) -> PendingCall:
    call = PendingCall("s", T0 + 1 + i * 0.1, "chat.completions", {"model": "gpt-4o"},
                       {"team": ("red", "blue")[i % 2], "i": i % 3})
    call.latency_ms = 100.0 + i % 97
    if i % 10 == 0:
        call.status, call.error = "error", "boom"
    else:
        call.output = "ok"
        call.usage = {"prompt_tokens": 5 + i % 7, "completion_tokens": 3, "total_tokens": 8 + i % 7}
    return call


def test_chunk_size_is_known_to_the_light_hook():
    assert column_seal.CHUNK_ROWS == CHUNK_ROWS


def test_the_writer_seals_chunks_as_calls_land(db_path):
    """No reader has opened the stream: the writer thread alone leaves its calls as column chunks, and a
    board's first open reads them instead of converting rows."""
    writer = RecordWriter(db_path)
    n = 2 * CHUNK_ROWS + 100
    for i in range(n):
        writer.submit(pending(i))
    assert writer.flush(60)
    writer.close()
    store = Store(db_path)
    assert chunk_kinds(store.conn) == [("attrs", 2), ("core", 2)]
    spec = full_spec(group_by="team", time_range={"kind": "custom", "start": T0, "end": T0 + 3600})
    data = compute_board(store, spec)
    cache = columns_for(store, "s")
    assert cache.load_stats["chunk_rows"] == 2 * CHUNK_ROWS and cache.load_stats["tail_rows"] == 100
    assert data.summary.requests == n
    assert_board_matches(store.records("s"), spec, data)
    store.close()


def test_damaged_missing_and_old_format_chunks_are_rebuilt(db_path):
    """A crash mid-seal leaves a chunk missing; a torn or older-format blob is ignored: numbers stay exact
    and the reader seals what is missing again."""
    store = Store(db_path)
    store.insert_records(make_records(3 * CHUNK_ROWS + 50, span=3600))
    sid = store.stream_id("s", create=False)
    assert seal_stream(store.conn, sid) == (3, False)
    spec = full_spec(group_by="team")
    good = compute_board(store, spec)
    firsts = [f for (f,) in store.conn.execute(
        "SELECT first_id FROM column_chunks WHERE kind = 'core' ORDER BY first_id")]
    conn = store.conn
    conn.execute("DELETE FROM column_chunks WHERE kind = 'core' AND first_id = ?", (firsts[2],))      # never sealed
    conn.execute("UPDATE column_chunks SET data = substr(data, 1, 500) WHERE kind = 'attrs' AND first_id = ?",
                 (firsts[0],))                                                                        # torn
    old = encode({"codes": np.zeros(CHUNK_ROWS, dtype=np.int32)}, {"codes": ["{}"]}).replace(
        f'"v": {CHUNK_FORMAT}'.encode(), b'"v": 2', 1)
    conn.execute("UPDATE column_chunks SET data = ? WHERE kind = 'attrs' AND first_id = ?", (old, firsts[1]))
    forget_caches()
    again = compute_board(store, spec)
    load = columns_for(store, "s").load_stats
    assert (load["chunk_rows"], load["tail_rows"]) == (2 * CHUNK_ROWS, CHUNK_ROWS + 50)
    assert_board_matches(store.records("s"), spec, again)
    assert again.summary == good.summary
    assert chunk_kinds(conn)[1] == ("core", 3)                     # sealed again by the reader
    store.close()


def test_high_cardinality_attributes_fall_back_to_sql(db_path):
    """A chunk whose calls all carry different attribute texts stores no 'attrs' chunk; grouping still
    matches the reference."""
    store = Store(db_path)
    records = make_records(CHUNK_ROWS + 30, span=3600)
    for i, r in enumerate(records[:CHUNK_ROWS]):
        r.attributes = {**r.attributes, "request_id": f"r{i}"}
    store.insert_records(records)
    assert seal_stream(store.conn, store.stream_id("s", create=False)) == (1, False)
    assert chunk_kinds(store.conn) == [("core", 1)]
    for group_by in ("team", "params.audience"):
        spec = full_spec(group_by=group_by)
        assert_board_matches(store.records("s"), spec, compute_board(store, spec))
    store.close()


def test_sealing_never_raises_into_the_writer(db_path):
    store = Store(db_path)
    store.insert_records(make_records(CHUNK_ROWS + 1, span=3600))
    sid = store.stream_id("s", create=False)
    store.close()
    ro = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    assert seal_ready_chunks(ro, [sid]) is False                 # read-only store: nothing sealed, no error
    assert not ro.in_transaction
    assert ro.execute("SELECT COUNT(*) FROM column_chunks").fetchone()[0] == 0
    ro.close()


def test_a_process_logging_few_calls_never_loads_the_boards_code(db_path):
    """The writer's hook only counts until a stream has SEAL_CHECK_EVERY new calls (no boards code, no numpy)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sqlite3, sys
        from monitor import column_seal
        from monitor.store import Store
        st = Store(sys.argv[1]); sid = st.stream_id("s"); st.close()
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        column_seal.after_commit(conn, [sid] * (column_seal.SEAL_CHECK_EVERY - 1))
        assert "monitor.boards" not in sys.modules, "the boards code loaded for a few calls"
        column_seal.after_commit(conn, [sid])
        assert "monitor.boards.chunks" in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True, timeout=120)
