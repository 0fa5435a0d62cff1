"""A page that says plainly what is not there yet (rather than an empty pane)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


class PlaceholderPage(QWidget):
    def __init__(self, title: str, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.card = QFrame(objectName="placeholderCard")
        self.card.setFixedWidth(620)
        card_layout = QVBoxLayout(self.card)
        card_layout.setContentsMargins(20, 16, 20, 16)
        card_layout.setSpacing(10)
        self.title = QLabel(title, objectName="pageTitle")
        self.text = QLabel(text, wordWrap=True, textFormat=Qt.RichText)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        card_layout.addWidget(self.title)
        card_layout.addWidget(self.text)
        self.body = card_layout                      # subclasses add more below the text
        # Centred with stretches, not alignment flags: an aligned widget gets its size hint, which for
        # word-wrapped text is guessed at the wrong width and clips the last lines.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.card)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addLayout(row)
        layout.addStretch(1)
