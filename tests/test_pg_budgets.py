"""Budgets on a PostgreSQL store: every test of tests/test_budgets.py that takes the `db_path` fixture runs
here with a postgresql:// URL (attribute groups use SQLite's JSON functions, which monitor/pg.py defines
alike), plus the SQLite JSON functions themselves compared value by value with SQLite's."""
from __future__ import annotations

import json
import sqlite3

import pytest

from monitor.store import Store
from tests.test_budgets import *  # noqa: F401,F403  (collected again with the fixture below)


class _URL(str):
    """A URL that tests written for paths can still format."""


@pytest.fixture
def db_path(pg_url):
    return _URL(pg_url)


DOCS = ['{"user": "alice"}', '{"user": 3}', '{"user": -2.5}', '{"user": 1e-05}', '{"user": true}',
        '{"user": false}', '{"user": null}', '{"user": {"a": 1, "b": [1, 2]}}', '{"user": [1, "x"]}',
        '{"user.name": "top", "user": {"name": "nested"}}', '{}', '[{"user": "in an array"}]', '',
        '{"params": {"audience": "kids"}}', '{"user": "zo\\u00eb \\"q\\""}']
PATHS = ['$."user"', '$."user.name"', '$."user"."name"', '$.user.name', '$."params"."audience"', '$.session']


def test_json_functions_agree_with_sqlite(pg_url):
    pg = Store(pg_url).conn
    lite = sqlite3.connect(":memory:")
    for doc in DOCS:
        assert bool(pg.execute("SELECT json_valid(?)", (doc,)).fetchone()[0]) == \
            bool(lite.execute("SELECT json_valid(?)", (doc,)).fetchone()[0]), doc
        if not doc:
            continue
        for path in PATHS:
            want_type, want = lite.execute("SELECT json_type(?, ?), json_extract(?, ?)", (doc, path, doc, path)).fetchone()
            got_type, got = pg.execute("SELECT json_type(?, ?), json_extract(?, ?)", (doc, path, doc, path)).fetchone()
            assert got_type == want_type, (doc, path)
            if want_type in ("object", "array"):
                assert json.loads(got) == json.loads(want), (doc, path)
            elif want_type in ("integer", "real"):
                assert float(got) == want, (doc, path)
            elif want_type not in ("true", "false"):       # SQLite gives 1/0 for those; the type says it
                assert got == want, (doc, path)
    assert pg.execute("SELECT json_valid(NULL)").fetchone()[0] is None


def test_functions_of_an_older_store_are_made_again(pg_url):
    """A store made before json_type existed gets it when a newer process opens it."""
    from monitor import pg

    conn = Store(pg_url).conn
    conn.execute("DROP FUNCTION json_type(text, text)")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'sql_functions'")
    conn.close()
    again = Store(pg_url).conn
    assert again.execute("SELECT json_type('{\"a\": 1}', '$.a')").fetchone()[0] == "integer"
    assert again.execute("SELECT value FROM meta WHERE key = 'sql_functions'").fetchone()[0] == str(pg.FUNCTIONS_VERSION)
