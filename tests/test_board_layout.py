"""The board page on real data at real window sizes: the header never widens the page, the wheel scrolls,
sparse data shows, numbers read in their unit, and the small things a user hit (read-out, drill-down chip,
messages).  Real widgets on a real store (pytest-qt, offscreen), fixed timestamps."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QScrollArea

from desktop import formatting as fmt
from desktop.boards.timeseries import TimeseriesChart
from desktop.boards.units import format_value, tick
from desktop.main_window import MainWindow
from desktop.requests.reply_view import record_html
from monitor.boards import Panel, TimeRange
from monitor.boards.repository import new_template_board

try:
    from tests.app_helpers import insert, make_context, make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record

STREAM = "my-team/weave/openai_logs"
LONG_NAME = "OpenAI Monitor Board · my-team/weave/openai_logs (imported from alice's laptop, March)"
T0 = 1_780_000_000.0 // 3600 * 3600           # a fixed whole hour: the same buckets on every run, any time zone
LONG_MESSAGE = ("Exported 1,234 calls to my-team-weave-openai_logs-board-2026-03-10-export-final-final.json "
                "(no prompts or outputs)")


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def calls(n: int, spread_s: float = 3600.0, **overrides):
    return [make_record(STREAM, i, ts=T0 + 600 + i * spread_s / max(n, 1), latency_ms=900.0 + 400 * (i % 3),
                        cost_usd=0.00003 * (1 + i % 4), model=["gpt-4o-mini", "gpt-4o"][i % 2], **overrides)
            for i in range(n)]


def wait_drawn(qtbot, page, timeout: int = 8000) -> None:
    qtbot.waitUntil(lambda: page.spec is not None and page.data is not None
                    and page.drawn_spec is page.spec, timeout=timeout)


def open_board(qtbot, ctx, n: int, width: int = 1360, name: str = LONG_NAME):
    insert(ctx.db_path, calls(n))
    ctx.db.call(lambda store: new_template_board(store, STREAM, name=name))
    window = MainWindow(ctx, stream=STREAM)
    qtbot.addWidget(window)
    window.resize(width, 860)
    window.show()
    window.show_page("boards")
    page = window.page("boards")
    wait_drawn(qtbot, page)
    assert page.update_board(time_range=TimeRange(kind="custom", start=T0, end=T0 + 3 * 3600))
    wait_drawn(qtbot, page)
    return window, page


def page_scroll_area(window) -> QScrollArea:
    area = window.stack.currentWidget()
    assert isinstance(area, QScrollArea)
    return area


# -- 1. the layout never breaks -----------------------------------------------------------------------------
@pytest.mark.parametrize("width", [1024, 1360, 1920])
def test_the_header_never_widens_the_page_and_every_action_stays_reachable(qtbot, ctx, width):
    window, page = open_board(qtbot, ctx, 2, width)
    page.header.imported_tag.show()
    page._say(LONG_MESSAGE, ok=True)
    qtbot.wait(50)
    area = page_scroll_area(window)
    qtbot.waitUntil(lambda: page.width() <= area.viewport().width())
    assert area.horizontalScrollBar().maximum() == 0, (page.minimumSizeHint().width(), area.viewport().width())
    header = page.header
    assert header.width() <= area.viewport().width()
    assert header.minimumSizeHint().width() <= header.width()
    assert page.toolbar.geometry().right() <= area.viewport().width()
    # a long name and a long message elide (the whole text in the tooltip) instead of pushing the buttons out
    assert header.title.text() != LONG_NAME and LONG_NAME in header.title.toolTip()
    assert header.message.full_text == LONG_MESSAGE and header.message.toolTip() == LONG_MESSAGE
    assert "openai_logs" in header.stream_label.text() or "…" in header.stream_label.text()
    rect = header.rect()
    export = header.export_button
    assert export.isVisible() and rect.contains(export.geometry())
    for button, text in ((header.add_panel_button, "Add panel"), (header.duplicate_button, "Duplicate"),
                         (header.delete_button, "Delete")):
        if button.isVisible():
            assert rect.contains(button.geometry())
            assert not button.geometry().intersects(export.geometry())
        else:                                                  # folded into the ⋯ menu
            assert header.more_button.isVisible() and rect.contains(header.more_button.geometry())
            assert any(a.text().startswith(text) for a in header.more_menu.actions())
    if width >= 1360:
        assert header.delete_button.isVisible()               # the wide window keeps its buttons
    # the cards and the right-hand charts are inside the viewport
    summary = page.view.frames["summary"]
    tiles = summary.body.tiles
    right = max(t.mapTo(page.view.canvas, t.rect().topRight()).x() for t in tiles.values())
    assert right <= page.view.viewport().width()
    error_tile = tiles["errors.ratio"]
    assert error_tile.isVisible() and error_tile.width() > 60


def test_the_overflow_menu_runs_the_folded_actions(qtbot, ctx, monkeypatch):
    window, page = open_board(qtbot, ctx, 2, 1024)
    page.resize(700, page.height())
    window.resize(900, 860)
    qtbot.waitUntil(lambda: page.header.more_button.isVisible())
    asked = []
    monkeypatch.setattr("desktop.boards.page.QMessageBox.question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.Cancel)
    next(a for a in page.header.more_menu.actions() if a.text().startswith("Delete")).trigger()
    assert len(asked) == 1 and "Delete the board" in asked[0]


# -- 2. scrolling scrolls ------------------------------------------------------------------------------------
def wheel(widget, dy: int, modifiers=Qt.NoModifier) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, dy),
                        Qt.NoButton, modifiers, Qt.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_chart_scrolls_the_board_and_ctrl_wheel_zooms(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 25, 1360)
    chart = page.view.charts()["latency"]
    bar = page.view.verticalScrollBar()
    assert bar.maximum() > 0
    before_range = chart.view_box.viewRange()[0]
    wheel(chart.plot.viewport(), -120)
    qtbot.waitUntil(lambda: bar.value() > 0)
    assert chart.view_box.viewRange()[0] == before_range           # the chart did not zoom
    assert not chart.reset_button.isVisible()

    wheel(chart.plot.viewport(), 240, Qt.ControlModifier)          # Ctrl+wheel zooms time, in every chart
    (x0, x1) = chart.view_box.viewRange()[0]
    assert x1 - x0 < before_range[1] - before_range[0]
    other = page.view.charts()["requests"]
    assert other.view_box.viewRange()[0] == pytest.approx([x0, x1])
    qtbot.waitUntil(lambda: chart.reset_button.isVisible() and other.reset_button.isVisible())

    # a new time range is shown whole (and followed), zoom or not
    assert page.update_board(time_range=TimeRange(kind="custom", start=T0 - 3600, end=T0 + 4 * 3600))
    wait_drawn(qtbot, page)
    (x0, x1) = chart.view_box.viewRange()[0]
    assert x0 <= T0 - 3600 + 300 and x1 >= T0 + 4 * 3600 - 300
    assert not chart.reset_button.isVisible()

    wheel(chart.plot.viewport(), 240, Qt.ControlModifier)
    qtbot.waitUntil(lambda: chart.reset_button.isVisible())
    qtbot.mouseClick(chart.reset_button, Qt.LeftButton)
    (x0, x1) = chart.view_box.viewRange()[0]
    assert x0 <= T0 - 3600 + 300 and x1 >= T0 + 4 * 3600 - 300 and not other.reset_button.isVisible()


# -- 3. sparse data is visible --------------------------------------------------------------------------------
def axis_labels(chart: TimeseriesChart) -> list[str]:
    axis = chart.axis
    lo, hi = chart.view_box.viewRange()[1]
    out = []
    for spacing, values in axis.tickValues(lo, hi, chart.view_box.height()):
        out += axis.tickStrings(values, 1.0, spacing)
    return out


@pytest.mark.parametrize("n", [2, 25])
def test_sparse_series_draw_points_and_axes_read_distinct_ticks(qtbot, ctx, n):
    window, page = open_board(qtbot, ctx, n, 1360)
    latency = page.view.charts()["latency"]
    for curve in latency.curves.values():
        if np.isfinite(np.asarray(curve.y, dtype=float)).any():
            assert curve.item.opts["symbol"] == "o"                  # isolated buckets show as dots
            assert curve.item.scatter.points().size > 0
    for key, chart in page.view.charts().items():
        labels = axis_labels(chart)
        assert labels, key
        assert len(labels) == len(set(labels)), (key, labels)        # never "1.36 s" five times
        assert not any(t.startswith(("-", "−")) for t in labels), (key, labels)
        assert not any("e-" in t or "e+" in t for t in labels), (key, labels)
        lo, hi = chart.view_box.viewRange()[1]
        assert hi > 0 and lo <= 0
    requests = axis_labels(page.view.charts()["requests"])
    assert all(float(t.replace(",", "")) == int(float(t.replace(",", ""))) for t in requests), requests
    latency_labels = axis_labels(latency)
    assert all(t.endswith(" s") for t in latency_labels) or all(t.endswith(" ms") for t in latency_labels)


def test_a_long_series_dots_only_its_isolated_values(qtbot, ctx):
    minutes = list(range(10, 70)) + [80, 90, 100]                     # an hour of neighbours, then 3 lone buckets
    insert(ctx.db_path, [make_record(STREAM, i, ts=T0 + m * 60 + 5, latency_ms=900.0 + 10 * i)
                         for i, m in enumerate(minutes)])
    window, page = open_board(qtbot, ctx, 0, 1360)
    assert page.update_board(bucket_s=60)
    wait_drawn(qtbot, page)
    chart = page.view.charts()["latency"]
    curve = chart.curves["latency_ms.p50"]
    y = np.asarray(curve.y, dtype=float)
    finite = np.isfinite(y)
    lone = finite & ~np.concatenate(([False], finite[:-1])) & ~np.concatenate((finite[1:], [False]))
    assert finite.sum() == 63 and lone.sum() == 3
    assert curve.item.opts["symbol"] is None                           # no dot on every value of a long line
    xs, ys = curve.dots.getData()
    assert len(xs) == int(lone.sum())
    np.testing.assert_allclose(ys, y[lone])


def test_points_is_a_chart_style(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 60, 1360)
    panel = page.spec.panel("latency").model_copy(update={"chart": "points"})
    assert page.replace_panel(panel)
    wait_drawn(qtbot, page)
    chart = page.view.charts()["latency"]
    curve = next(iter(chart.curves.values()))
    assert curve.item.opts["symbol"] == "o" and curve.item.opts["pen"] is None
    assert Panel.model_validate(panel.model_dump()).chart == "points"


# -- 4. numbers read like money and time ---------------------------------------------------------------------
def test_ticks_and_values_read_in_their_unit():
    assert [tick(v, "USD", 2e-5) for v in (0, 2e-5, 4e-5, 6e-5)] == ["$0", "$0.00002", "$0.00004", "$0.00006"]
    assert [tick(v, "USD", 0.5) for v in (0.5, 1.0, 1.5)] == ["$0.50", "$1.00", "$1.50"]
    assert [tick(v, "ms", 500) for v in (500, 1000, 1500)] == ["0.5 s", "1.0 s", "1.5 s"]
    assert len({tick(v, "ms", 10) for v in (1350, 1360, 1370)}) == 3
    assert tick(0.25, "ratio", 0.25) == "25%" and tick(-1e-18, "ratio", 0.25) == "0%"
    assert tick(0.5, "requests/min", 0.1) == "0.5" and tick(2, "tokens", 1) == "2"
    assert fmt.plural(1, "call") == "1 call" and fmt.plural(2, "call") == "2 calls"
    assert format_value(2266, "ms") == "2,266 ms"


def test_a_panel_reads_one_time_unit_and_one_call_is_singular(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 1, 1360)
    assert "1 call ·" in page.toolbar.live.text()
    tiles = page.view.frames["summary"].body.tiles
    assert tiles["errors.ratio"].note.full_text == "0 of 1 call"
    chart = page.view.charts()["latency"]
    axis_labels(chart)                                   # the axis decides seconds or milliseconds
    i = int(np.flatnonzero(np.isfinite(chart.curves["latency_ms.p50"].y))[0])
    text = chart._readout_html(i, None)
    units = {" s<" in text, " ms<" in text}
    assert units == {True, False}                         # one unit in the read-out, as on the axis


def test_a_latency_tile_and_its_note_share_one_unit(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 6, 1360)          # latencies 900, 1,300 and 1,700 ms
    tile = page.view.frames["summary"].body.tiles["latency_ms.avg"]
    assert tile.value.text().endswith(" s") and "ms" not in tile.value.text()
    note = tile.note.full_text
    assert note.startswith("p50 ") and note.count(" s") == 2 and "ms" not in note, note
    assert tile.note.toolTip() == note                       # a narrow tile elides it, the tooltip keeps it


# -- 5. small things ------------------------------------------------------------------------------------------
def hover(chart: TimeseriesChart, bucket_index: int) -> None:
    d = chart.data
    vb = chart.view_box
    x = float(d.x[bucket_index] + d.bucket_s / 2)
    y = float(np.mean(vb.viewRange()[1]))
    chart._on_scene_mouse_moved((vb.mapViewToScene(QPointF(x, y)),))


def test_the_hover_read_out_goes_when_the_mouse_leaves_and_after_a_regroup(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 25, 1360)
    chart = page.view.charts()["requests"]
    i = int(np.flatnonzero(np.nan_to_num(next(iter(chart.curves.values())).y) > 0)[0])
    hover(chart, i)
    assert chart.readout.isVisible()
    QApplication.sendEvent(chart.plot.viewport(), QEvent(QEvent.Leave))
    assert not chart.readout.isVisible() and not chart.hover_line.isVisible()
    hover(chart, i)
    assert chart.readout.isVisible()
    assert page.update_board(group_by="model")
    wait_drawn(qtbot, page)
    assert not chart.readout.isVisible()


def test_a_chart_click_shows_a_chip_at_the_top_that_undoes_it(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 25, 1360)
    chart = page.view.charts()["requests"]
    table = page.view.tables()[0]
    qtbot.waitUntil(lambda: table.model.total == 25, timeout=5000)
    i = int(np.flatnonzero(np.nan_to_num(next(iter(chart.curves.values())).y) > 0)[0])
    chart.click_bucket(i)
    chip = page.toolbar.drill_chip
    assert chip.isVisibleTo(page) and chip.text().startswith("Table: ") and "✕" in chip.text()
    assert table.chip.text().startswith("Filtered to ")
    qtbot.waitUntil(lambda: table.model.total < 25, timeout=5000)
    qtbot.mouseClick(chip, Qt.LeftButton)
    qtbot.waitUntil(lambda: table.model.total == 25, timeout=5000)
    assert not chip.isVisibleTo(page) and table.bucket is None


def test_a_message_about_one_board_goes_when_another_opens(qtbot, ctx):
    window, page = open_board(qtbot, ctx, 2, 1360, name="Costs")
    page._say("Renamed to “Costs”", ok=True)
    assert page.header.message.full_text
    name = page.spec.name
    page._on_duplicate_requested()
    qtbot.waitUntil(lambda: page.spec is not None and page.spec.name != name, timeout=5000)
    assert page.header.message.full_text == ""


def test_a_numbers_only_record_says_its_content_was_not_exported():
    record = make_record(STREAM, 1, request={"model": "gpt-4o-mini"}, output=None)
    text = record_html(record).html
    assert "not included in this file" in text and "(empty)" not in text
    live = record_html(make_record(STREAM, 2, output="")).html
    assert "(empty)" in live and "not included" not in live
