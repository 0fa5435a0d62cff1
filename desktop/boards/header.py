"""The board's header: its name (click to rename), its stream, the board menu and the board buttons."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QSizePolicy, QToolButton,
                               QWidget)

from .. import formatting as fmt

TITLE_MAX = 560          # px: a long board name elides beyond this (the whole name is in the tooltip)
MESSAGE_TIMEOUT_MS = 8000

HEADER_STYLE = """
#boardTitle { font-size: 17px; font-weight: 600; color: #24292f; border: 1px solid transparent;
              border-radius: 4px; padding: 1px 4px; background: transparent; }
#boardTitle:hover { border-color: #d0d7de; }
#boardTitle:focus { border-color: #0969da; background: white; }
#streamLabel { color: #57606a; }
#importedTag { background: #fff8c5; color: #7d4e00; border: 1px solid #d4a72c; border-radius: 9px; padding: 0 7px; }
#headerMessage { color: #cf222e; }
#boardsMenuButton::menu-indicator { image: none; width: 0; }
#headerMessage[ok="true"] { color: #1a7f37; }
"""


class TitleEdit(QLineEdit):
    """A title that reads as a heading and edits in place: Enter renames, Escape or focus loss restores.
    Not being edited, a long name shows elided (the whole of it in the tooltip); it never widens the header."""
    renameRequested = Signal(str, str)          # old name, new name

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="boardTitle")
        self.name = ""
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.setMinimumWidth(100)
        self.returnPressed.connect(self._on_return_pressed)

    def set_name(self, name: str) -> None:
        self.name = name
        self.setToolTip(f"{name}\n\nClick to rename the board; Enter saves, Esc cancels")
        self.updateGeometry()
        self._show_name()

    def _show_name(self) -> None:
        if self.hasFocus():
            self.setText(self.name)
        else:
            room = max(self.width() - 14, 40)
            self.setText(QFontMetrics(self.font()).elidedText(self.name, Qt.ElideRight, room))
        self.setCursorPosition(0)

    def sizeHint(self):                         # noqa: N802 (Qt's name)
        self.ensurePolished()                   # the stylesheet's font, not the default one
        hint = super().sizeHint()
        width = QFontMetrics(self.font()).horizontalAdvance(self.name or " ") + 18
        hint.setWidth(min(max(width, 120), TITLE_MAX))
        return hint

    def resizeEvent(self, event) -> None:       # noqa: N802
        super().resizeEvent(event)
        if not self.hasFocus():
            self._show_name()

    def focusInEvent(self, event) -> None:      # noqa: N802
        elided = self.text() != self.name
        super().focusInEvent(event)
        if elided:
            self.setText(self.name)

    def keyPressEvent(self, event) -> None:     # noqa: N802
        if event.key() == Qt.Key_Escape:
            self.restore()
            self.clearFocus()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:     # noqa: N802
        super().focusOutEvent(event)
        self.restore()

    def restore(self) -> None:
        self.set_name(self.name)

    def _on_return_pressed(self) -> None:
        new = self.text().strip()
        if new and new != self.name:
            self.renameRequested.emit(self.name, new)
        else:
            self.restore()
        self.clearFocus()


class ElidedLabel(QLabel):
    """Plain text that shows what fits (elided where `mode` says) and never asks for more width."""

    def __init__(self, mode: Qt.TextElideMode | str = Qt.ElideRight, min_width: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.mode = mode                        # a Qt mode, or "path": "stream my-team/…/openai_logs"
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(min_width)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self.updateGeometry()
        self._elide()

    def text_width(self) -> int:
        return QFontMetrics(self.font()).horizontalAdvance(self.full_text) + 4

    def sizeHint(self):                         # noqa: N802
        hint = super().sizeHint()
        hint.setWidth(self.text_width())
        return hint

    def resizeEvent(self, event) -> None:       # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics, room = QFontMetrics(self.font()), max(self.width() - 2, 0)
        if self.mode == "path":
            prefix, _, path = self.full_text.rpartition(" ")
            prefix = prefix + " " if prefix else ""
            shown = prefix + fmt.elide_path(path, lambda t: metrics.horizontalAdvance(prefix + t) <= room)
            self.setText(shown)
        else:
            self.setText(metrics.elidedText(self.full_text, self.mode, room))


class BoardHeader(QWidget):
    """Name, board menu, stream, messages and the board's actions on one line that never grows wider than
    the page: names and messages elide, and when the line is narrow Add panel / Duplicate / Delete move into
    a "⋯" menu (Export stays a button of its own, away from Delete)."""
    duplicateRequested = Signal()
    deleteRequested = Signal()
    addPanelRequested = Signal()
    boardChosen = Signal(str)
    newBoardRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(HEADER_STYLE)
        self.title = TitleEdit()
        self.boards_button = QToolButton(text="▾", toolTip="Other boards of this stream", autoRaise=True,
                                          objectName="boardsMenuButton")
        self.boards_button.setPopupMode(QToolButton.InstantPopup)
        self.boards_menu = QMenu(self.boards_button)
        self.boards_button.setMenu(self.boards_menu)
        self.stream_label = ElidedLabel("path", 150, objectName="streamLabel")
        self.stream_label.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)   # its width before a message's
        self.imported_tag = QLabel("imported copy", objectName="importedTag")
        self.imported_tag.setToolTip("A snapshot read from a board file: no new calls arrive in this stream")
        self.imported_tag.hide()
        self.message = ElidedLabel(Qt.ElideRight, 0, objectName="headerMessage")
        self._message_timer = QTimer(self, singleShot=True, interval=MESSAGE_TIMEOUT_MS)
        self._message_timer.timeout.connect(self.clear_message)

        self.add_panel_button = QPushButton("Add panel")
        self.add_panel_button.clicked.connect(self.addPanelRequested)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Save a copy of this board under a new name")
        self.duplicate_button.clicked.connect(self.duplicateRequested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.deleteRequested)
        self.export_button = QToolButton(text="Export ")
        self.export_button.setPopupMode(QToolButton.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.export_button.setMinimumHeight(self.duplicate_button.sizeHint().height())
        self.more_menu = QMenu(self)
        self.more_menu.addAction("Add panel…", lambda: self.addPanelRequested.emit())
        self.more_menu.addAction("Duplicate", lambda: self.duplicateRequested.emit())
        self.more_menu.addSeparator()
        self.more_menu.addAction("Delete…", lambda: self.deleteRequested.emit())
        self.more_button = QToolButton(text="⋯", toolTip="More: add panel, duplicate, delete",
                                       objectName="moreButton")
        self.more_button.setPopupMode(QToolButton.InstantPopup)
        self.more_button.setMenu(self.more_menu)
        self.more_button.setMinimumHeight(self.duplicate_button.sizeHint().height())
        self.more_button.hide()

        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 2)
        row.setSpacing(6)
        row.addWidget(self.title)
        row.addWidget(self.boards_button)
        row.addSpacing(4)
        row.addWidget(self.stream_label)
        row.addWidget(self.imported_tag)
        row.addSpacing(8)
        row.addWidget(self.message, 1)
        for w in (self.add_panel_button, self.duplicate_button, self.delete_button, self.more_button,
                  self.export_button):
            row.addWidget(w)

    def collapsible_buttons(self) -> tuple[QPushButton, ...]:
        return self.add_panel_button, self.duplicate_button, self.delete_button

    def _wide_enough(self, width: int) -> bool:
        """Room for the buttons and still a readable title and stream (~300 px) beside them."""
        buttons = sum(b.sizeHint().width() + 6 for b in self.collapsible_buttons())
        fixed = (self.boards_button.sizeHint().width() + self.export_button.sizeHint().width()
                 + (self.imported_tag.sizeHint().width() if not self.imported_tag.isHidden() else 0) + 80)
        return width >= buttons + fixed + 560     # room for a readable title and stream beside them

    def resizeEvent(self, event) -> None:       # noqa: N802
        super().resizeEvent(event)
        wide = self._wide_enough(event.size().width())
        if wide == self.more_button.isHidden():
            return
        for b in self.collapsible_buttons():
            b.setVisible(wide)
        self.more_button.setVisible(not wide)

    def set_board(self, name: str, stream: str, imported: bool) -> None:
        self.title.set_name(name)
        self.stream_label.set_full_text(f"stream {stream}" if stream else "")
        self.imported_tag.setVisible(imported)
        self.clear_message()                    # a message about the board shown before is not about this one

    def set_boards(self, names: list[str], current: str) -> None:
        self.boards_menu.clear()
        for name in names:
            action = self.boards_menu.addAction(name, lambda n=name: self.boardChosen.emit(n))
            action.setCheckable(True)
            action.setChecked(name == current)
        if names:
            self.boards_menu.addSeparator()
        self.boards_menu.addAction("New OpenAI Monitor Board", self.newBoardRequested)

    def show_message(self, text: str, ok: bool = False) -> None:
        self.message.setProperty("ok", "true" if ok else "false")     # a string: QSS compares text
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.set_full_text(text)
        self.message.setMinimumWidth(min(self.message.text_width(), 160))     # readable, never much wider
        self._message_timer.start()

    def clear_message(self) -> None:
        self._message_timer.stop()
        self.message.set_full_text("")
        self.message.setMinimumWidth(0)
