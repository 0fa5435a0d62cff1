"""A window that fits the screen it opens on: 1360×860 by default, the screen's room when that is smaller, and
the demo banner wraps instead of widening the window past a 1024 px screen (seen under Xvfb at 1024×700: the
Playground's Run button and the Requests page's right columns were off screen)."""
from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QSize

from desktop.demo import DemoBanner
from desktop.style import apply_style
from desktop.main_window import MainWindow, default_size

try:
    from tests.app_helpers import insert, make_record
    from tests.desktop_helpers import ctx  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_record
    from desktop_helpers import ctx  # noqa: F401


def test_the_default_size_never_exceeds_the_screen():
    assert default_size(QSize(1920, 1080)) == (1360, 860)
    assert default_size(QSize(1024, 700)) == (1024, 700)
    assert default_size(QSize(1280, 680)) == (1280, 680)


def test_the_demo_banner_never_makes_the_window_wider_than_a_1024_px_screen(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.set_banner(DemoBanner(SimpleNamespace(paused=False)))
    window.resize(1024, 700)
    window.show()
    for page in ("requests", "playground"):
        window.show_page(page)
        qtbot.waitUntil(lambda: window.width() > 0, timeout=5000)
        assert window.minimumSizeHint().width() <= 1024, page
        assert window.width() <= 1024, page
    window.close()


def test_the_requests_page_with_a_call_shown_fits_a_1024_px_window(qtbot, qapp, ctx):
    apply_style(qapp)              # the app's fonts and paddings (the suite's order may or may not have set them)
    stream = "my-team/customer-support/openai_logs_for_the_escalation_triage"
    insert(ctx.db_path, [make_record(stream, i, model="text-embedding-3-small-with-a-long-deployment-name")
                         for i in range(5)])
    window = MainWindow(ctx, stream=stream)
    qtbot.addWidget(window)
    window.set_banner(DemoBanner(SimpleNamespace(paused=False)))
    window.resize(1024, 700)
    window.show()
    window.show_page("requests")
    page = window.page("requests")
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=30000)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.detail.record is not None, timeout=30000)
    qtbot.waitUntil(lambda: page.detail.header.isVisible() and "text-embedding" in page.detail.header.text(),
                    timeout=30000)
    for _ in range(5):                                      # the layout passes after the record was shown
        qapp.processEvents()
    bar = window._pages["requests"].frame.horizontalScrollBar()
    assert page.minimumSizeHint().width() <= window._pages["requests"].frame.viewport().width()
    qtbot.waitUntil(lambda: bar.maximum() == 0, timeout=30000)
    window.close()
