"""The Boards page on a real store (pytest-qt, offscreen): what it draws is exactly what monitor.boards
computes; grouping, live updates from another process, rename, a click on a bucket, hostile imports and
an export -> import round trip."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from desktop.boards import BoardsPage
from desktop.boards.stat_panel import StatPanel, stat_text
from desktop.boards.timeseries import TimeseriesChart
from monitor.boards import TimeRange, compute_board, list_boards
from monitor.profiles import ProfileStore
from monitor.record import Record
from monitor.store import Store

STREAM = "team/app/openai_logs"
T0 = (time.time() // 3600 - 3) * 3600     # a whole hour, three hours ago: the same buckets on every run


@pytest.fixture
def ctx(tmp_path):
    from desktop.context import AppContext

    context = AppContext(tmp_path / "monitor.db", profiles=ProfileStore(tmp_path / "profiles.json"),
                         settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    yield context
    context.shutdown()


@pytest.fixture
def page(qtbot, ctx):
    widget = BoardsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    return widget


def record(i: int, *, ts: float, model: str = "gpt-4o-mini", status: str = "success", cost: float | None = 0.001,
           attributes: dict | None = None, latency: float | None = None, ttft: float | None = None) -> Record:
    return Record(
        id=None, stream=STREAM, timestamp=ts, latency_ms=latency if latency is not None else 400.0 + 37 * (i % 11),
        ttft_ms=ttft, api="chat.completions", model=model, response_model=model, status=status,
        error="Error code: 500" if status == "error" else None, prompt_tokens=10 + i % 5, completion_tokens=20 + i % 3,
        total_tokens=30 + i % 5 + i % 3, cached_tokens=i % 2, reasoning_tokens=0, usage_estimated=False,
        cost_usd=cost, streamed=ttft is not None, request={"model": model, "messages": [{"role": "user", "content": f"q{i}"}]},
        output=f"answer {i}", attributes=attributes if attributes is not None else {"feature": "chat"})


def sample_records(n: int = 60) -> list[Record]:
    models = ["gpt-4o-mini", "gpt-4o", "o3-mini", "my-local-model"]
    out = []
    for i in range(n):
        model = models[i % 4]
        out.append(record(i, ts=T0 + i * 47.0, model=model, status="error" if i % 9 == 4 else "success",
                          cost=None if model == "my-local-model" else 0.0001 * (1 + i % 7),
                          ttft=120.0 + i if i % 3 == 0 else None,
                          attributes={"feature": ["chat", "summarize"][i % 2],
                                      "params": {"audience": ["kids", "adults", "adults"][i % 3]}}))
    return out


def insert(ctx, records: list[Record]) -> None:
    store = Store(ctx.db_path)
    try:
        store.insert_records(records)
    finally:
        store.close()


def open_template(qtbot, page) -> None:
    """Select the stream, accept the "Create OpenAI Monitor Board" offer, wait for the first drawing."""
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 0 and page.create_button.isVisible(), timeout=5000)
    qtbot.mouseClick(page.create_button, Qt.LeftButton)
    wait_drawn(qtbot, page)


def wait_drawn(qtbot, page, timeout: int = 5000) -> None:
    qtbot.waitUntil(lambda: page.spec is not None and page.data is not None
                    and page.drawn_spec is page.spec, timeout=timeout)


def assert_draws(page, expected) -> None:
    """Every chart item holds exactly the computed series; every stat tile shows the computed number."""
    charts = page.view.charts()
    for pd in expected.panels:
        if pd.kind == "timeseries":
            chart = charts[pd.id]
            assert set(chart.curves) == {s.key for s in pd.series}, pd.id
            for s in pd.series:
                x, y = chart.series_data(s.key)
                np.testing.assert_array_equal(x, expected.x)
                if pd.chart == "bar":
                    np.testing.assert_allclose(y, np.nan_to_num(s.y), rtol=0, atol=1e-12)
                else:
                    np.testing.assert_allclose(y, s.y, rtol=0, atol=1e-12, equal_nan=True)
        elif pd.kind == "stat":
            tiles = page.view.frames[pd.id].body
            assert isinstance(tiles, StatPanel)
            for stat in pd.stats:
                assert tiles.value_text(stat.key) == stat_text(stat, expected.summary)


def computed(ctx, page):
    store = Store(ctx.db_path)
    try:
        return compute_board(store, page.spec, now=page.data.computed_at)
    finally:
        store.close()


# -- drawing -------------------------------------------------------------------------------------------------
def test_template_board_draws_exactly_the_computed_data(qtbot, ctx, page):
    insert(ctx, sample_records())
    open_template(qtbot, page)
    assert page.spec.name == f"OpenAI Monitor Board · {STREAM}"
    expected = computed(ctx, page)
    assert expected.summary.requests == 60
    assert_draws(page, expected)
    summary = page.view.frames["summary"].body
    unpriced = sum(1 for r in sample_records() if r.cost_usd is None and r.status == "success")
    assert unpriced == 14                                       # my-local-model has no price
    assert f"+{unpriced} unpriced" in summary.tiles["cost_usd.sum"].note.full_text
    latency = page.view.charts()["latency"]
    assert isinstance(latency, TimeseriesChart)
    # what is on screen: once the view has ranged over the data, getData() is every point (no clipping)
    p95 = next(s.y for s in expected.panel("latency").series if s.key == "latency_ms.p95")
    qtbot.waitUntil(lambda: len(latency.curves["latency_ms.p95"].item.getData()[1]) == len(p95), timeout=3000)
    np.testing.assert_array_equal(latency.curves["latency_ms.p95"].item.getData()[1], p95)
    # the requests table lists the board's calls, newest first, and shows the newest in the detail pane
    table = page.view.tables()[0]
    qtbot.waitUntil(lambda: table.model.total == 60 and table.detail.record is not None, timeout=5000)
    assert [r.ts for r in table.model.rows] == sorted((r.ts for r in table.model.rows), reverse=True)
    assert table.detail.record.output == "answer 59"
    board_names = [b.name for b in list_boards(Store(ctx.db_path))]
    assert board_names == [page.spec.name]


def test_grouping_by_a_nested_attribute_gives_one_curve_per_group(qtbot, ctx, page):
    insert(ctx, sample_records())
    open_template(qtbot, page)
    combo = page.toolbar.group
    qtbot.waitUntil(lambda: combo.findData("params.audience") >= 0, timeout=5000)   # discovered on the worker
    assert combo.findData("feature") >= 0 and combo.findData("model") >= 0
    combo.setCurrentIndex(combo.findData("params.audience"))
    wait_drawn(qtbot, page)
    assert page.spec.group_by == "params.audience"
    chart = page.view.charts()["requests"]
    assert set(chart.curves) == {"requests.count|adults", "requests.count|kids"}
    assert page.view.frames["requests"].legend_labels() == ["adults", "kids"]     # biggest group first
    latency = page.view.frames["latency"].legend_labels()
    assert latency[:2] == ["adults", "kids"] and "p95 latency" in latency
    # the same group has the same colour in every panel
    cost = page.view.charts()["cost"]
    assert chart.curves["requests.count|kids"].color == cost.curves["cost_usd.sum|kids"].color
    assert_draws(page, computed(ctx, page))
    assert Store(ctx.db_path).conn.execute("SELECT spec FROM boards").fetchone()[0].count("params.audience") == 1


# -- live ------------------------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, openai
    from monitor import init_monitor
    base_url, db, stream = sys.argv[1], sys.argv[2], sys.argv[3]
    m = init_monitor(stream, db_path=db, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=base_url, api_key="sk-test-0123456789abcdef", max_retries=0))
    for i in range(3):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"child {i}"}],
                                       monitor_attributes={"from": "child"})
    m.flush()
""")


def test_a_call_from_another_process_moves_the_board_live(qtbot, ctx, page, sim):
    from monitor import init_monitor
    import openai

    m = init_monitor(STREAM, db_path=ctx.db_path, quiet=True)
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-test-0123456789abcdef", max_retries=0))
    for i in range(4):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"p{i}"}])
    m.flush()
    ctx.start_watching(interval_s=0.05)
    open_template(qtbot, page)
    assert page.data.summary.requests == 4
    requests_chart = page.view.charts()["requests"]
    item = requests_chart.curves["requests.count"].item
    started = page.live.started

    proc = subprocess.run([sys.executable, "-c", CHILD, sim.base_url, str(ctx.db_path), STREAM], timeout=60)
    assert proc.returncode == 0
    qtbot.waitUntil(lambda: page.data.summary.requests == 7, timeout=30_000)   # live, without a reload
    assert page.data.incremental                                     # folded in, not recomputed
    assert requests_chart.curves["requests.count"].item is item      # the same curve, given new data
    assert requests_chart.series_data("requests.count")[1].sum() == 7
    assert page.live.started - started <= 4                           # coalesced, not one refresh per poll
    assert_draws(page, computed(ctx, page))
    table = page.view.tables()[0]
    qtbot.waitUntil(lambda: table.model.total == 7, timeout=2000)
    m.close()


# -- editing ---------------------------------------------------------------------------------------------------
def test_rename_through_the_title_persists_and_a_clash_is_refused(qtbot, ctx, page, tmp_path):
    insert(ctx, sample_records(8))
    open_template(qtbot, page)
    old = page.spec.name
    changed = []
    page.boardsChanged.connect(lambda: changed.append(True))
    title = page.header.title
    qtbot.mouseClick(title, Qt.LeftButton)
    title.selectAll()
    qtbot.keyClicks(title, "Latency watch")
    qtbot.keyClick(title, Qt.Key_Return)
    qtbot.waitUntil(lambda: page.spec.name == "Latency watch" and bool(changed), timeout=5000)
    store = Store(ctx.db_path)                     # another connection: what a restart would read
    assert [b.name for b in list_boards(store)] == ["Latency watch"]
    store.close()

    page.create_template_board()                   # a second board, then try to take the first one's name
    qtbot.waitUntil(lambda: page.spec is not None and page.spec.name == old, timeout=5000)
    title.setFocus()
    title.selectAll()
    qtbot.keyClicks(title, "Latency watch")
    qtbot.keyClick(title, Qt.Key_Return)
    qtbot.waitUntil(lambda: "already exists" in page.header.message.full_text, timeout=5000)
    assert title.text() == old and page.spec.name == old           # the name is restored
    store = Store(ctx.db_path)
    assert sorted(b.name for b in list_boards(store)) == sorted([old, "Latency watch"])
    store.close()


def bucket_scene_pos(chart: TimeseriesChart, x: float, y: float):
    view_pos = chart.view_box.mapViewToScene(QPointF(x, y))
    return chart.plot.mapFromScene(view_pos)


def test_a_click_on_a_bucket_filters_the_requests_table(qtbot, ctx, page):
    # bucket A: 3 calls of gpt-4o; bucket B: 2 of gpt-4o and 3 of gpt-4o-mini (one-minute buckets)
    a, b = T0 + 60, T0 + 180
    calls = [record(i, ts=a + 5 + i, model="gpt-4o") for i in range(3)]
    calls += [record(3 + i, ts=b + 5 + i, model="gpt-4o") for i in range(2)]
    calls += [record(5 + i, ts=b + 20 + i, model="gpt-4o-mini") for i in range(3)]
    insert(ctx, calls)
    open_template(qtbot, page)
    assert page.update_board(time_range=TimeRange(kind="custom", start=T0, end=T0 + 600), bucket_s=60,
                             group_by="model")
    wait_drawn(qtbot, page)
    table = page.view.tables()[0]
    qtbot.waitUntil(lambda: table.model.total == 8, timeout=5000)
    chart = page.view.charts()["requests"]
    assert page.data.groups == ["gpt-4o", "gpt-4o-mini"]         # gpt-4o stacks at the bottom

    # a real mouse click on bucket B's gpt-4o-mini bar segment (y from 2 to 5)
    pos = bucket_scene_pos(chart, b + 30, 3.5)
    qtbot.mouseClick(chart.plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: table.model.total == 3 and len(table.model.rows) == 3, timeout=5000)
    assert {r.model for r in table.model.rows} == {"gpt-4o-mini"}
    assert table.bucket == b and table.group == "gpt-4o-mini" and table.chip.isVisibleTo(page)

    chart.click_bucket(int((a - page.data.x[0]) // 60))          # bucket A, no group
    qtbot.waitUntil(lambda: table.model.total == 3 and table.group is None
                    and all(r.model == "gpt-4o" for r in table.model.rows), timeout=5000)
    qtbot.mouseClick(table.clear_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: table.model.total == 8, timeout=5000)
    assert not table.chip.isVisibleTo(page)


def test_panels_can_be_added_edited_moved_and_removed(qtbot, ctx, page):
    from desktop.boards.panel_editor import PanelEditor
    from monitor.boards import Measure, Panel

    insert(ctx, sample_records(20))
    open_template(qtbot, page)
    editor = PanelEditor(page.spec.panel("latency"), page)
    editor.chart.setCurrentIndex(editor.chart.findData("bar"))
    editor.width.setCurrentIndex(editor.width.findData(12))
    edited = editor.panel()
    assert page.replace_panel(edited)
    wait_drawn(qtbot, page)
    assert page.spec.panel("latency").chart == "bar" and page.spec.panel("latency").width == 12
    assert page.add_panel(Panel(id="p95", title="p95 TTFT", measures=[Measure(metric="ttft_ms", agg="p95")]))
    wait_drawn(qtbot, page)
    assert "p95" in page.view.charts()
    before = page.spec.panel("p95")
    page._on_move_panel_requested("p95", "up")
    wait_drawn(qtbot, page)
    assert page.spec.panel("p95").row < before.row
    page._on_remove_panel_requested("p95")
    wait_drawn(qtbot, page)
    assert "p95" not in page.view.frames
    assert_draws(page, computed(ctx, page))
    store = Store(ctx.db_path)
    from monitor.boards import get_board
    saved = get_board(store, page.spec.name)
    store.close()
    assert saved.panel("latency").chart == "bar"


# -- files -----------------------------------------------------------------------------------------------------
HOSTILE = {
    "truncated.json": '{"format": "openai-monitor.board", "version": 1, "board": {"name": "x"',
    "not-json.json": "hello, I am not a board",
    "nested.json": "[" * 5000 + "]" * 5000,
    "nan.json": '{"format": "openai-monitor.board", "version": 1, "board": {}, "stream": {"name": "s", '
                '"records": 0}, "records": [], "exported_at": NaN}',
    "wrong-format.json": json.dumps({"format": "something.else", "version": 1}),
    "future.json": json.dumps({"format": "openai-monitor.board", "version": 99, "board": {}, "records": []}),
}


def store_state(ctx):
    store = Store(ctx.db_path)
    try:
        conn = store.conn
        return (conn.execute("SELECT name, spec FROM boards ORDER BY name").fetchall(),
                conn.execute("SELECT name, origin FROM streams ORDER BY name").fetchall(),
                conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM calls").fetchone())
    finally:
        store.close()


def test_a_hostile_board_file_shows_its_reason_and_changes_nothing(qtbot, ctx, page, tmp_path, monkeypatch):
    insert(ctx, sample_records(10))
    open_template(qtbot, page)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k: shown.append(text)))
    before = store_state(ctx)
    changed = []
    page.boardsChanged.connect(lambda: changed.append(True))
    for name, text in HOSTILE.items():
        path = tmp_path / name
        path.write_text(text)
        count = len(shown)
        page.import_board_file(path)
        qtbot.waitUntil(lambda: len(shown) == count + 1, timeout=5000)
        assert name in shown[-1] and "\n" not in shown[-1], shown[-1]
    assert any("newer OpenAI Monitor" in s for s in shown)
    assert any("truncated" in s for s in shown)
    assert store_state(ctx) == before and not changed
    assert page.spec.name == f"OpenAI Monitor Board · {STREAM}"


def test_export_then_import_in_the_app_gives_identical_curves(qtbot, ctx, page, tmp_path):
    insert(ctx, sample_records())
    open_template(qtbot, page)
    assert page.update_board(group_by="model", time_range=TimeRange(kind="custom", start=T0 - 30, end=T0 + 3000))
    wait_drawn(qtbot, page)
    original = {pid: {k: chart.series_data(k) for k in chart.curves} for pid, chart in page.view.charts().items()}
    stats = {k: t.value.text() for k, t in page.view.frames["summary"].body.tiles.items()}
    path = tmp_path / "shared.board.json"
    page.export_board_file(path, include_content=False)
    qtbot.waitUntil(lambda: "Exported 60 calls" in page.header.message.full_text, timeout=5000)
    assert json.loads(path.read_text())["content"] == "numbers"

    opened = []
    page.boardOpened.connect(opened.append)
    page.import_board_file(path)
    qtbot.waitUntil(lambda: bool(opened) and page.spec is not None and page.spec.name == opened[-1], timeout=5000)
    wait_drawn(qtbot, page)
    assert page.spec.stream == f"{STREAM} (imported)" and page.header.imported_tag.isVisibleTo(page)
    imported = {pid: {k: chart.series_data(k) for k in chart.curves} for pid, chart in page.view.charts().items()}
    assert imported.keys() == original.keys()
    for pid, curves in original.items():
        assert curves.keys() == imported[pid].keys(), pid
        for key, (x, y) in curves.items():
            np.testing.assert_array_equal(imported[pid][key][0], x)
            np.testing.assert_allclose(imported[pid][key][1], y, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert {k: t.value.text() for k, t in page.view.frames["summary"].body.tiles.items()} == stats


def test_png_and_csv_exports(qtbot, ctx, page, tmp_path):
    insert(ctx, sample_records(12))
    open_template(qtbot, page)
    assert page.save_png(tmp_path / "board.png")
    from PySide6.QtGui import QImage
    image = QImage(str(tmp_path / "board.png"))
    assert image.width() >= 1300 and image.height() > 1500          # the whole board, not the visible part
    page.export_csv(tmp_path / "calls.csv")
    qtbot.waitUntil(lambda: (tmp_path / "calls.csv").exists(), timeout=5000)
    lines = (tmp_path / "calls.csv").read_text().splitlines()
    assert lines[0].startswith("id,") and len(lines) == 13
    assert [a.text() for a in page.actions()] == ["Export board…", "Open board file…", "Export PNG…", "Export CSV…"]


def test_a_stream_without_board_offers_the_template_and_others_open_their_first_board(qtbot, ctx, page):
    insert(ctx, sample_records(5))
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.create_button.isVisible(), timeout=5000)
    assert "No board for" in page.empty_text.text() and page.current_board() is None
    assert not page.files.export_png.isEnabled()
    changed = []
    page.boardsChanged.connect(lambda: changed.append(True))
    qtbot.mouseClick(page.create_button, Qt.LeftButton)
    wait_drawn(qtbot, page)
    assert changed and page.current_board().stream == STREAM
    page.set_stream("")
    assert page.current_board() is None
    page.set_stream(STREAM)                         # now it has one: it opens
    qtbot.waitUntil(lambda: page.current_board() is not None, timeout=5000)


def test_filters_and_search_narrow_the_board(qtbot, ctx, page):
    from desktop.boards.filters import FiltersPopup

    insert(ctx, sample_records())
    open_template(qtbot, page)
    qtbot.waitUntil(lambda: "gpt-4o" in page.toolbar.facets.models, timeout=5000)
    qtbot.mouseClick(page.toolbar.filters_button, Qt.LeftButton)
    popup = page.toolbar.filters_popup
    assert isinstance(popup, FiltersPopup)
    for i in range(popup.models.count()):
        if popup.models.item(i).text() == "gpt-4o":
            popup.models.item(i).setCheckState(Qt.Checked)
    popup.key.setCurrentText("params.audience")
    popup.value.setCurrentText("kids")
    popup._on_apply_clicked()
    wait_drawn(qtbot, page)
    f = page.spec.filters
    assert f.models == ["gpt-4o"] and [(a.key, a.value) for a in f.attributes] == [("params.audience", "kids")]
    expected = sum(1 for i, r in enumerate(sample_records()) if r.model == "gpt-4o" and i % 3 == 0)
    assert page.data.summary.requests == expected and page.toolbar.filters_button.text() == "Filters (2)"
    assert_draws(page, computed(ctx, page))

    page.toolbar.search.setFocus()
    qtbot.keyClicks(page.toolbar.search, "answer 21")        # only call 21 (gpt-4o, kids) says that
    qtbot.waitUntil(lambda: page.spec.filters.text == "answer 21", timeout=3000)
    wait_drawn(qtbot, page)
    assert page.data.summary.requests == 1



def test_the_qt_binding_keeps_its_references_to_none_and_true():
    """A live board makes thousands of Qt calls a second.  PySide6-Essentials 6.12.0 (abi3 wheel) on
    Python 3.11 returns None from every void method and True from every Python emit() without a
    reference, so the counts drain and the interpreter aborts ("Fatal Python error: none_dealloc") —
    after seconds to minutes of a live board.  6.11.3 is fine; Python 3.12+ makes both immortal."""
    import gc

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QObject, QPointF, Signal

    class Probe(QObject):
        ping = Signal()

    probe, point = Probe(), QPointF()
    gc.collect()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        point.setX(1.0)                 # a void method
        probe.ping.emit()               # a Python emit
    gc.collect()
    lost_none = none_before - sys.getrefcount(None)
    lost_true = true_before - sys.getrefcount(True)
    assert lost_none < 100 and lost_true < 100, (
        f"PySide6 {pyside_version} on Python {sys.version.split()[0]} drops a reference per call "
        f"(None: {lost_none}, True: {lost_true} per 1000 calls); the app will abort. "
        "Use PySide6-Essentials<6.12 (6.11.3 works) or Python >= 3.12.")


def test_duplicate_and_delete_with_confirmation(qtbot, ctx, page, monkeypatch):
    insert(ctx, sample_records(6))
    open_template(qtbot, page)
    first = page.spec.name
    changed = []
    page.boardsChanged.connect(lambda: changed.append(True))
    qtbot.mouseClick(page.header.duplicate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.spec is not None and page.spec.name == f"{first} (copy)", timeout=5000)
    wait_drawn(qtbot, page)
    assert changed
    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda parent, title, text, *a, **k: asked.append(text) or QMessageBox.Cancel))
    qtbot.mouseClick(page.header.delete_button, Qt.LeftButton)
    assert asked and page.spec.name == f"{first} (copy)"          # cancelled: still there
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.Yes))
    qtbot.mouseClick(page.header.delete_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.spec is not None and page.spec.name == first, timeout=5000)   # the other one
    store = Store(ctx.db_path)
    assert [b.name for b in list_boards(store)] == [first]
    store.close()
