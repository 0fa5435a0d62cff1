"""File > Export board… / Open board file… / Export PNG… / Export CSV… / Web page…, and the header's Export menu.

The dialogs live here; the work is the page's (`export_board_file`, `import_board_file`, `save_png`,
`export_csv`), which runs it on the DB worker, and the web page's (monitor.boards.html_report, also on the
DB worker).  A PNG is the whole board under a one-line caption.  Every save dialog asks before
overwriting a file (Qt's default: DontConfirmOverwrite is never passed), and no export may write over the
store itself (monitor.files.check_output_path, the rule the CLI uses too)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from monitor.boards.html_report import export_html
from monitor.files import OutputPathError, check_output_path

from .. import file_dialogs

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
        self.export_web_page = QAction("Web page…", page)
        self.export_web_page.setToolTip("A self-contained report (charts, summary, the calls) that opens in any "
                                        "browser, with no app and no network")
        self.export_web_page.triggered.connect(self._on_export_web_page_triggered)
        self.menu = QMenu(page)
        for action in (self.export_board, self.export_numbers):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.export_png)
        self.menu.addAction(self.export_csv)
        self.menu.addAction(self.export_web_page)

    def file_menu_actions(self) -> list[QAction]:
        return [self.export_board, self.open_board_file, self.export_png, self.export_csv]

    def set_board_open(self, is_open: bool) -> None:
        for action in (self.export_board, self.export_numbers, self.export_png, self.export_csv, self.export_web_page):
            action.setEnabled(is_open)

    def _default_path(self, suffix: str) -> str:
        """The file name offered (the dialog opens in the last folder used)."""
        spec = self.page.current_board()
        return f"{safe_file_name(spec.name if spec else 'board')}{suffix}"

    def _save_path(self, title: str, default: str, filters: str) -> str:
        """The chosen file (the dialog has confirmed an overwrite), or "" if cancelled or refused."""
        path = file_dialogs.save_file(self.page, self.page.ctx.settings, title, default, filters)
        return path if path and self.output_allowed(path) else ""

    def output_allowed(self, path: str) -> bool:
        """False, after saying why, for a path no export may write: the store, its -wal/-shm, a folder."""
        try:
            check_output_path(path, protect=self.page.ctx.store_file, force=True)
        except OutputPathError as exc:
            QMessageBox.warning(self.page, "Export", str(exc))
            return False
        return True

    def _on_export_board_triggered(self, include_content: bool) -> None:
        path = self._save_path("Export board", self._default_path(".board.json"), "Board files (*.json)")
        if path:
            self.page.export_board_file(path, include_content)

    def _on_open_board_file_triggered(self) -> None:
        path = file_dialogs.open_file(self.page, self.page.ctx.settings, "Open board file",
                                      "Board files (*.json);;All files (*)")
        if path:
            self.page.import_board_file(path)

    def _on_export_png_triggered(self) -> None:
        stamp = datetime.now().strftime("-%Y%m%d-%H%M")
        path = self._save_path("Export PNG", self._default_path(f"{stamp}.png"), "PNG images (*.png)")
        if path:
            self.page.save_png(path)

    def _on_export_csv_triggered(self) -> None:
        path = self._save_path("Export CSV", self._default_path(".csv"), "CSV files (*.csv)")
        if path:
            self.page.export_csv(path)

    def _on_export_web_page_triggered(self) -> None:
        path = self._save_path("Export web page", self._default_path(".html"), "Web pages (*.html *.htm)")
        if path:
            self.export_web_page_to(path)

    def export_web_page_to(self, path: str, include_content: bool = True) -> None:
        """Write the open board as a report page, on the DB worker; the header says when it is done."""
        spec = self.page.current_board()
        if spec is None or not self.output_allowed(path):
            return
        name = spec.name
        self.page.ctx.db.submit(
            lambda store: export_html(store, name, path, include_content=include_content),
            lambda n: self.page._say(f"Wrote a web page of {n:,} calls to {Path(path).name}", ok=True),
            self.page._on_file_failed)
