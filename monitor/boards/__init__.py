"""Boards: what a board is (spec), its saved copies (repository), the numbers it shows (engine) and
board files (export).  Everything here is headless; desktop/ only draws what `BoardEngine.refresh()`
returns.

    from monitor.boards import BoardEngine, new_template_board
    spec = new_template_board(store, "my-stream")          # saved "OpenAI Monitor Board · my-stream"
    engine = BoardEngine(store, spec)                       # on the DB worker thread
    data = engine.refresh()          # BoardData; call again on a timer: only new calls are folded in
    page = engine.requests_page(offset=0, limit=100, bucket=data.x[3], group="gpt-4o")
    record = store.record(page.rows[0].id)                  # the full Record for the detail pane

Spec (spec.py, pydantic, strict, unknown keys refused): BoardSpec(name, stream, time_range=TimeRange(kind=
"15m"|"1h"|"24h"|"7d"|"all"|"custom", start, end), bucket_s=None (auto) | seconds, filters=Filters(models,
statuses, apis, attributes=[AttributeFilter(key, value)], text), group_by=None | "model" | "status" | "api"
| attribute key (dots reach into nested dicts: "params.audience"; "attributes.model" = an attribute named
model), panels=[Panel(id, title, kind="timeseries"|"stat"|"table"|"scatter"|"top"|"score",
measures=[Measure(metric, agg, label)], chart="line"|"bar"|"area"|"points", split_by_group, columns, top_by,
top_n, score, col, row, width, height)]).  Change a spec with ``spec.updated(**fields)`` (validated).
AGGREGATIONS lists the aggregations of each metric.

Panel kinds (kinds.py): KINDS = {name: PanelKind(label, options = the spec fields it uses, compute(state,
panel, pd), html(pd, data, report), …)}; the engine, the spec's checks, the HTML report and the app's
layout dispatch through it (the app's widgets and editor rows: desktop/boards/panel_kinds.py).  A kind's
own module holds its computation and drawing: topn.py (groups of top_by ranked by the first measure, exact
sums), score_panel.py (mean of the score named `score` per bucket and group, from the scores table),
scatter.py (one point per call, at most MAX_POINTS, evenly spaced).

Saved boards (repository.py): list_boards, get_board, save_board, rename_board, duplicate_board,
delete_board, new_template_board, unique_board_name; BoardNotFound / BoardExists (one-line messages).

Data (data.py): BoardData(x = bucket starts in epoch s, bucket_s, start, end, groups, requests per
bucket, panels=[PanelData(id, kind, chart, unit, series=[Series(key, label, metric, agg, unit, group,
y)], stats=[StatValue(key, label, value, by_group)], top=[TopRow(key, values, calls)], top_by,
points=Points(x, y, group, ids, total), note)], summary=Summary(...), last_id, incremental).

Budgets (budget_spec.py, budgets.py): BoardSpec.budgets = [Budget(amount_usd, period="day"|"week"|"month",
group_by, group_value)]; budget_status(store, stream, budget, now) -> BudgetStatus(spend_usd, forecast_usd,
fraction, level 0|80|100) over the local calendar period holding `now`.

Files (export.py): export_board, import_board -> (board, stream), read_board_file, export_csv;
BoardFileError for any bad file (one line; the store is left untouched).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .columns import attribute_label, record_attribute_label
    from .data import BoardData, PanelData, RequestRow, RequestsPage, Series, StatValue, Summary
    from .engine import BoardEngine, auto_bucket, bucket_index, compute_board, requests_page, resolve_grid
    from .export import (MAX_DEPTH, MAX_FILE_BYTES, MAX_RECORDS, BoardFileError, export_board, export_csv,
                         import_board, read_board_file)
    from .repository import (BoardError, BoardExists, BoardInfo, BoardNotFound, delete_board, duplicate_board,
                             get_board, list_boards, new_template_board, rename_board, save_board, unique_board_name)
    from .spec import (AGGREGATIONS, METRICS, MISSING_LABEL, OTHER_LABEL, AttributeFilter, BoardSpec, Filters,
                       Measure, Panel, TimeRange, measure_unit)
    from .template import TEMPLATE_NAME, template_spec

# Each name is imported from its module on first use (PEP 562): `openai-monitor streams` and the app's first
# paint import `monitor.boards.cli` / `.repository` without paying for numpy and the engine.
_EXPORTS = {
    ".data": ("BoardData", "PanelData", "RequestRow", "RequestsPage", "Series", "StatValue", "Summary"),
    ".engine": ("BoardEngine", "auto_bucket", "bucket_index", "compute_board", "requests_page", "resolve_grid"),
    ".export": ("MAX_DEPTH", "MAX_FILE_BYTES", "MAX_RECORDS", "BoardFileError", "export_board", "export_csv",
                "import_board", "read_board_file"),
    ".repository": ("BoardError", "BoardExists", "BoardInfo", "BoardNotFound", "delete_board", "duplicate_board",
                    "get_board", "list_boards", "new_template_board", "rename_board", "save_board",
                    "unique_board_name"),
    ".spec": ("AGGREGATIONS", "METRICS", "MISSING_LABEL", "OTHER_LABEL", "AttributeFilter", "BoardSpec", "Filters",
              "Measure", "Panel", "TimeRange", "measure_unit"),
    ".columns": ("attribute_label", "record_attribute_label"),
    ".template": ("TEMPLATE_NAME", "template_spec"),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.boards' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
