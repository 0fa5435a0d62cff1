"""The saved-prompt library on the Experiments page: add a saved version as a system-prompt variant, or save
a variant (with the user template, first model and parameters) as the next version of a named prompt.

Reads and writes go through the app's database thread; a variant that is still exactly what the library holds
makes its calls carry `prompt` and `prompt_version` (see ExperimentSpec.prompt_refs).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLabel, QPushButton, QWidget

from monitor.experiments.prompts import PromptLibrary, PromptVersion

from .. import workers


def _all_versions(store: Any) -> list[PromptVersion]:
    library = PromptLibrary(store)
    return [v for name in library.names() for v in library.versions(name)]


def _save(store: Any, name: str, messages: list[dict], model: str, params: dict, note: str) -> PromptVersion:
    return PromptLibrary(store).save(name, messages, model=model, params=params, note=note)


class PromptLibraryBar(QWidget):
    versionChosen = Signal(object)        # PromptVersion to add as a variant
    saved = Signal(object)                # PromptVersion just stored
    failed = Signal(str)

    def __init__(self, ctx: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.versions: list[PromptVersion] = []
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        self.combo.setToolTip("Saved prompts and their versions (the note of each in its tooltip)")
        self.add_button = QPushButton("Add as variant")
        self.add_button.setToolTip("Add this version's system prompt as a variant and use its user template")
        self.save_button = QPushButton("Save to library…")
        self.save_button.setToolTip("Save the first system prompt and the user template as the next version of a "
                                    "named prompt")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Saved prompts"))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.add_button)
        layout.addWidget(self.save_button)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.add_button.setEnabled(False)             # until the library's versions have been read
        self.refresh()

    def refresh(self) -> None:
        self.ctx.db.submit(_all_versions, workers.alive(self, self._on_versions), workers.alive(self, self.failed.emit),
                           key="experiments/prompt-library")

    def save(self, name: str, messages: list[dict], model: str, params: dict, note: str = "") -> None:
        self.ctx.db.submit(lambda store: _save(store, name, messages, model, params, note),
                           workers.alive(self, self._on_saved), workers.alive(self, self.failed.emit))

    def find(self, name: str, version: int) -> PromptVersion | None:
        return next((v for v in self.versions if v.name == name and v.version == version), None)

    def ask_name(self, default: str = "") -> tuple[str, str] | None:
        name, ok = QInputDialog.getText(self, "Save to prompt library", "Prompt name:", text=default)
        if not ok or not name.strip():
            return None
        note, ok = QInputDialog.getText(self, "Save to prompt library", "Note for this version (what changed):")
        return (name.strip(), note if ok else "")

    def _on_versions(self, versions: list[PromptVersion]) -> None:
        self.versions = versions
        current = self.combo.currentText()
        self.combo.clear()
        for v in versions:
            self.combo.addItem(f"{v.name} v{v.version}")
            self.combo.setItemData(self.combo.count() - 1, v.note or "(no note)", 3)   # 3 = ToolTipRole
        if current:
            self.combo.setCurrentText(current)
        self.add_button.setEnabled(bool(versions))

    def _on_saved(self, version: PromptVersion) -> None:
        self.saved.emit(version)
        self.refresh()

    def _on_add_clicked(self) -> None:
        index = self.combo.currentIndex()
        if 0 <= index < len(self.versions):
            self.versionChosen.emit(self.versions[index])
