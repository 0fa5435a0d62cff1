"""Images attached to the Playground's last user message, sent as data URLs in its content parts.

Big images are fine: the monitor stores a small {"omitted", "bytes", "sha256"} stand-in, not the data.
"""
from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

MAX_BYTES = 20 * 1024 * 1024                 # the API's own limit for one image
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
THUMB = 56


def human_size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


class _Thumb(QFrame):
    removeRequested = Signal(object)

    def __init__(self, name: str, data: bytes, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        picture = QLabel()
        pixmap = QPixmap()
        pixmap.loadFromData(data)
        if not pixmap.isNull():
            picture.setPixmap(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation))
        picture.setFixedSize(THUMB, THUMB)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        shown = name if len(name) <= 22 else name[:10] + "…" + name[-10:]
        caption = QLabel(f"{shown}\n{human_size(len(data))}")
        caption.setTextFormat(Qt.TextFormat.PlainText)
        caption.setToolTip(f"{name} — {len(data):,} bytes")
        remove = QToolButton(text="✕", autoRaise=True, toolTip="Remove this image")
        remove.clicked.connect(lambda: self.removeRequested.emit(self))
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 2, 2)
        row.addWidget(picture)
        row.addWidget(caption)
        row.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)


class AttachmentsBar(QWidget):
    """An "Attach image…" button and a thumbnail (name and size) for each attached image."""
    changed = Signal()
    failed = Signal(str)                     # a one-line reason a file was not attached

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images: list[tuple[_Thumb, str, int]] = []      # (thumbnail, data URL, size in bytes)
        self.attach_button = QPushButton("Attach image…")
        self.attach_button.setToolTip("Add an image to the last user message (PNG, JPEG, GIF or WebP)")
        self.note = QLabel()
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignTop)
        self._row.addWidget(self.note)
        self._row.addStretch(1)
        self.attach_button.clicked.connect(self.pick)

    def pick(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images", "",
                                                "Images (*.png *.jpg *.jpeg *.gif *.webp)")
        for path in paths:
            self.add_file(path)

    def add_file(self, path: str | Path) -> bool:
        path = Path(path)
        media = mimetypes.guess_type(path.name)[0]
        if media not in IMAGE_TYPES:
            self.failed.emit(f"{path.name} is not a PNG, JPEG, GIF or WebP image.")
            return False
        try:
            if path.stat().st_size > MAX_BYTES:
                self.failed.emit(f"{path.name} is larger than {human_size(MAX_BYTES)} (the API's limit).")
                return False
            data = path.read_bytes()
        except OSError as exc:
            self.failed.emit(f"Could not read {path.name}: {exc.strerror or exc}.")
            return False
        self.add_data_url(f"data:{media};base64,{base64.b64encode(data).decode()}", path.name, data)
        return True

    def add_data_url(self, url: str, name: str, data: bytes) -> None:
        thumb = _Thumb(name, data)
        thumb.removeRequested.connect(self.remove)
        self._row.insertWidget(1 + len(self.images), thumb)
        self.images.append((thumb, url, len(data)))
        self._refresh()

    def remove(self, thumb: _Thumb) -> None:
        self.images = [i for i in self.images if i[0] is not thumb]
        thumb.setParent(None)
        thumb.deleteLater()
        self._refresh()

    def clear(self) -> None:
        for thumb, _url, _n in list(self.images):
            self.remove(thumb)

    def data_urls(self) -> list[str]:
        return [url for _thumb, url, _n in self.images]

    def set_note(self, text: str) -> None:
        self.note.setText(text)

    def _refresh(self) -> None:
        self.note.setText("")
        self.changed.emit()


def with_images(messages: list[dict], urls: list[str]) -> list[dict]:
    """`messages` with the images added as content parts of the last user message."""
    if not urls:
        return messages
    index = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if index is None:
        raise ValueError("Images go with a user message: write one first.")
    message = dict(messages[index])
    text = message.get("content")
    parts = list(text) if isinstance(text, list) else ([{"type": "text", "text": text}] if text else [])
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    message["content"] = parts
    return [*messages[:index], message, *messages[index + 1:]]


def images_of(content: object) -> tuple[list[str], int]:
    """A logged message's image data URLs, and how many images were stored only as a stand-in."""
    urls, omitted = [], 0
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict) or part.get("type") not in ("image_url", "input_image"):
            continue
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        if isinstance(url, str) and url.startswith("data:"):
            urls.append(url)
        else:
            omitted += 1
    return urls, omitted


def decode_data_url(url: str) -> bytes:
    try:
        return base64.b64decode(url.split(",", 1)[1])
    except (IndexError, ValueError):
        return b""
