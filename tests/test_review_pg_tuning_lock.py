"""Review finding: bringing an older store's SQL functions up to date also re-runs the column-chunk tuning, an
ALTER TABLE that waits for every open reader of column_chunks — while holding the store's write lock, so every
writer of the team waits too.  A session idle in a transaction (a psql user, a stuck reader) must not hang the
opening of the store."""
from __future__ import annotations

import threading

import psycopg

from monitor.store import Store


def test_an_open_reader_does_not_hang_the_upgrade(pg_url):
    Store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("DELETE FROM meta WHERE key = 'sql_functions'")     # as the previous release left it
    reader = psycopg.connect(pg_url)                                      # idle in a transaction that read chunks
    reader.execute("SELECT count(*) FROM column_chunks").fetchone()
    outcome: list[object] = []

    def open_store() -> None:
        try:
            Store(pg_url).close()
            outcome.append("opened")
        except Exception as exc:  # noqa: BLE001
            outcome.append(exc)

    opener = threading.Thread(target=open_store, daemon=True)
    try:
        opener.start()
        opener.join(30)
        assert outcome == ["opened"], "opening the store waited on a reader's transaction"
    finally:
        reader.close()
        opener.join(30)
