"""The app's export dialogs (desktop/boards/file_actions.py): Export → Web page…, overwrite confirmation,
and no export over the store (the rule of monitor.files.check_output_path, shared with the CLI)."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from test_board_view import STREAM, ctx, insert, open_template, page, sample_records, store_state  # noqa: F401


@pytest.fixture
def dialogs(monkeypatch):
    """The native dialogs can't be clicked offscreen: record what they were asked and answer `chosen`."""
    seen = {"save": [], "warnings": [], "chosen": ""}

    def get_save_file_name(parent, caption="", directory="", filter="", *args, **kwargs):
        seen["save"].append((caption, args, kwargs))
        return seen["chosen"], filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda parent, title, text, *a, **k:
                                                             seen["warnings"].append(text)))
    return seen


def test_export_web_page_runs_on_the_db_worker(qtbot, ctx, page, tmp_path, dialogs):
    insert(ctx, sample_records(40))
    open_template(qtbot, page)
    action = page.files.export_web_page
    assert action in page.files.menu.actions() and action.text() == "Web page…" and action.isEnabled()
    dialogs["chosen"] = str(tmp_path / "report.html")
    action.trigger()
    qtbot.waitUntil(lambda: "Wrote a web page of 40 calls" in page.header.message.text(), timeout=10000)
    text = (tmp_path / "report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and page.spec.name in text and "default-src 'none'" in text
    # Qt's own overwrite question stays on: no dialog is opened with DontConfirmOverwrite
    for _caption, args, kwargs in dialogs["save"]:
        options = kwargs.get("options", args[1] if len(args) > 1 else QFileDialog.Option(0))
        assert not (QFileDialog.Option(options) & QFileDialog.Option.DontConfirmOverwrite)


@pytest.mark.parametrize("which", ["export_board", "export_numbers", "export_csv", "export_png", "export_web_page"])
def test_no_export_dialog_writes_over_the_store(qtbot, ctx, page, tmp_path, dialogs, which):
    insert(ctx, sample_records(10))
    open_template(qtbot, page)
    before = store_state(ctx)
    for target in (str(ctx.db_path), str(ctx.db_path) + "-wal"):
        dialogs["chosen"] = target
        getattr(page.files, which).trigger()
        qtbot.waitUntil(lambda: len(dialogs["warnings"]) >= 1, timeout=5000)
        assert "store being read" in dialogs["warnings"][-1] and "\n" not in dialogs["warnings"][-1]
        dialogs["warnings"].clear()
    ctx.db.call(lambda store: None)      # the DB worker's queue is FIFO: anything queued above has run
    assert not dialogs["warnings"] and store_state(ctx) == before
    assert ctx.db_path.read_bytes()[:16] == b"SQLite format 3\x00"
