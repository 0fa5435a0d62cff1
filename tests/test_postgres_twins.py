"""The store, writer, CLI, board-CLI, board-engine and `experiment run` tests again, on a PostgreSQL store: every test of tests/test_store.py,
tests/test_writer.py, tests/test_cli.py and tests/test_boards_cli.py (and two of tests/test_experiments_cli.py) that takes the `db_path` fixture runs here
with a postgresql:// URL instead (concurrent threads and processes, SIGKILL/SIGTERM, fork, pool exit, stats,
boards).  Left out by name: the tests about SQLite itself (WAL, PRAGMAs, file locks, disk full, damaged or
newer files, writing over the store file) and those that use no store."""
from __future__ import annotations

import pytest

from tests.test_boards_cli import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.test_cli import *  # noqa: F401,F403
from tests.test_experiments_cli import test_a_failing_assert_exits_1, test_all_pass_exits_0_with_the_contract_json  # noqa: F401
from tests.test_store import *  # noqa: F401,F403
from tests.test_writer import *  # noqa: F401,F403

for _name in ("test_export_never_writes_over_the_store", "test_simulate_refuses_a_busy_port_and_bad_rates",
              "test_installed_command_simulate_prints_base_url", "test_wal_mode_and_schema_version",
              "test_newer_schema_refused", "test_not_a_database_refused", "test_env_var_and_default_location",
              "test_three_processes_starting_together_on_a_new_store",
              "test_fork_and_exit_do_not_wait_on_another_process_lock",
              "test_disk_full_is_counted_and_said_once_with_the_real_cause",
              "test_locked_store_does_not_hold_a_fork_in_this_process", "test_wal_with_synchronous_normal",
              "test_after_the_disk_frees_up_health_is_well_again_and_flush_did_not_repeat_itself"):
    globals().pop(_name, None)       # (a renamed test simply runs here too)


# The board engine on PostgreSQL, its column-chunk cache included: these tests of tests/test_boards_compute.py.
import tests.test_boards_compute as _compute  # noqa: E402

for _name in ("test_every_measure_matches_independent_computation", "test_filters_match_independent_computation",
              "test_template_summary_agrees_with_stream_stats", "test_template_over_all_time_matches_reference",
              "test_exact_percentiles_on_small_data", "test_example4_grid_grouped_by_system_prompt",
              "test_requests_page_newest_first_and_click_filters", "test_incremental_refresh_equals_full_computation",
              "test_new_group_appears_live", "test_live_update_from_another_process",
              "test_board_over_a_stream_without_calls", "test_text_search_finds_non_ascii_and_ignores_request_keys",
              "test_requests_page_ties_on_time_are_ordered_by_id", "test_column_chunks_survive_restart_and_match",
              "test_deleting_a_stream_drops_its_column_chunks"):
    if hasattr(_compute, _name):
        globals()[_name] = getattr(_compute, _name)
store, _fresh_caches = _compute.store, _compute._fresh_caches        # its fixtures


class _URL(str):
    """A URL that tests written for paths can still format (str(db), f"{db}")."""


@pytest.fixture
def db_path(pg_url):
    return _URL(pg_url)
