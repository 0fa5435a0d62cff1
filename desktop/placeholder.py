"""A page that says plainly what is not there yet (rather than an empty pane)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


class PlaceholderPage(QWidget):
    def __init__(self, title: str, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.card = QFrame(objectName="placeholderCard")
        self.card.setMaximumWidth(640)
        card_layout = QVBoxLayout(self.card)
        card_layout.setContentsMargins(20, 16, 20, 16)
        self.title = QLabel(title, objectName="pageTitle")
        self.text = QLabel(text, wordWrap=True, textFormat=Qt.RichText)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        card_layout.addWidget(self.title)
        card_layout.addWidget(self.text)
        self.body = card_layout                      # subclasses add more below the text
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(self.card, 0, Qt.AlignTop | Qt.AlignHCenter)
        layout.addStretch(1)
