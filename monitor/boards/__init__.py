"""Boards: what a board is (spec), its saved copies (repository), the numbers it shows (engine) and
board files (export).  Everything here is headless; desktop/ only draws what `BoardEngine.refresh()`
returns.

    from monitor.boards import BoardEngine, new_template_board
    spec = new_template_board(store, "my-stream")          # saved "OpenAI Monitor Board · my-stream"
    engine = BoardEngine(store, spec)
    data = engine.refresh()          # BoardData; call again on a timer: only new calls are folded in
"""
from .data import BoardData, PanelData, RequestRow, RequestsPage, Series, StatValue, Summary
from .engine import BoardEngine, auto_bucket, bucket_index, compute_board, requests_page, resolve_grid
from .export import (MAX_DEPTH, MAX_FILE_BYTES, MAX_RECORDS, BoardFileError, export_board, export_csv,
                     import_board, read_board_file)
from .repository import (BoardError, BoardExists, BoardInfo, BoardNotFound, delete_board, duplicate_board,
                         get_board, list_boards, new_template_board, rename_board, save_board, unique_board_name)
from .spec import (AGGREGATIONS, METRICS, MISSING_LABEL, OTHER_LABEL, AttributeFilter, BoardSpec, Filters, Measure,
                   Panel, TimeRange, measure_unit)
from .columns import attribute_label, record_attribute_label
from .template import TEMPLATE_NAME, template_spec

__all__ = [
    "AGGREGATIONS", "METRICS", "MISSING_LABEL", "OTHER_LABEL", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_RECORDS",
    "TEMPLATE_NAME", "AttributeFilter", "BoardData", "BoardEngine", "BoardError", "BoardExists", "BoardFileError",
    "BoardInfo", "BoardNotFound", "BoardSpec", "Filters", "Measure", "Panel", "PanelData", "RequestRow",
    "RequestsPage", "Series", "StatValue", "Summary", "TimeRange", "attribute_label", "auto_bucket",
    "bucket_index", "compute_board", "delete_board", "duplicate_board", "export_board", "export_csv",
    "get_board", "import_board", "list_boards", "measure_unit", "new_template_board", "read_board_file",
    "record_attribute_label", "rename_board", "requests_page", "resolve_grid", "save_board", "template_spec",
    "unique_board_name",
]
