"""A panel's frame on the board: title, legend, the ⋮ menu (edit, remove, move), and its body
(a TimeseriesChart, a StatPanel or the RequestsTablePanel)."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from monitor.boards import Panel

FRAME_STYLE = """
#boardPanel { background: white; border: 1px solid #d0d7de; border-radius: 6px; }
#panelTitle { color: #24292f; font-weight: 600; }
#panelLegend { color: #57606a; font-size: 11px; }
#panelMenuButton { border: none; color: #57606a; padding: 0 4px; font-size: 14px; }
#panelMenuButton:hover { background: #eaeef2; border-radius: 4px; }
#panelMenuButton::menu-indicator { image: none; width: 0; }
"""
_STYLE_GLYPHS = {"line": "▬", "box": "■", "style0": "▬▬", "style1": "▬&nbsp;▬", "style2": "•&nbsp;•&nbsp;•",
                 "style3": "▬&nbsp;•"}
MOVES = (("left", "Move left"), ("right", "Move right"), ("up", "Move up"), ("down", "Move down"))


def legend_html(entries: list[tuple[str, QColor, str]]) -> str:
    parts = []
    for label, color, kind in entries:
        glyph = _STYLE_GLYPHS.get(kind, "■")
        alpha = ""
        if kind.startswith("shade"):
            shade = (1.0, 0.65, 0.42, 0.25)[int(kind[5:]) % 4]
            alpha = f"; opacity:{shade}"
            color = QColor(color)
            color.setAlphaF(shade)
        # no-break spaces inside an entry: the legend wraps between entries, never inside one
        text = html.escape(label).replace(" ", "&nbsp;").replace("-", "&#8209;")
        parts.append(f"<span style='color:{color.name(QColor.HexArgb) if alpha else color.name()}'>{glyph}</span>"
                     f"&nbsp;{text}")
    return " &nbsp; ".join(parts)


class PanelFrame(QFrame):
    editRequested = Signal(str)
    removeRequested = Signal(str)
    moveRequested = Signal(str, str)

    def __init__(self, panel: Panel, body: QWidget, parent: QWidget | None = None):
        super().__init__(parent, objectName="boardPanel")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet(FRAME_STYLE)
        self.panel = panel
        self.body = body
        self.title = QLabel(panel.title or "Untitled panel", objectName="panelTitle")
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.legend = QLabel("", objectName="panelLegend", textFormat=Qt.RichText, wordWrap=True)
        self.legend.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.legend.hide()
        self._legend_labels: list[str] = []
        self.menu_button = QToolButton(objectName="panelMenuButton", text="⋮", toolTip="Panel: edit, remove, move")
        self.menu_button.setPopupMode(QToolButton.InstantPopup)
        self.menu = QMenu(self.menu_button)
        self.menu.addAction("Edit…", lambda: self.editRequested.emit(self.panel.id))
        self.move_actions = {}
        for direction, text in MOVES:
            self.move_actions[direction] = self.menu.addAction(
                text, lambda d=direction: self.moveRequested.emit(self.panel.id, d))
        self.menu.addSeparator()
        self.menu.addAction("Remove", lambda: self.removeRequested.emit(self.panel.id))
        self.menu_button.setMenu(self.menu)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(6)
        head.addWidget(self.title, 1)
        head.addWidget(self.menu_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 8)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.legend)
        layout.addWidget(body, 1)

    def set_legend(self, entries: list[tuple[str, QColor, str]]) -> None:
        labels = [e[0] for e in entries]
        if labels == self._legend_labels and (not entries or self.legend.isVisible()):
            return
        self._legend_labels = labels
        self.legend.setText(legend_html(entries))
        self.legend.setVisible(bool(entries))

    def legend_labels(self) -> list[str]:
        return list(self._legend_labels)

    def set_moves_enabled(self, enabled: dict[str, bool]) -> None:
        for direction, action in self.move_actions.items():
            action.setEnabled(enabled.get(direction, True))
