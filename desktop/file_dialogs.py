"""File dialogs that open where the user last was: one remembered folder (QSettings "files/last_folder") for
every open and save dialog of the app, the user's home folder before the first one, or when it is gone."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

LAST_FOLDER_KEY = "files/last_folder"


def last_folder(settings: QSettings) -> Path:
    folder = str(settings.value(LAST_FOLDER_KEY, "") or "")
    return Path(folder) if folder and Path(folder).is_dir() else Path.home()


def remember_folder(settings: QSettings, path: str) -> None:
    settings.setValue(LAST_FOLDER_KEY, str(Path(path).parent))


def save_file(parent: QWidget, settings: QSettings, title: str, file_name: str, filters: str) -> str:
    """The chosen path ("" if cancelled); Qt's own dialog asks before overwriting."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(last_folder(settings) / file_name), filters)
    if path:
        remember_folder(settings, path)
    return path


def open_file(parent: QWidget, settings: QSettings, title: str, filters: str, folder: Path | None = None) -> str:
    """The chosen path ("" if cancelled); starts in `folder` until the user has chosen a file somewhere."""
    start = folder if folder is not None and not settings.value(LAST_FOLDER_KEY) else last_folder(settings)
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start), filters)
    if path:
        remember_folder(settings, path)
    return path
