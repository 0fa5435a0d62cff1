"""The main window on a temp store: sidebar counts, live updates from another process, pages, state."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop import formatting as fmt
from desktop.main_window import MainWindow
from desktop.sidebar import Sidebar
from desktop.requests.model import PAGE_SIZE
from monitor.boards.repository import new_template_board
from monitor.store import StreamInfo

try:
    from tests.app_helpers import insert, make_context, make_record, temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record, temp_settings

OLD, NEW = "team/app/openai_logs", "team/batch/openai_logs"


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


def open_window(qtbot, ctx, **kwargs) -> MainWindow:
    window = MainWindow(ctx, **kwargs)
    qtbot.addWidget(window)
    window.show()
    return window


def just_after_midnight() -> float:
    """00:20 local time on a fixed day: the hour at which "2 hours ago" is yesterday."""
    return datetime(2026, 3, 10, 0, 20).timestamp()


@pytest.fixture
def clock(monkeypatch):
    """The app's clock (desktop.formatting's "now") fixed at just_after_midnight(), in any time zone."""
    now = just_after_midnight()
    monkeypatch.setattr(fmt, "time", SimpleNamespace(time=lambda: now))
    return now


def test_opens_with_streams_counts_and_the_newest_stream_selected(qtbot, ctx, clock):
    today = fmt.midnight()                   # the same local midnight the status bar counts from
    assert today <= clock < today + 3600
    yesterday = [make_record(OLD, 10 + i, ts=today - 7200 + i) for i in range(2)]      # not counted
    insert(ctx.db_path, yesterday + [make_record(OLD, i, ts=today + 60 + i) for i in range(3)]
           + [make_record(NEW, i, ts=today + 600 + i) for i in range(7)])
    window = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: window.sidebar.stream_count(OLD) == 5 and window.sidebar.stream_count(NEW) == 7)
    assert window.current_stream == NEW                        # nothing saved yet: the most recently used
    qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 7)
    assert window.current_page == "requests"
    qtbot.waitUntil(lambda: window.status.today_label.text().startswith("Today: 10 calls · $0.00021"))
    assert str(ctx.db_path) == window.status.store_label.toolTip()
    assert "Profile" in window.status.profile_button.text() or "No profile" in window.status.profile_button.text()


def test_a_call_from_another_process_appears_live(qtbot, ctx, sim):
    insert(ctx.db_path, [make_record(OLD, 1)])
    window = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 1)
    code = (
        "import openai\nfrom monitor import init_monitor\n"
        f"m = init_monitor({OLD!r}, db_path={str(ctx.db_path)!r}, quiet=True)\n"
        f"c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key='sk-test-other', max_retries=0))\n"
        "c.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': 'from elsewhere'}],\n"
        "                          monitor_attributes={'origin': 'subprocess'})\n"
        "m.flush()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True)
    # Live, without a reload: the watcher polls every 0.25 s (the timeout is only a generous bound for a
    # loaded machine; how soon it shows is no stopwatch's business here).
    qtbot.waitUntil(lambda: window.sidebar.stream_count(OLD) == 2 and window.requests_page.model.rowCount() == 2,
                    timeout=30_000)
    assert window.requests_page.model.rows[0].model == "gpt-4o"
    assert "origin=subprocess" in window.requests_page.model.rows[0].attributes


def test_a_new_stream_from_elsewhere_joins_the_sidebar(qtbot, ctx):
    insert(ctx.db_path, [make_record(OLD, 1)])
    window = open_window(qtbot, ctx)
    qtbot.waitUntil(lambda: window.sidebar.stream_count(OLD) == 1)
    insert(ctx.db_path, [make_record("fresh/stream", 1), make_record("fresh/stream", 2)])
    qtbot.waitUntil(lambda: window.sidebar.stream_count("fresh/stream") == 2, timeout=2000)
    assert window.current_stream == OLD                        # a new stream does not steal the selection


def test_the_first_stream_of_an_empty_store_is_shown_when_it_appears(qtbot, ctx):
    window = open_window(qtbot, ctx)                           # a fresh store: nothing to show yet
    qtbot.waitUntil(lambda: window._streams_loaded)
    assert window.current_stream == ""
    insert(ctx.db_path, [make_record("playground", 1), make_record("playground", 2)])
    qtbot.waitUntil(lambda: window.sidebar.stream_count("playground") == 2, timeout=3000)
    qtbot.waitUntil(lambda: window.current_stream == "playground", timeout=3000)
    qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 2, timeout=3000)
    assert window.requests_page.title.text() == "Requests — playground"


def test_selecting_a_stream_and_the_lazy_table_in_the_window(qtbot, ctx):
    insert(ctx.db_path, [make_record(OLD, i) for i in range(PAGE_SIZE + 50)] + [make_record(NEW, 1)])
    window = open_window(qtbot, ctx, stream=NEW)
    assert window.current_stream == NEW
    qtbot.waitUntil(lambda: window.sidebar.stream_count(OLD) == PAGE_SIZE + 50)
    seen = []
    window.streamSelected.connect(seen.append)
    tree = window.sidebar.streams
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(0) == OLD)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(item).center())
    assert seen == [OLD] and window.current_stream == OLD
    qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == PAGE_SIZE)
    assert window.requests_page.model.canFetchMore()
    assert window.windowTitle().startswith(OLD)


def _rows_visible(view, items) -> bool:
    return all(view.viewport().rect().contains(view.visualItemRect(item)) for item in items)


def test_the_stream_list_shows_every_row_as_soon_as_it_is_filled(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(230, 700)
    sidebar.show()
    qtbot.waitExposed(sidebar)
    sidebar.set_streams([StreamInfo(OLD, 3, 1.0, "local"), StreamInfo(NEW, 7, 2.0, "local")])
    tree = sidebar.streams
    items = [tree.topLevelItem(i) for i in range(2)]
    assert _rows_visible(tree, items), (tree.height(), [tree.visualItemRect(i) for i in items])   # no event loop
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(items[1]).center())
    assert tree.currentItem() is items[1]


@pytest.mark.parametrize("height", [260, 420, 900])
def test_sidebar_lists_show_their_rows_at_any_window_height(qtbot, height):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    for key in ("playground", "boards", "requests"):
        sidebar.add_page(key, key.title())
    sidebar.resize(230, height)
    sidebar.show()
    qtbot.waitExposed(sidebar)
    sidebar.set_streams([StreamInfo(f"team/app{i}/openai_logs", i, float(i), "local") for i in range(2)])
    sidebar.set_boards([(f"Board {i}", "team/app0/openai_logs") for i in range(80)])
    qtbot.wait(20)
    tree, boards = sidebar.streams, sidebar.boards
    assert _rows_visible(tree, [tree.topLevelItem(0), tree.topLevelItem(1)])
    shown = [boards.item(i) for i in range(boards.count())
             if boards.viewport().rect().contains(boards.visualItemRect(boards.item(i)))]
    assert len(shown) >= 3                                 # many boards: a few rows show, the rest scroll
    qtbot.waitUntil(lambda: boards.verticalScrollBar().maximum() > 0)


def test_sidebar_names_elide_in_the_middle(qtbot):
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    assert sidebar.streams.textElideMode() == Qt.ElideMiddle and sidebar.boards.textElideMode() == Qt.ElideMiddle
    sidebar.set_streams([StreamInfo("my-team/weave/openai_logs", 1, 1.0, "local")])
    assert sidebar.streams.topLevelItem(0).toolTip(0).startswith("my-team/weave/openai_logs")
    assert fmt.plural(1, "call") in sidebar.streams.topLevelItem(0).toolTip(0)
    name = "my-team/weave/openai_logs"
    assert fmt.elide_path(name, lambda t: len(t) <= 30) == name
    assert fmt.elide_path(name, lambda t: len(t) <= 21) == "my-team/…/openai_logs"
    assert fmt.elide_path(name, lambda t: len(t) <= 14) == "…/openai_logs"
    assert len(fmt.elide_path(name, lambda t: len(t) <= 8)) <= 8


def test_boards_page_offers_the_template_and_its_file_actions_are_in_the_file_menu(qtbot, ctx):
    from desktop.boards import BoardsPage

    insert(ctx.db_path, [make_record(OLD, i) for i in range(3)])
    window = open_window(qtbot, ctx, stream=OLD)
    window.show_page("boards")
    page = window.page("boards")
    assert isinstance(page, BoardsPage)
    file_menu_texts = [a.text() for a in window.file_menu.actions()]
    assert any("Open" in t and "board" in t.lower() for t in file_menu_texts)
    assert any("PNG" in t for t in file_menu_texts) and any("CSV" in t for t in file_menu_texts)
    assert window.open_board_file_action.isEnabled()


def test_saved_boards_are_listed_and_open_their_stream(qtbot, ctx):
    insert(ctx.db_path, [make_record(OLD, 1), make_record(NEW, 1)])
    ctx.db.call(lambda store: new_template_board(store, OLD, name="Team costs"))
    window = open_window(qtbot, ctx, stream=NEW)
    qtbot.waitUntil(lambda: window.sidebar.boards.count() == 1 and window.sidebar.boards.item(0).text() == "Team costs")
    opened = []
    window.boardSelected.connect(opened.append)
    window.sidebar._on_boards_item_activated(window.sidebar.boards.item(0))
    assert opened == ["Team costs"] and window.current_stream == OLD and window.current_page == "boards"


def test_add_page_show_page_and_replacing_a_page(qtbot, ctx):
    insert(ctx.db_path, [make_record(OLD, 1)])
    window = open_window(qtbot, ctx, stream=OLD)
    extra = QLabel("extra")
    window.add_page("extra", "Extra", extra, "Ctrl+9")
    window.show_page("extra")
    assert window.current_page == "extra" and window.stack.currentWidget().widget() is extra
    assert window.sidebar.pages.currentItem().text() == "Extra"

    replacement = QLabel("another")
    window.add_page("extra", "Extra", replacement)
    assert window.page("extra") is replacement
    keys = [window.sidebar.pages.item(i).text() for i in range(window.sidebar.pages.count())]
    assert keys.count("Extra") == 1


def test_geometry_page_stream_and_splitters_are_restored(qtbot, tmp_path):
    settings = temp_settings(tmp_path, "restore.ini")
    ctx1 = make_context(tmp_path, settings)
    insert(ctx1.db_path, [make_record(OLD, 1, ts=time.time() - 10), make_record(NEW, 1, ts=time.time())])
    window = open_window(qtbot, ctx1)
    window.setGeometry(40, 50, 711, 577)       # inside the offscreen screen (800x800)
    window.select_stream(OLD)                                   # not the newest: must come from settings
    window.requests_page.splitter.setSizes([300, 150])
    qtbot.wait(10)
    sizes = window.requests_page.splitter.sizes()
    size = (window.width(), window.height())
    window.show_page("boards")
    window.close()
    ctx1.shutdown()

    ctx2 = make_context(tmp_path, temp_settings(tmp_path, "restore.ini"))
    try:
        again = open_window(qtbot, ctx2)
        assert again.current_page == "boards"
        assert (again.width(), again.height()) == size == (711, 577)
        qtbot.waitUntil(lambda: again.current_stream == OLD)
        again.show_page("requests")
        qtbot.wait(50)
        restored = again.requests_page.splitter.sizes()
        assert restored[1] == sizes[1] and abs(restored[0] - sizes[0]) <= 4    # the detail pane keeps its height
    finally:
        ctx2.shutdown()


def test_open_in_playground_loads_the_call_there(qtbot, ctx):
    playground_cls = pytest.importorskip("desktop.playground").PlaygroundPage
    insert(ctx.db_path, [make_record(OLD, 1, request={"model": "gpt-4o", "temperature": 0.3,
                                                       "messages": [{"role": "user", "content": "reopen me"}]})])
    window = open_window(qtbot, ctx, stream=OLD)
    assert isinstance(window.page("playground"), playground_cls)
    page = window.requests_page
    qtbot.waitUntil(lambda: page.detail.record is not None)
    page.open_in_playground_action.trigger()
    assert window.current_page == "playground"
    assert window.page("playground").last_record.id == page.detail.record.id


def test_menus_and_shortcuts(qtbot, ctx):
    window = open_window(qtbot, ctx)
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in window.findChildren(type(window.quit_action))
                 if not a.shortcut().isEmpty()}
    assert shortcuts["Quit"] == "Ctrl+Q" and shortcuts["Settings…"] == "Ctrl+,"
    assert shortcuts["Playground"] == "Ctrl+1" and shortcuts["Boards"] == "Ctrl+2" and shortcuts["Requests"] == "Ctrl+3"
    assert shortcuts["Refresh"] == "F5"
    assert shortcuts["Open in Playground"] == "Ctrl+P" and shortcuts["Copy as Python"] == "Ctrl+Shift+C"
    window.page_group.actions()[0].trigger()
    assert window.current_page == "playground"


def test_open_store_swaps_to_the_other_file_and_refuses_a_bad_one(qtbot, tmp_path, monkeypatch):
    from desktop.app import AppSession

    first, second = tmp_path / "first.db", tmp_path / "second.db"
    insert(first, [make_record(OLD, 1)])
    insert(second, [make_record(NEW, 1), make_record(NEW, 2)])
    session = AppSession(temp_settings(tmp_path), history_calls=0)
    try:
        window = session.open(first)
        qtbot.waitUntil(lambda: window.current_stream == OLD)
        window.openStoreRequested.emit(second)
        qtbot.waitUntil(lambda: session.window is not window and session.window.current_stream == NEW)
        assert not window.isVisible() and session.ctx.db_path == second
        qtbot.waitUntil(lambda: session.window.requests_page.model.rowCount() == 2)

        warnings = []
        monkeypatch.setattr("desktop.app.QMessageBox.warning", lambda *args: warnings.append(args[2]))
        bad = tmp_path / "not-a-store.db"
        bad.write_bytes(b"this is not sqlite" * 100)
        current = session.window
        current.openStoreRequested.emit(bad)
        qtbot.waitUntil(lambda: len(warnings) == 1, timeout=5000)
        assert "could not be opened" in warnings[0] and session.window is current
    finally:
        if session.window is not None:
            session.window.close()
        session.close()


def test_saved_board_in_the_sidebar_opens_on_the_boards_page(qtbot, ctx):
    insert(ctx.db_path, [make_record(OLD, 1)])
    window = open_window(qtbot, ctx, stream=OLD)
    page = window.page("boards")
    ctx.db.call(lambda store: new_template_board(store, OLD, name="Costs"))
    page.boardsChanged.emit()                                    # saved/renamed a board: the sidebar follows
    qtbot.waitUntil(lambda: window.sidebar.boards.count() == 1 and window.sidebar.boards.item(0).text() == "Costs")
    window.sidebar._on_boards_item_activated(window.sidebar.boards.item(0))
    assert window.current_page == "boards"
    qtbot.waitUntil(lambda: page.current_board() is not None and page.current_board().name == "Costs", timeout=5000)


def test_about_box_asks_the_keyring_off_the_gui_thread(qtbot, ctx, monkeypatch):
    import threading

    import monitor.profiles as profiles
    from PySide6.QtWidgets import QMessageBox

    threads, shown = [], []
    monkeypatch.setattr(profiles, "keyring_status", lambda: (threads.append(threading.current_thread()), (True, "Secret Service"))[1])
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window = open_window(qtbot, ctx)
    window._on_about_triggered()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert threads and threads[0] is not threading.main_thread()
    assert "Secret Service" in shown[0] and str(ctx.db_path) in shown[0]
