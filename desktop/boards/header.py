"""The board's header: its name (click to rename), its stream, the board menu and the board buttons."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QToolButton, QWidget

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
    """A title that reads as a heading and edits in place: Enter renames, Escape or focus loss restores."""
    renameRequested = Signal(str, str)          # old name, new name

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="boardTitle")
        self.name = ""
        self.setToolTip("Click to rename the board; Enter saves, Esc cancels")
        self.returnPressed.connect(self._on_return_pressed)

    def set_name(self, name: str) -> None:
        self.name = name
        self.setText(name)
        self.setCursorPosition(0)
        self._fit()

    def _fit(self) -> None:
        self.ensurePolished()                   # the stylesheet's font, not the default one
        width = QFontMetrics(self.font()).horizontalAdvance(self.text() or " ") + 16
        self.setMinimumWidth(min(max(width, 120), 560))
        self.setMaximumWidth(min(max(width, 120), 560))

    def keyPressEvent(self, event) -> None:     # noqa: N802 (Qt's name)
        if event.key() == Qt.Key_Escape:
            self.restore()
            self.clearFocus()
            return
        super().keyPressEvent(event)
        self._fit()

    def focusOutEvent(self, event) -> None:     # noqa: N802
        super().focusOutEvent(event)
        if self.text().strip() != self.name:
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


class BoardHeader(QWidget):
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
        self.stream_label = QLabel("", objectName="streamLabel")
        self.stream_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.imported_tag = QLabel("imported copy", objectName="importedTag")
        self.imported_tag.setToolTip("A snapshot read from a board file: no new calls arrive in this stream")
        self.imported_tag.hide()
        self.message = QLabel("", objectName="headerMessage")
        self._message_timer = QTimer(self, singleShot=True, interval=8000)
        self._message_timer.timeout.connect(lambda: self.message.setText(""))

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
        for w in (self.add_panel_button, self.duplicate_button, self.delete_button, self.export_button):
            row.addWidget(w)

    def set_board(self, name: str, stream: str, imported: bool) -> None:
        self.title.set_name(name)
        self.stream_label.setText(f"stream <b>{html.escape(stream)}</b>" if stream else "")
        self.stream_label.setTextFormat(Qt.RichText)
        self.imported_tag.setVisible(imported)

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
        self.message.setText(text)
        self.message.setToolTip(text)
        self._message_timer.start()
