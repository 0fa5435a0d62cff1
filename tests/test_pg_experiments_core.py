"""Experiments (runs, scores) on a PostgreSQL store: the tests of tests/test_experiments_core.py that take db_path."""
from tests.test_experiments_core import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.pg_twin import db_path, leave_out  # noqa: F401,E402
leave_out(globals(), "test_an_older_store_migrates")
