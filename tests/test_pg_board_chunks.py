"""Column chunks on a PostgreSQL store: the tests of tests/test_boards_chunks.py that take db_path (the writer
seals, damaged chunks are rebuilt, high-cardinality attributes), and a torn chunk in the middle of the stream
on both engines — on PostgreSQL the chunks arrive as a stream, which must be read to its end even when the
reader stops using them (leaving early would abort the snapshot's transaction)."""
from __future__ import annotations

from monitor.boards import compute_board
from monitor.boards.chunks import CHUNK_ROWS, seal_stream
from monitor.boards.columns import columns_for, forget_caches
from monitor.store import Store
from tests.test_boards_chunks import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.pg_twin import db_path, leave_out  # noqa: F401,E402
from test_boards_compute import assert_board_matches, full_spec, make_records

leave_out(globals(), "test_sealing_never_raises_into_the_writer",          # sqlite3 connections of its own
          "test_a_process_logging_few_calls_never_loads_the_boards_code")


def test_a_torn_chunk_in_the_middle_is_read_past_and_rebuilt(store_at):
    store = Store(store_at)
    store.insert_records(make_records(4 * CHUNK_ROWS + 10, span=3600))
    sid = store.stream_id("s", create=False)
    assert seal_stream(store.conn, sid) == (4, False)
    spec = full_spec()
    good = compute_board(store, spec)
    firsts = [f for (f,) in store.conn.execute(
        "SELECT first_id FROM column_chunks WHERE kind = 'core' ORDER BY first_id")]
    store.conn.execute("UPDATE column_chunks SET data = substr(data, 1, 500) WHERE kind = 'core' AND first_id = ?",
                       (firsts[1],))
    forget_caches()
    again = compute_board(store, spec)
    load = columns_for(store, "s").load_stats
    assert (load["chunk_rows"], load["tail_rows"]) == (CHUNK_ROWS, 3 * CHUNK_ROWS + 10)
    assert again.summary == good.summary
    assert_board_matches(store.records("s"), spec, again)
    store.close()
