"""File > Export board… / Open board file… / Export PNG… / Export CSV…, and the header's Export menu.

The dialogs live here; the work is the page's (`export_board_file`, `import_board_file`, `save_png`,
`export_csv`), which runs it on the DB worker.  A PNG is the whole board under a one-line caption."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

CAPTION_HEIGHT = 40


def safe_file_name(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" ._") or "board"


def captioned(board: QPixmap, title: str, subtitle: str) -> QImage:
    """The board with its name, stream and range above it, as an exported PNG shows it."""
    ratio = board.devicePixelRatio()
    width = int(board.width() / ratio)
    image = QImage(int(width * ratio), int((board.height() / ratio + CAPTION_HEIGHT) * ratio),
                   QImage.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(QColor("#f6f8fa"))
    painter = QPainter(image)
    try:
        font = QFont(painter.font())
        font.setPixelSize(17)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#24292f"))
        painter.drawText(QRect(14, 0, width - 28, CAPTION_HEIGHT), Qt.AlignVCenter | Qt.AlignLeft, title)
        title_width = painter.fontMetrics().horizontalAdvance(title)
        font.setPixelSize(12)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(QColor("#57606a"))
        painter.drawText(QRect(14 + title_width + 14, 0, width, CAPTION_HEIGHT), Qt.AlignVCenter | Qt.AlignLeft,
                         subtitle)
        painter.drawPixmap(QPoint(0, CAPTION_HEIGHT), board)
    finally:
        painter.end()
    return image


class FileActions:
    """The QActions (for the main window's File menu) and the Export menu of the board header."""

    def __init__(self, page: QWidget):
        self.page = page
        self.export_board = QAction("Export board…", page)
        self.export_board.setToolTip("A board file with the calls it covers, for a teammate's copy of the app")
        self.export_board.triggered.connect(lambda: self._on_export_board_triggered(True))
        self.export_numbers = QAction("Export board without prompts and outputs…", page)
        self.export_numbers.triggered.connect(lambda: self._on_export_board_triggered(False))
        self.open_board_file = QAction("Open board file…", page)
        self.open_board_file.triggered.connect(self._on_open_board_file_triggered)
        self.export_png = QAction("Export PNG…", page)
        self.export_png.triggered.connect(self._on_export_png_triggered)
        self.export_csv = QAction("Export CSV…", page)
        self.export_csv.setToolTip("The board's calls (its range and filters) as CSV")
        self.export_csv.triggered.connect(self._on_export_csv_triggered)
        self.menu = QMenu(page)
        for action in (self.export_board, self.export_numbers):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.export_png)
        self.menu.addAction(self.export_csv)

    def file_menu_actions(self) -> list[QAction]:
        return [self.export_board, self.open_board_file, self.export_png, self.export_csv]

    def set_board_open(self, is_open: bool) -> None:
        for action in (self.export_board, self.export_numbers, self.export_png, self.export_csv):
            action.setEnabled(is_open)

    def _default_path(self, suffix: str) -> str:
        spec = self.page.current_board()
        name = safe_file_name(spec.name if spec else "board")
        return str(Path.home() / f"{name}{suffix}")

    def _on_export_board_triggered(self, include_content: bool) -> None:
        path, _ = QFileDialog.getSaveFileName(self.page, "Export board", self._default_path(".board.json"),
                                              "Board files (*.json)")
        if path:
            self.page.export_board_file(path, include_content)

    def _on_open_board_file_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.page, "Open board file", str(Path.home()),
                                              "Board files (*.json);;All files (*)")
        if path:
            self.page.import_board_file(path)

    def _on_export_png_triggered(self) -> None:
        stamp = datetime.now().strftime("-%Y%m%d-%H%M")
        path, _ = QFileDialog.getSaveFileName(self.page, "Export PNG", self._default_path(f"{stamp}.png"),
                                              "PNG images (*.png)")
        if path:
            self.page.save_png(path)

    def _on_export_csv_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.page, "Export CSV", self._default_path(".csv"), "CSV files (*.csv)")
        if path:
            self.page.export_csv(path)
