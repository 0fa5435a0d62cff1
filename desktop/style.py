"""The app's look: Fusion style, the stylesheet in resources/, icons, and the colours code needs."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication

from monitor.paths import resource_path

STATUS_COLORS = {"success": "#1a7f37", "error": "#cf222e", "cancelled": "#9a6700"}
MUTED = "#57606a"
ROLE_COLORS = {"system": "#8250df", "user": "#0969da", "assistant": "#1a7f37", "tool": "#9a6700",
               "developer": "#8250df"}


def status_color(status: str) -> QColor:
    return QColor(STATUS_COLORS.get(status, MUTED))


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """resources/icons/<name>.svg (an empty icon if missing, so a lost file never breaks a window)."""
    path = resource_path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")          # the same look on every platform; the QSS is written against it
    app.setWindowIcon(icon("app"))
    path = resource_path("style.qss")
    if path.exists():
        app.setStyleSheet(path.read_text(encoding="utf-8"))
