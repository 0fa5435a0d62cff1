"""The Requests table stays cheap for the GUI thread while calls land (issue 10, "No stalls"): a burst of
new calls is one row insert, and a repaint asks the model once per cell (multiData), not once per role."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan, Qt
from PySide6.QtWidgets import QTableView

from desktop.requests import RequestsPage
from desktop.requests.model import COLUMNS, RequestsModel

try:
    from tests.app_helpers import insert, make_context, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record

STREAM = "bench/experiment"
T0 = 1_700_000_000.0


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


@pytest.fixture
def page(qtbot, ctx):
    widget = RequestsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def test_a_burst_of_new_calls_lands_as_one_insert_per_contiguous_run(qtbot, ctx, page):
    insert(ctx.db_path, [make_record(STREAM, i, ts=T0 + i) for i in range(5)])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 5)
    inserts: list[tuple[int, int]] = []
    page.model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))

    # 30 new calls on top, and 2 backdated ones that belong between the calls already shown.
    insert(ctx.db_path, [make_record(STREAM, 100 + i, ts=T0 + 100 + i) for i in range(30)]
           + [make_record(STREAM, 200, ts=T0 + 2.5), make_record(STREAM, 201, ts=T0 + 2.6)])
    page.model.refresh_new()
    qtbot.waitUntil(lambda: page.model.rowCount() == 37, timeout=5000)

    assert inserts == [(0, 29), (32, 33)]          # two runs, not 32 single-row inserts
    stamps = [r.ts for r in page.model.rows]
    assert stamps == sorted(stamps, reverse=True)
    assert page.model.total == 37 and len({r.id for r in page.model.rows}) == 37


def test_multi_data_answers_what_data_answers_for_every_painted_role(qtbot, ctx, page):
    insert(ctx.db_path, [make_record(STREAM, 1, ts=T0), make_record(STREAM, 2, ts=T0 + 1, status="error",
                                                                      error="RateLimitError: 429", cost_usd=None)])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    roles = [Qt.DisplayRole, Qt.TextAlignmentRole, Qt.ForegroundRole, Qt.FontRole, Qt.BackgroundRole,
             Qt.DecorationRole, Qt.CheckStateRole]
    for row in range(2):
        for col in range(len(COLUMNS)):
            index = page.model.index(row, col)
            for role in roles:
                answered = QModelRoleData(int(role))
                page.model.multiData(index, QModelRoleDataSpan(answered))
                assert answered.data() == page.model.data(index, role), (row, col, role)


def test_a_repaint_asks_once_per_cell_not_once_per_role(qtbot, ctx, page):
    insert(ctx.db_path, [make_record(STREAM, i, ts=T0 + i) for i in range(40)])
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == 40)
    calls = {"data": 0, "multiData": 0}

    class Counting(RequestsModel):
        def data(self, index, role=Qt.DisplayRole):
            calls["data"] += 1
            return super().data(index, role)

        def multiData(self, index, span):
            calls["multiData"] += 1
            return super().multiData(index, span)

    model = Counting(ctx.db)
    model.beginResetModel()
    model.rows = list(page.model.rows)
    model.endResetModel()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    calls.update(data=0, multiData=0)
    view.grab()
    assert calls["multiData"] >= 10 * len(COLUMNS)          # every visible cell: one call each
    assert calls["data"] == 0
