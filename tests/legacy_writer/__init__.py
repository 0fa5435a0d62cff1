"""Frozen copies of the writer's record-building code before its fast paths (see test_writer_same_records.py)."""
