"""The Experiments page's "Asserts & judges" editor has room at 1360×900 (a rubric reads as words, several
asserts in view), and opens in a larger window that edits the same asserts."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog

from desktop.main_window import MainWindow
from monitor.experiments import ExperimentSpec

try:
    from tests.desktop_helpers import ctx  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx  # noqa: F401

ASSERTS = [{"type": "contains", "value": "limit"}, {"type": "max_latency_ms", "value": 5000},
           {"type": "json_schema", "value": {"type": "object", "required": ["answer"]}},
           {"type": "judge", "model": "gpt-4o-mini", "rubric": 'Is it polite and does it mention "cost"? PASS or FAIL.'},
           {"type": "judge", "rubric": "Score 1 to 5: how clear is it for a beginner?", "min_score": 4}]


def _experiments(qtbot, ctx, size=(1360, 900)):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.show_page("experiments")
    page = window.page("experiments")
    page.set_spec(ExperimentSpec(name="tone", template="Explain {topic} to a {audience}.",
                                 system_prompts=["You are terse.", "You are a friendly teacher."],
                                 values={"topic": ["rate limits"], "audience": ["beginner"]},
                                 models=["gpt-4o-mini"], asserts=ASSERTS))
    page.setup_tabs.setCurrentIndex(1)
    editor = page.asserts_editor
    qtbot.waitUntil(lambda: editor.isVisible() and editor.table.viewport().height() > 0, timeout=5000)
    qtbot.waitUntil(lambda: page.width() == window._pages["experiments"].frame.viewport().width(), timeout=5000)
    return window, page, editor


def test_asserts_editor_has_room_at_1360_by_900(qtbot, ctx):
    window, page, editor = _experiments(qtbot, ctx)
    table = editor.table
    assert table.columnWidth(1) >= 150                     # the rubric column: words, not a letter or two
    assert editor.width() >= editor.minimumSizeHint().width()
    rows_in_view = table.viewport().height() // table.rowHeight(0)
    assert rows_in_view >= 4, f"only {rows_in_view} asserts in view"
    buttons = (editor.add_button, editor.add_judge_button, editor.remove_button, editor.larger_button)
    qtbot.waitUntil(lambda: all(b.visibleRegion().boundingRect().size() == b.size() and b.width() > 0
                                for b in buttons), timeout=5000)      # each fully in view, once laid out
    window.close()


def test_larger_window_edits_the_same_asserts_and_gives_them_back(qtbot, ctx):
    window, page, editor = _experiments(qtbot, ctx)
    dialog = editor.open_larger()
    assert isinstance(dialog, QDialog)
    qtbot.waitUntil(lambda: dialog.isVisible() and editor.window() is dialog, timeout=5000)
    qtbot.waitUntil(lambda: editor.table.columnWidth(1) >= 500, timeout=5000)   # a rubric as a sentence
    assert not page.setup_tabs.widget(1).layout().indexOf(editor) >= 0          # the tab no longer holds it
    editor.table.item(3, 1).setText('Does it mention "price"? PASS or FAIL.')
    editor.add_row({"type": "regex", "value": "[.!?]$"})
    dialog.reject()
    qtbot.waitUntil(lambda: editor.window() is window, timeout=5000)
    assert page.setup_tabs.widget(1).layout().indexOf(editor) >= 0
    assert editor.larger_button.isVisible()
    asserts = page.spec().asserts                          # what Run and Save use
    assert asserts[3]["rubric"] == 'Does it mention "price"? PASS or FAIL.'
    assert asserts[-1] == {"type": "regex", "value": "[.!?]$"}
    assert len(asserts) == len(ASSERTS) + 1
    window.close()
