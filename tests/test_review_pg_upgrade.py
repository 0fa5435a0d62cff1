"""Review findings on the PostgreSQL store's upgrade path (monitor/pg.py migrate): a team member who is not the
owner of the store's tables and functions must still open a store written by an older version."""
from __future__ import annotations

import psycopg
import pytest

from monitor import pg
from monitor.store import Store

MEMBER = "team_member_review"


@pytest.fixture
def shared_store(pg_cluster, pg_url):
    """A store made by its owner (postgres), with the rights a team member needs on its tables (not ownership)."""
    Store(pg_url).close()
    db = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (MEMBER,)).fetchone() is None:
            conn.execute(f"CREATE ROLE {MEMBER} LOGIN")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {MEMBER}")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {MEMBER}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {MEMBER}")
    return pg_url, f"postgresql://{MEMBER}@127.0.0.1:{pg_cluster.port}/{db}"


def test_a_member_opens_a_current_store(shared_store):
    _, member_url = shared_store
    Store(member_url).close()


def test_a_member_opens_a_store_whose_sql_functions_are_older(shared_store):
    """The store as the previous release left it (no 'sql_functions' row: its functions predate
    FUNCTIONS_VERSION).  Before the upgrade a member could open it; a member can't CREATE OR REPLACE the owner's
    functions nor ALTER its tables, and that must not lock every member out until the owner opens it."""
    owner_url, member_url = shared_store
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("DELETE FROM meta WHERE key = 'sql_functions'")
    store = Store(member_url)
    try:
        assert store.max_id() == 0
    finally:
        store.close()
    # the owner still brings the functions up to date when it opens the store
    Store(owner_url).close()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'sql_functions'").fetchone()
    assert row is not None and int(row[0]) == pg.FUNCTIONS_VERSION
