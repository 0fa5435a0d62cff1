"""The Experiments page fits a 1024×700 window beside the sidebar — with a long experiment name, a long stream
name, long variable names and five asserts — without scrolling sideways anywhere: the settings take two lines
and the Models / Asserts tabs go under the prompts. Larger windows keep everything on one line, side by side."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from desktop.main_window import MainWindow
from monitor.experiments import ExperimentSpec, expand

try:
    from tests.desktop_helpers import ctx  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx  # noqa: F401

LONG_STREAM = "my-team/customer-support/experiments-for-the-escalation-triage-of-the-quarter"
SPEC = ExperimentSpec(
    name="support-tone-comparison-with-a-really-long-experiment-name-for-the-quarterly-review",
    template="Explain {customer_support_topic_of_the_week} to a {audience_experience_level_description}.",
    system_prompts=["You are terse.", "You are a friendly teacher who explains step by step with an example."],
    values={"customer_support_topic_of_the_week": ["rate limits", "prompt caching", "batching"],
            "audience_experience_level_description": ["beginner", "expert"]},
    models=["gpt-4o-mini", "gpt-4o"],
    asserts=[{"type": "contains", "value": "limit"}, {"type": "max_latency_ms", "value": 5000},
             {"type": "json_schema", "value": {"type": "object", "required": ["answer"]}},
             {"type": "judge", "model": "gpt-4o-mini", "rubric": 'Is it polite and does it mention "cost"? PASS or FAIL.'},
             {"type": "judge", "rubric": "Score 1 to 5: how clear is it for a beginner?", "min_score": 4}])


def _experiments(qtbot, ctx, size):
    ctx.settings.setValue("experiments/stream", LONG_STREAM)     # the stream last used: in the box at first show
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.show_page("experiments")
    page = window.page("experiments")
    page.set_stream(LONG_STREAM)
    page.set_spec(SPEC)
    frame = window._pages["experiments"].frame          # the scroll area MainWindow puts every page in
    qtbot.waitUntil(lambda: page.isVisible() and page.width() == frame.viewport().width(), timeout=5000)
    return window, page, frame


def _fully_visible(widget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.visibleRegion().boundingRect().size() == widget.size()


def _inputs_scroll(page) -> QScrollArea:
    """The inputs' own scroll area, above the results."""
    return next(a for a in page.findChildren(QScrollArea) if a.widget() and a.widget().isAncestorOf(page.inputs_split))


def _no_sideways_scrolling(qtbot, page, frame):
    assert page.minimumSizeHint().width() <= frame.viewport().width()
    inputs = _inputs_scroll(page)
    assert inputs.widget().minimumSizeHint().width() <= inputs.viewport().width(), \
        f"the inputs need {inputs.widget().minimumSizeHint().width()} px, they get {inputs.viewport().width()}"
    for bar in (frame.horizontalScrollBar(), inputs.horizontalScrollBar()):
        qtbot.waitUntil(lambda bar=bar: bar.maximum() == 0 and not bar.isVisible(), timeout=3000)


def test_experiments_fit_a_1024_px_window_without_scrolling_sideways(qtbot, ctx):
    window, page, frame = _experiments(qtbot, ctx, (1024, 700))
    _no_sideways_scrolling(qtbot, page, frame)
    # The settings rows: every field wholly in view (not cut off at the right edge), the name readable.
    top = (page.open_button, page.save_button, page.name_edit, page.stream_combo, page.repeats, page.concurrency)
    qtbot.waitUntil(lambda: all(_fully_visible(w) for w in top), timeout=3000)
    assert page.name_edit.width() >= 300 and page.stream_combo.width() >= 200
    # The Models / Asserts tabs sit under the prompts at full width: a rubric reads as words.
    assert page.inputs_split.orientation() == Qt.Orientation.Vertical
    page.setup_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.asserts_editor.table.columnWidth(1) >= 250, timeout=3000)
    _inputs_scroll(page).ensureWidgetVisible(page.asserts_editor.larger_button)
    buttons = (page.asserts_editor.add_button, page.asserts_editor.remove_button, page.asserts_editor.larger_button)
    qtbot.waitUntil(lambda: all(_fully_visible(b) for b in buttons), timeout=3000)
    # Run stays in view and the matrix keeps some height.
    assert _fully_visible(page.run_button) and _fully_visible(page.cancel_button)
    assert page.panel.matrix.height() >= 120
    window.close()


@pytest.mark.parametrize("size", [(1360, 900), (1920, 1080)])
def test_larger_windows_keep_the_settings_on_one_line_and_the_tabs_beside_the_prompts(qtbot, ctx, size):
    window, page, frame = _experiments(qtbot, ctx, size)
    _no_sideways_scrolling(qtbot, page, frame)
    assert page.inputs_split.orientation() == Qt.Orientation.Horizontal
    ys = {w.mapTo(page, w.rect().center()).y() for w in (page.open_button, page.name_edit, page.stream_combo,
                                                        page.concurrency)}
    assert max(ys) - min(ys) <= 4, "the settings should sit on one line"
    top = (page.open_button, page.save_button, page.name_edit, page.stream_combo, page.repeats, page.concurrency)
    qtbot.waitUntil(lambda: all(_fully_visible(w) for w in top), timeout=3000)
    assert page.name_edit.width() >= 200                  # not squeezed by the long stream name
    window.close()


def test_row_headers_keep_the_values_of_long_variable_names(qtbot, ctx):
    window, page, frame = _experiments(qtbot, ctx, (1360, 900))
    page.panel.reset(expand(SPEC), SPEC.variables, [])
    header = page.panel.matrix_model.headerData(0, Qt.Orientation.Vertical)
    assert "=rate limits" in header and "=beginner" in header, header
    window.close()


def test_resizing_across_the_threshold_never_scrolls_sideways(qtbot, ctx):
    window, page, frame = _experiments(qtbot, ctx, (1920, 1080))
    for width in (1024, 1100, 1160, 1220, 1300, 1360, 1024):       # narrower, wider, and back
        window.resize(width, 800)
        qtbot.waitUntil(lambda: page.width() == frame.viewport().width(), timeout=5000)
        _no_sideways_scrolling(qtbot, page, frame)
    assert page.inputs_split.orientation() == Qt.Orientation.Vertical
    window.resize(1360, 900)
    qtbot.waitUntil(lambda: page.inputs_split.orientation() == Qt.Orientation.Horizontal, timeout=5000)
    assert page.setup_tabs.minimumHeight() == 0                    # beside the prompts: no height forced
    window.close()


def test_a_1360_by_820_window_shows_every_assert_button_without_scrolling(qtbot, ctx):
    """The demo's window (1360×860 less its banner): the Models tab's list and parameters scroll inside their
    tab, so they do not make the Asserts tab taller than the room above the results."""
    window, page, frame = _experiments(qtbot, ctx, (1360, 820))
    page.setup_tabs.setCurrentIndex(1)
    editor = page.asserts_editor
    buttons = (editor.add_button, editor.add_judge_button, editor.remove_button, editor.larger_button)
    qtbot.waitUntil(lambda: all(_fully_visible(b) for b in buttons), timeout=3000)
    assert _inputs_scroll(page).verticalScrollBar().maximum() == 0
    page.setup_tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.models.isVisible(), timeout=3000)
    assert page.models.list.visibleRegion().boundingRect().height() >= 60   # a few models in view
    window.close()
