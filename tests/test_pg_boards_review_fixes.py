"""Board fixes from review, on a PostgreSQL store: the tests of tests/test_boards_review_fixes.py that take db_path."""
from tests.test_boards_review_fixes import *  # noqa: F401,F403  (collected again with the fixture below)
from tests.pg_twin import db_path, leave_out  # noqa: F401,E402
