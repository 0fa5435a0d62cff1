"""Compare mode at an ordinary window size keeps the shared system and user messages in view, and the
messages/columns split the user drags to is remembered per mode."""
from __future__ import annotations

import pytest

from desktop.main_window import MainWindow

try:
    from tests.desktop_helpers import ctx  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx  # noqa: F401


def _compare_window(qtbot, ctx, columns: int, size=(1360, 900)):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.show_page("playground")
    page = window.page("playground")
    page.compare_button.setChecked(True)
    while len(page.compare_view.columns) < columns:
        page.compare_view._on_add_clicked()
    qtbot.waitUntil(lambda: page.compare_view.isVisible() and page.messages.viewport().height() > 0, timeout=5000)
    return window, page


def _shown_height(widget) -> int:
    return widget.visibleRegion().boundingRect().height()


@pytest.mark.parametrize("columns", [2, 4])
def test_compare_mode_keeps_system_and_user_editors_visible(qtbot, ctx, columns):
    window, page = _compare_window(qtbot, ctx, columns)
    system, user = page.messages.editors[:2]
    assert user.role() == "user"
    # Fully shown, not scrolled out of the squeezed messages area.
    qtbot.waitUntil(lambda: _shown_height(user) == user.height() > 0, timeout=5000)
    assert _shown_height(system) == system.height() > 0
    assert page.compare_view.columns[0].isVisible()
    window.close()


def test_messages_split_is_remembered_per_mode(qtbot, ctx):
    window, page = _compare_window(qtbot, ctx, 2)
    before = page.left_split.sizes()
    page.left_split.moveSplitter(before[0] + 120, 1)          # as a drag does: emits splitterMoved
    dragged = page.left_split.sizes()
    assert dragged[0] > before[0]
    page.compare_button.setChecked(False)
    page.compare_button.setChecked(True)
    assert abs(page.left_split.sizes()[0] - dragged[0]) <= 2    # compare mode comes back as the user left it
    window.close()
