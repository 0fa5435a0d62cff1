"""The store, writer, CLI and board-CLI tests again, on a PostgreSQL store: every test of tests/test_store.py,
tests/test_writer.py, tests/test_cli.py and tests/test_boards_cli.py that takes the `db_path` fixture runs here
with a postgresql:// URL instead (concurrent threads and processes, SIGKILL/SIGTERM, fork, pool exit, stats,
boards).  Left out by name: the tests about SQLite itself (WAL, PRAGMAs, file locks, disk full, damaged or
newer files, writing over the store file) and those that use no store."""
from __future__ import annotations

import pytest

from tests.test_boards_cli import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.test_cli import *  # noqa: F401,F403
from tests.test_store import *  # noqa: F401,F403
from tests.test_writer import *  # noqa: F401,F403

del (test_export_never_writes_over_the_store, test_simulate_refuses_a_busy_port_and_bad_rates,  # noqa: F821
     test_installed_command_simulate_prints_base_url, test_wal_mode_and_schema_version,  # noqa: F821
     test_newer_schema_refused, test_not_a_database_refused, test_env_var_and_default_location,  # noqa: F821
     test_three_processes_starting_together_on_a_new_store, test_fork_and_exit_do_not_wait_on_another_process_lock,  # noqa: F821
     test_disk_full_is_counted_and_said_once_with_the_real_cause, test_locked_store_does_not_hold_a_fork_in_this_process,  # noqa: F821
     test_wal_with_synchronous_normal)  # noqa: F821


class _URL(str):
    """A URL that tests written for paths can still format (str(db), f"{db}")."""


@pytest.fixture
def db_path(pg_url):
    return _URL(pg_url)
