"""Board files (export, import, hostile files) on a PostgreSQL store: the tests of tests/test_boards_export.py that take db_path."""
from tests.test_boards_export import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.pg_twin import db_path, leave_out  # noqa: F401,E402
leave_out(globals(), "test_hostile_files_are_refused_and_change_nothing", "test_size_limits", "test_failed_write_rolls_back_everything", "test_files_that_would_break_later_commands_are_refused")
