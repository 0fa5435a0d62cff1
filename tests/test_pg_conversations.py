"""Conversation threads on a PostgreSQL store: the tests of tests/test_conversations.py again with a
postgresql:// URL (previous_response_id, conversation and session links use json_extract, which monitor/pg.py
defines alike).  Left out: the SQLite query-plan test (EXPLAIN QUERY PLAN is SQLite's)."""
from __future__ import annotations

import pytest

from tests.test_conversations import *  # noqa: F401,F403  (collected again with the fixture below)

globals().pop("test_thread_lookups_are_index_searches", None)


class _URL(str):
    """A URL that tests written for paths can still format."""


@pytest.fixture
def db_path(pg_url):
    return _URL(pg_url)
