"""The Requests table's model: row ids plus a few display fields, loaded a page at a time.

As Anki's browser does, the model keeps only what the visible rows need; the full record (messages,
output, parameters) is read for the selected row alone.  Pages are fetched on the DB lane (desktop/tasks.py), newest
first by call time, with keyset pagination on (ts, id) — the order of the store's (stream_id, ts) index,
so a page is an index walk, never a sort: a stream of a million calls costs one page to open and one
page per scroll to the bottom.  Calls logged since the last look (id > the highest id seen) are
prepended as the store's watcher reports them.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from monitor import queries
from monitor.queries import CallFilter as RequestFilter
from monitor.store import Store

from .. import formatting as fmt
from .. import tasks
from ..style import MUTED, status_color

PAGE_SIZE = 200
LIVE_LIMIT = 1000          # more new calls than this at once: reload instead of prepending
ID_ROLE = Qt.UserRole + 1


@dataclass(frozen=True)
class Row:
    id: int
    ts: float
    time: str
    model: str
    api: str
    status: str
    status_text: str
    error: str | None
    prompt_tokens: str
    completion_tokens: str
    cached_tokens: int | None
    reasoning_tokens: int | None
    estimated: bool
    cost: str
    cost_known: bool
    latency: str
    ttft: str
    attributes: str


def query_rows(store: Store, flt: RequestFilter, *, before: tuple[float, int] | None = None,
               after_id: int | None = None, limit: int = PAGE_SIZE) -> list[Row]:
    """Runs on the DB lane: one page of rows, newest first, display strings made there, not on the GUI thread."""
    now = time.time()
    return [_row(r, now) for r in queries.list_calls(store, flt, before=before, after_id=after_id, limit=limit)]


def _order(row: Row) -> tuple[float, int]:
    """The table's sort key: newest first by call time, then by id."""
    return (-row.ts, -row.id)


def _with_max_id(store: Store, query) -> tuple[list[Row], int]:
    """The store's highest id read before the query: anything later is caught by the next live update."""
    max_id = store.max_id()
    return query(), max_id


def _row(r: tuple, now: float) -> Row:
    (rid, ts, model, api, status, error, prompt, completion, cached, reasoning, estimated, cost,
     latency, ttft, attributes) = r
    try:
        attrs = json.loads(attributes) if attributes else {}
    except ValueError:
        attrs = {}
    estimated = bool(estimated)
    return Row(
        id=rid, ts=ts, time=fmt.when(ts, now), model=model or fmt.UNKNOWN, api=api, status=status,
        status_text=fmt.status(status, error), error=error,
        prompt_tokens=fmt.tokens(prompt, estimated), completion_tokens=fmt.tokens(completion, estimated),
        cached_tokens=cached, reasoning_tokens=reasoning, estimated=estimated,
        cost=fmt.cost(cost, estimated), cost_known=cost is not None,
        latency=fmt.ms(latency), ttft=fmt.ms(ttft),
        attributes=fmt.attributes_summary(attrs) if isinstance(attrs, dict) else "",
    )


# (title, Row field, right-aligned)
COLUMNS = (
    ("Time", "time", False), ("Model", "model", False), ("API", "api", False), ("Status", "status_text", False),
    ("Prompt tok", "prompt_tokens", True), ("Compl. tok", "completion_tokens", True), ("Cost", "cost", True),
    ("Latency", "latency", True), ("TTFT", "ttft", True), ("Attributes", "attributes", False),
)
STATUS_COLUMN = 3
_FIELDS = [c[1] for c in COLUMNS]
_ALIGNMENTS = [int((Qt.AlignRight if c[2] else Qt.AlignLeft) | Qt.AlignVCenter) for c in COLUMNS]
_DISPLAY, _ALIGNMENT, _FOREGROUND, _TOOLTIP = (int(r) for r in (Qt.DisplayRole, Qt.TextAlignmentRole,
                                                                Qt.ForegroundRole, Qt.ToolTipRole))
TOKEN_COLUMNS = (4, 5)
COST_COLUMN = 6
TTFT_COLUMN = 8


@lru_cache(maxsize=1)
def _muted() -> QColor:
    return QColor(MUTED)


_status_color = lru_cache(maxsize=64)(status_color)     # one QColor per status, not one per painted cell


class RequestsModel(QAbstractTableModel):
    totalChanged = Signal(int)        # calls matching the filter (counted on the worker)
    firstPageLoaded = Signal()
    loadFailed = Signal(str)

    def __init__(self, db: tasks.DbLane, parent=None):
        super().__init__(parent)
        self.db = db
        self.filter = RequestFilter()
        self.rows: list[Row] = []
        self.total = 0
        self._ids: set[int] = set()
        self._max_id = 0                  # highest id seen: where live updates look from
        self._tasks: list[tasks.Task] = []   # in flight; cancelled when the filter changes
        self._loading_first = False
        self._fetching = False
        self._prepending = False
        self._has_more = False
        self._dirty = False               # calls landed while a load was running: look again after it
        self.pages_fetched = 0            # for tests and the curious: proves laziness

    # -- loading ----------------------------------------------------------------------------------
    def set_filter(self, flt: RequestFilter) -> None:
        self.filter = flt
        self.reload()

    def _query(self, fn, on_done, key: str | None = None) -> None:
        """A DB-lane op whose answer is dropped once the model reloads (or a newer op has the same key)."""
        op = tasks.QueryOp(self.db, fn, parent=self, success=on_done).failure(self._on_load_failed)
        if key is not None:
            op.latest(key)
        self._tasks = [t for t in self._tasks if not t.done]
        self._tasks.append(op.run_in_background())

    def reload(self) -> None:
        for task in self._tasks:           # answers for the old filter must not land in the new table
            task.cancel()
        self._tasks = []
        self.beginResetModel()
        self.rows, self._ids, self._max_id = [], set(), 0
        self._has_more = self._fetching = self._prepending = self._dirty = False
        self.pages_fetched = 0
        self.endResetModel()
        self.total = 0
        self.totalChanged.emit(0)
        if not self.filter.stream:
            self._loading_first = False
            return
        self._loading_first = True
        flt = self.filter
        self._query(lambda s: _with_max_id(s, lambda: query_rows(s, flt)),
                    lambda result: self._on_first_page_loaded(*result), key="first")
        self._count()

    def _count(self) -> None:
        flt = self.filter
        self._query(lambda s: queries.count_calls(s, flt), self._on_total_counted, key="count")

    def canFetchMore(self, parent=QModelIndex()) -> bool:
        return not parent.isValid() and self._has_more and not self._fetching and not self._loading_first

    def fetchMore(self, parent=QModelIndex()) -> None:
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        flt, last = self.filter, self.rows[-1]
        before = (last.ts, last.id)
        self._query(lambda s: query_rows(s, flt, before=before), self._on_page_fetched)

    def refresh_new(self) -> None:
        """New calls may have landed: put those that match the filter in their place (usually the top)."""
        if not self.filter.stream:
            return
        if self._loading_first or self._prepending:
            self._dirty = True
            return
        self._prepending = True
        flt, after = self.filter, self._max_id
        self._query(lambda s: _with_max_id(s, lambda: query_rows(s, flt, after_id=after, limit=LIVE_LIMIT)),
                    lambda result: self._on_new_rows_loaded(*result))

    # -- lane answers (GUI thread) ------------------------------------------------------------------
    def _on_first_page_loaded(self, rows: list[Row], max_id: int) -> None:
        self._loading_first = False
        self._max_id = max_id
        self.pages_fetched += 1
        self._has_more = len(rows) == PAGE_SIZE
        self._append(rows)
        self.firstPageLoaded.emit()
        self._after_load()

    def _on_page_fetched(self, rows: list[Row]) -> None:
        self._fetching = False
        self.pages_fetched += 1
        self._has_more = len(rows) == PAGE_SIZE
        self._append(rows)

    def _on_new_rows_loaded(self, rows: list[Row], max_id: int) -> None:
        self._prepending = False
        if len(rows) >= LIVE_LIMIT:        # a flood (an import, a benchmark): start over from the top
            self.reload()
            return
        self._max_id = max(self._max_id, max_id)
        rows = [r for r in rows if r.id not in self._ids]
        self._insert_in_place(rows)
        if rows:
            self.total += len(rows)
            self.totalChanged.emit(self.total)
        self._after_load()

    def _insert_in_place(self, rows: list[Row]) -> None:
        """Put new rows where their time is (usually the top), one insert per contiguous run: a burst of calls
        is one rowsInserted and one relayout, not one per call."""
        rows = sorted(rows, key=_order)
        if self._has_more and self.rows:        # older than everything loaded: the next page brings it
            rows = [r for r in rows if _order(r) < _order(self.rows[-1])]
        if not rows:
            return
        merged = sorted([*self.rows, *rows], key=_order)     # timsort: two sorted runs merge in linear time
        new_ids = {r.id for r in rows}
        positions = [i for i, r in enumerate(merged) if r.id in new_ids]
        runs: list[list[int]] = []
        for pos in positions:
            if runs and pos == runs[-1][-1] + 1:
                runs[-1].append(pos)
            else:
                runs.append([pos])
        for run in runs:                        # ascending: each run's final positions are valid when it lands
            self.beginInsertRows(QModelIndex(), run[0], run[-1])
            self.rows[run[0]:run[0]] = [merged[p] for p in run]
            self.endInsertRows()
        self._ids.update(new_ids)

    def _on_total_counted(self, n: int) -> None:
        self.total = max(n, len(self.rows))
        self.totalChanged.emit(self.total)

    def _on_load_failed(self, exc: BaseException) -> None:
        self._loading_first = self._fetching = self._prepending = False
        self.loadFailed.emit(f"{type(exc).__name__}: {exc}")

    def _append(self, rows: list[Row]) -> None:
        rows = [r for r in rows if r.id not in self._ids]
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
        self._ids.update(r.id for r in rows)
        self.endInsertRows()

    def _after_load(self) -> None:
        if self._dirty:
            self._dirty = False
            self.refresh_new()

    # -- lookups --------------------------------------------------------------------------------------
    def record_id(self, row: int) -> int | None:
        return self.rows[row].id if 0 <= row < len(self.rows) else None

    def row_of(self, record_id: int) -> int | None:
        for i, r in enumerate(self.rows):
            if r.id == record_id:
                return i
        return None

    # -- Qt model ----------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section][0]
        if orientation == Qt.Horizontal and role == Qt.TextAlignmentRole:
            return int((Qt.AlignRight if COLUMNS[section][2] else Qt.AlignLeft) | Qt.AlignVCenter)
        return None

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row, col, role = self.rows[index.row()], index.column(), int(role)
        if role == ID_ROLE:
            return row.id
        if role == _TOOLTIP:
            return self._tooltip(row, col)
        return self._cell(row, col, role)

    def multiData(self, index: QModelIndex, span) -> None:  # noqa: N802 (Qt's name)
        """A repaint asks for all of a cell's roles in one call (see item_models): ~300 calls, not ~2,000."""
        r = index.row()
        if not 0 <= r < len(self.rows):
            return
        row, col = self.rows[r], index.column()
        for role_data in span:
            value = self._cell(row, col, role_data.role())
            if value is not None:
                role_data.setData(value)

    @staticmethod
    def _cell(row: Row, col: int, role: int):
        """What a repaint needs; plain ints for roles (a Qt enum lookup per call costs more than the answer)."""
        if role == _DISPLAY:
            return getattr(row, _FIELDS[col])
        if role == _ALIGNMENT:
            return _ALIGNMENTS[col]
        if role == _FOREGROUND:
            if col == STATUS_COLUMN:
                return _status_color(row.status)
            if getattr(row, _FIELDS[col]) == fmt.UNKNOWN:
                return _muted()
        return None

    def _tooltip(self, row: Row, col: int) -> str | None:
        if col == 0:
            return fmt.full_time(row.ts)
        if col == STATUS_COLUMN and row.error:
            return row.error
        if col == COST_COLUMN and not row.cost_known:
            return fmt.NO_PRICE_TIP
        if col in (*TOKEN_COLUMNS, COST_COLUMN) and row.estimated:
            return fmt.ESTIMATED_TIP
        if col == TOKEN_COLUMNS[0] and row.cached_tokens:
            return f"{row.cached_tokens:,} cached"
        if col == TOKEN_COLUMNS[1] and row.reasoning_tokens:
            return f"{row.reasoning_tokens:,} reasoning"
        if col == TTFT_COLUMN and row.ttft == fmt.UNKNOWN:
            return "time to first token: streamed calls only"
        if col == len(COLUMNS) - 1 and row.attributes:
            return row.attributes
        return None
