"""File dialogs open in the last folder the user chose a file in (issue 11): one QSettings key, shared by the
board's exports and imports and File > Open store; home before the first choice or once the folder is gone."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop import file_dialogs
from test_board_view import STREAM, ctx, insert, open_template, page, sample_records  # noqa: F401


@pytest.fixture
def dialogs(monkeypatch):
    """The native dialogs can't be clicked offscreen: record the folder each opened in and answer `chosen`."""
    seen = {"dirs": [], "chosen": ""}

    def answer(parent, caption="", directory="", filter="", *args, **kwargs):
        seen["dirs"].append(directory)
        return seen["chosen"], filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(answer))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: None))
    return seen


def test_board_dialogs_open_in_the_last_folder_chosen(qtbot, ctx, page, tmp_path, dialogs):
    insert(ctx, sample_records(10))
    open_template(qtbot, page)
    page.files.export_csv.trigger()                            # cancelled: nothing remembered
    assert Path(dialogs["dirs"][-1]).parent == Path.home()
    assert ctx.settings.value(file_dialogs.LAST_FOLDER_KEY) is None

    chosen = tmp_path / "exports" / "calls.csv"
    chosen.parent.mkdir()
    dialogs["chosen"] = str(chosen)
    page.files.export_csv.trigger()
    qtbot.waitUntil(chosen.exists, timeout=10_000)

    dialogs["chosen"] = ""
    page.files.export_png.trigger()
    assert Path(dialogs["dirs"][-1]).parent == chosen.parent    # the next save starts there, its own name
    assert Path(dialogs["dirs"][-1]).suffix == ".png"
    page.files.open_board_file.trigger()
    assert Path(dialogs["dirs"][-1]) == chosen.parent           # and so does opening a board file
    assert ctx.settings.value(file_dialogs.LAST_FOLDER_KEY) == str(chosen.parent)


def test_a_folder_since_removed_falls_back_to_home(qtbot, ctx, tmp_path, dialogs):
    gone = tmp_path / "gone"
    ctx.settings.setValue(file_dialogs.LAST_FOLDER_KEY, str(gone))
    assert file_dialogs.last_folder(ctx.settings) == Path.home()
    file_dialogs.save_file(None, ctx.settings, "Export", "x.csv", "CSV (*.csv)")
    assert dialogs["dirs"][-1] == str(Path.home() / "x.csv")


def test_open_store_starts_beside_the_store_until_a_file_was_chosen(qtbot, ctx, tmp_path, dialogs):
    from desktop.main_window import MainWindow

    window = MainWindow(ctx, open_store=False)
    qtbot.addWidget(window)
    window._on_open_store_triggered()
    assert dialogs["dirs"][-1] == str(ctx.db_path.parent)
    other = tmp_path / "elsewhere" / "team.db"
    other.parent.mkdir()
    dialogs["chosen"] = str(other)
    with qtbot.waitSignal(window.openStoreRequested):
        window._on_open_store_triggered()
    dialogs["chosen"] = ""
    window._on_open_store_triggered()
    assert dialogs["dirs"][-1] == str(other.parent)
