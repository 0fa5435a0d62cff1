"""The saved-prompt library bar, shared by the Playground and the Experiments page: pick a saved version and
use it (the page decides what "use" means: load it, or add it as a variant), save the page's prompt as the
next version of a named prompt with a note, and see a prompt's versions with a diff between any two.

Reads and writes run on the app's database lane (tasks.QueryOp); the diff is the library's own (difflib).
"""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QTextEdit, QVBoxLayout, QWidget)

from monitor.experiments.prompts import PromptLibrary, PromptVersion, diff

from . import tasks


def _all_versions(store: Any) -> list[PromptVersion]:
    library = PromptLibrary(store)
    return [v for name in library.names() for v in library.versions(name)]


def _save(store: Any, name: str, messages: list[dict], model: str, params: dict, tools: list,
          note: str) -> PromptVersion:
    return PromptLibrary(store).save(name, messages, model=model, params=params, tools=tools, note=note)


class PromptLibraryBar(QWidget):
    versionChosen = Signal(object)        # PromptVersion to use on the page
    saved = Signal(object)                # PromptVersion just stored
    failed = Signal(str)                  # a save that did not happen, in one line (a failed read is said in the bar)

    def __init__(self, ctx: Any, parent: QWidget | None = None, *, use_text: str = "Add as variant",
                 use_tip: str = "Add this version's system prompt as a variant and use its user template",
                 save_tip: str = "Save the first system prompt and the user template as the next version of a "
                                 "named prompt"):
        super().__init__(parent)
        self.ctx = ctx
        self.versions: list[PromptVersion] = []
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(22)       # long names are shortened, not a reason to grow the page
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setToolTip("Saved prompts and their versions (each one's note in its tooltip)")
        self.add_button = QPushButton(use_text)
        self.add_button.setToolTip(use_tip)
        self.versions_button = QPushButton("Versions…")
        self.versions_button.setToolTip("Every version of this prompt, with a diff between any two")
        self.save_button = QPushButton("Save to library…")
        self.save_button.setToolTip(save_tip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Saved prompts"))
        layout.addWidget(self.combo, 1)
        for button in (self.add_button, self.versions_button, self.save_button):
            layout.addWidget(button)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.versions_button.clicked.connect(lambda: self.show_versions())
        for button in (self.add_button, self.versions_button):
            button.setEnabled(False)                  # until the library's versions have been read
        self.refresh()

    # -- store work, on the DB lane ---------------------------------------------------------------------
    def refresh(self) -> None:
        tasks.QueryOp(self.ctx.db, _all_versions, parent=self, success=self._on_versions) \
            .failure(self._on_read_failed).latest("prompt-library").run_in_background()

    def save(self, name: str, messages: list[dict], model: str, params: dict, note: str = "",
             tools: list | None = None) -> None:
        tools = list(tools or [])
        tasks.QueryOp(self.ctx.db, lambda store: _save(store, name, messages, model, params, tools, note),
                      parent=self, success=self._on_saved).failure(self._on_failed).run_in_background()

    # -- questions ---------------------------------------------------------------------------------------
    def find(self, name: str, version: int) -> PromptVersion | None:
        return next((v for v in self.versions if v.name == name and v.version == version), None)

    def selected(self) -> PromptVersion | None:
        index = self.combo.currentIndex()
        return self.versions[index] if 0 <= index < len(self.versions) else None

    def select(self, name: str, version: int) -> None:
        index = next((i for i, v in enumerate(self.versions) if v.name == name and v.version == version), -1)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def ask_name(self, default: str = "") -> tuple[str, str] | None:
        name, ok = QInputDialog.getText(self, "Save to prompt library", "Prompt name:", text=default)
        if not ok or not name.strip():
            return None
        note, ok = QInputDialog.getText(self, "Save to prompt library", "Note for this version (what changed):")
        return (name.strip(), note if ok else "")

    def show_versions(self, name: str | None = None) -> "VersionsDialog | None":
        """The versions of `name` (default: the selected prompt) and a diff; non-modal, returned for tests."""
        chosen = self.selected()
        name = name or (chosen.name if chosen else None)
        versions = [v for v in self.versions if v.name == name]
        if not versions:
            return None
        dialog = VersionsDialog(versions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if chosen is not None and chosen.name == name and chosen.version > 1:
            dialog.compare(chosen.version - 1, chosen.version)
        dialog.show()
        return dialog

    # -- slots -------------------------------------------------------------------------------------------
    def _on_versions(self, versions: list[PromptVersion]) -> None:
        self.versions = versions
        current = self.combo.currentText()
        self.combo.clear()
        for v in versions:
            self.combo.addItem(f"{_short(v.name)} v{v.version}")
            tip = f"{v.name} v{v.version} · {v.model or 'no model'}\n{v.note or '(no note)'}"
            self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        if current:
            self.combo.setCurrentText(current)
        for button in (self.add_button, self.versions_button):
            button.setEnabled(bool(versions))

    def _on_saved(self, version: PromptVersion) -> None:
        self.saved.emit(version)
        self.refresh()
        self.select(version.name, version.version)

    def _on_read_failed(self, exc: BaseException) -> None:
        self.combo.clear()
        self.combo.setPlaceholderText("could not read the library")
        self.combo.setToolTip(f"Could not read the prompt library: {type(exc).__name__}: {exc}")

    def _on_failed(self, exc: BaseException) -> None:
        self.failed.emit(str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")

    def _on_add_clicked(self) -> None:
        version = self.selected()
        if version is not None:
            self.versionChosen.emit(version)


def _short(name: str, limit: int = 24) -> str:
    """A long prompt name shortened in the middle, so the version number after it stays in view."""
    if len(name) <= limit:
        return name
    tail = limit // 3
    return f"{name[:limit - tail - 1]}…{name[-tail:]}"


_DIFF_COLOURS = {"+": ("#e6f4ea", "#1e4620"), "-": ("#fdecea", "#8c1d18"), "@": ("#eef3fb", "#1d3a66")}


def diff_html(text: str) -> str:
    """A unified diff as HTML: added lines green, removed red, hunk headers blue (monospace, escaped)."""
    import html

    rows = []
    for line in text.splitlines():
        bg, fg = _DIFF_COLOURS.get(line[:1], ("transparent", "inherit"))
        if line.startswith(("+++", "---")):
            bg, fg = "transparent", "#555"
        rows.append(f'<div style="background:{bg}; color:{fg}; white-space:pre-wrap;">'
                    f'{html.escape(line) or "&nbsp;"}</div>')
    return "".join(rows) or "<i>No differences.</i>"


class VersionsDialog(QDialog):
    """One prompt's versions (number, date, model, note) and the diff between two chosen ones."""

    def __init__(self, versions: list[PromptVersion], parent: QWidget | None = None):
        super().__init__(parent)
        self.versions = versions
        name = versions[0].name
        self.setWindowTitle(f"Versions of “{name}”")
        self.resize(820, 560)
        self.table = QTableWidget(len(versions), 4)
        self.table.setHorizontalHeaderLabels(["Version", "Saved", "Model", "Note"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for row, v in enumerate(versions):
            saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created)) if v.created else ""
            for col, text in enumerate((f"v{v.version}", saved, v.model, v.note)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, col, item)
        header = self.table.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        rows = min(len(versions), 5)              # a few rows in view (it scrolls beyond); the diff gets the rest
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + rows * self.table.verticalHeader().defaultSectionSize() + 4)
        self.table.selectRow(len(versions) - 1)
        self.old_combo, self.new_combo = QComboBox(), QComboBox()
        for combo in (self.old_combo, self.new_combo):
            combo.addItems([f"v{v.version}" for v in versions])
            combo.currentIndexChanged.connect(self._show_diff)
        self.diff_view = QTextEdit()
        self.diff_view.setReadOnly(True)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Diff from"))
        pick.addWidget(self.old_combo)
        pick.addWidget(QLabel("to"))
        pick.addWidget(self.new_combo)
        pick.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(pick)
        layout.addWidget(self.diff_view, 1)
        layout.addWidget(buttons)
        self.compare(versions[max(0, len(versions) - 2)].version, versions[-1].version)

    def compare(self, old: int, new: int) -> None:
        numbers = [v.version for v in self.versions]
        for combo, number in ((self.old_combo, old), (self.new_combo, new)):
            combo.blockSignals(True)
            combo.setCurrentIndex(numbers.index(number) if number in numbers else 0)
            combo.blockSignals(False)
        self._show_diff()

    def diff_text(self) -> str:
        old, new = self.versions[self.old_combo.currentIndex()], self.versions[self.new_combo.currentIndex()]
        return diff(old, new)

    def _show_diff(self, *_: Any) -> None:
        self.diff_view.setHtml(diff_html(self.diff_text()))
