"""A test module's `db_path` tests again on PostgreSQL: `from tests.pg_twin import db_path` after
`from tests.test_x import *` makes each of them take a postgresql:// URL (a new database of the throwaway
cluster) instead of a SQLite file."""
from __future__ import annotations

import pytest


class _URL(str):
    """A URL that tests written for paths can still format (str(db), f"{db}")."""


@pytest.fixture
def db_path(pg_url):
    return _URL(pg_url)


def leave_out(namespace: dict, *names: str) -> None:
    """Tests about SQLite itself (its files, sqlite3 connections, iterdump): not twins."""
    for name in names:
        assert namespace.pop(name, None) is not None, f"{name} is no longer a test: update the list"
