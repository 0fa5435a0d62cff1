"""The Playground fits a 1024×700 window beside the sidebar — single prompt and Compare with 2 or 4 columns,
with a long profile name, a long stream name and a long estimate — so its page never scrolls sideways."""
from __future__ import annotations

import pytest

from desktop.main_window import MainWindow
from monitor.profiles import Profile

try:
    from tests.desktop_helpers import ctx  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx  # noqa: F401

LONG_PROFILE = "team-shared-azure-openai-production-east-us-2"
LONG_STREAM = "my-team/customer-support/openai_logs_for_the_escalation_triage_experiments"


def _playground(qtbot, ctx, size):
    ctx.profiles.save(Profile(LONG_PROFILE, base_url="http://127.0.0.1:9/v1", kind="demo",
                              default_model="gpt-4o-mini"))
    ctx.current_profile = LONG_PROFILE
    window = MainWindow(ctx, stream=LONG_STREAM)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.show_page("playground")
    page = window.page("playground")
    page.set_stream(LONG_STREAM)
    page.messages.editors[0].text.setPlainText("You answer in a formal register, with one example. " * 4)
    page.messages.editors[1].text.setPlainText("Explain {topic} to {audience} in one paragraph.")
    page.estimate_label.setText("~1,234 prompt tokens · ≤ $0.000123 with 256 output tokens max · "
                                "unfilled: {topic}, {audience}")
    return window, page


def _fits(window, page) -> tuple[int, int, int]:
    frame = window._pages["playground"].frame           # the scroll area MainWindow puts every page in
    return page.minimumSizeHint().width(), frame.viewport().width(), frame.horizontalScrollBar().maximum()


@pytest.mark.parametrize("columns", [0, 2, 4])
def test_playground_fits_a_1024_px_window_without_a_horizontal_scrollbar(qtbot, ctx, columns):
    window, page = _playground(qtbot, ctx, (1024, 700))
    if columns:
        page.compare_button.setChecked(True)
        while len(page.compare_view.columns) < columns:
            page.compare_view._on_add_clicked()
        page.compare_view.total_label.setText("4 variants · estimate $0.000037 before sending · last run cost $0.00012")
    qtbot.waitUntil(lambda: page.isVisible() and page.width() > 0, timeout=5000)
    minimum, available, _scroll = _fits(window, page)    # size hints follow the texts at once
    assert minimum <= available, f"the page needs {minimum} px, the window gives it {available}"
    bar = window._pages["playground"].frame.horizontalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() == 0 and not bar.isVisible(), timeout=3000)   # no sideways scrolling
    # The controls stay usable at that size: Run and Cancel in view, the messages' editors not squeezed away.
    assert page.run_button.visibleRegion().boundingRect().width() == page.run_button.width()
    assert page.cancel_button.visibleRegion().boundingRect().width() == page.cancel_button.width()
    assert page.messages.editors[1].visibleRegion().boundingRect().height() > 30
    window.close()


@pytest.mark.parametrize("size", [(1360, 900), (1920, 1080)])
def test_playground_uses_the_room_of_larger_windows(qtbot, ctx, size):
    window, page = _playground(qtbot, ctx, size)
    qtbot.waitUntil(lambda: page.isVisible() and page.width() == _fits(window, page)[1], timeout=5000)
    minimum, available, scroll = _fits(window, page)
    assert minimum <= available and scroll == 0           # stretched to the window, never scrolled
    assert page.profile_label.text() == f"Profile: {LONG_PROFILE}"     # room enough: not elided
    window.close()
