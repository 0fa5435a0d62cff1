"""The Playground's side of the prompt library: load a saved version (messages, model, parameters, tools),
save the Playground as the next version with a note, and — while the Playground still holds exactly what was
loaded or saved — make its calls carry `prompt` and `prompt_version`, so a board can group by them.

A mixin for PlaygroundPage (which owns the widgets it reads: messages, model_picker, params, banner).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout

from monitor.experiments.prompts import PromptVersion

from ..prompt_library import PromptLibraryBar


@dataclass
class LoadedPrompt:
    version: PromptVersion
    state: str                 # the Playground's prompt as it was right after loading / saving this version


class SavedPromptMixin:
    _loaded: LoadedPrompt | None = None
    _tools: list = []                          # a loaded version's tools: sent with every run, saved along
    _saving_state = ""

    def _build_library(self, layout: QVBoxLayout) -> None:
        self.library = PromptLibraryBar(
            self.ctx, use_text="Load", use_tip="Load this version: its messages, model, parameters and tools",
            save_tip="Save the messages, model and parameters as the next version of a named prompt, with a note")
        self.library.combo.setMinimumContentsLength(6)      # the messages column must fit a 1024-px window
        self.prompt_label = QLabel()
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setTextFormat(Qt.TextFormat.PlainText)
        self.prompt_label.setStyleSheet("color: palette(placeholder-text);")
        self.prompt_label.hide()
        layout.addWidget(self.library)
        layout.addWidget(self.prompt_label)
        self.library.versionChosen.connect(self.load_prompt)
        self.library.saved.connect(self._on_prompt_saved)
        self.library.failed.connect(lambda err: self._set_banner("error", f"Prompt library: {err}"))
        self.library.save_button.clicked.connect(self._on_save_prompt_clicked)

    # -- public API ---------------------------------------------------------------------------------
    def load_prompt(self, version: PromptVersion) -> None:
        """Put a saved version in the Playground; its calls say which version until the prompt is edited."""
        self.messages.set_messages([{"role": m.get("role") or "user", "content": str(m.get("content") or "")}
                                    for m in version.messages])
        if version.model:
            self.model_picker.set_model(version.model)
        self.params.set_params(version.params)
        self._tools = list(version.tools)
        self._loaded = LoadedPrompt(version, self._prompt_state())
        self._update_prompt_label()
        tools = f" with {len(self._tools)} tool{'s' if len(self._tools) != 1 else ''}" if self._tools else ""
        note = f" ({version.note})" if version.note else ""
        self._set_banner("info", f"Loaded v{version.version}{note}{tools}. Group a board by the attribute "
                                 "“prompt” or “prompt_version” to compare versions.")

    def save_prompt(self, name: str, note: str = "") -> None:
        """Save the messages (as templates), model, parameters and tools as the next version of `name`."""
        self._saving_state = self._prompt_state()
        params = self.params.params()
        self.library.save(name, self.messages.messages(), self.model_picker.model(), params, note, self._tools)

    def prompt_attributes(self) -> dict[str, Any]:
        """{"prompt", "prompt_version"} while the Playground holds exactly the loaded / saved version, else {}."""
        if self._loaded is None or self._loaded.state != self._prompt_state():
            return {}
        return self._loaded.version.attributes()

    def prompt_draft(self) -> dict | None:
        """What the draft keeps across restarts: the link to the version (and its tools), not the version."""
        if self._loaded is None and not self._tools:
            return None
        v = self._loaded.version if self._loaded else None
        return {"name": v.name if v else "", "version": v.version if v else 0, "note": v.note if v else "",
                "state": self._loaded.state if self._loaded else "", "tools": self._tools}

    def restore_prompt_draft(self, draft: Any) -> None:
        if not isinstance(draft, dict):
            return
        self._tools = list(draft.get("tools") or [])
        if draft.get("name") and isinstance(draft.get("version"), int):
            version = PromptVersion(str(draft["name"]), draft["version"], [], note=str(draft.get("note") or ""))
            self._loaded = LoadedPrompt(version, str(draft.get("state") or ""))
        self._update_prompt_label()

    def forget_prompt(self) -> None:
        self._loaded, self._tools = None, []
        self._update_prompt_label()

    # -- slots --------------------------------------------------------------------------------------
    def _on_save_prompt_clicked(self) -> None:
        answer = self.library.ask_name(self._loaded.version.name if self._loaded else "")
        if answer:
            self.save_prompt(*answer)

    def _on_prompt_saved(self, version: PromptVersion) -> None:
        self._loaded = LoadedPrompt(version, self._saving_state)
        self._update_prompt_label()
        self._set_banner("success", f"Saved {version.name} v{version.version} to the prompt library"
                                    f"{' — ' + version.note if version.note else ''}.")

    # -- small things -------------------------------------------------------------------------------
    def _prompt_state(self) -> str:
        return json.dumps([self.messages.messages(), self.model_picker.model(), self.params.params(), self._tools],
                          sort_keys=True)

    def _update_prompt_label(self) -> None:
        if self._loaded is None:
            self.prompt_label.hide()
            return
        v = self._loaded.version
        if self.prompt_attributes():
            text = f"From {v.name} v{v.version}, unchanged — runs carry prompt and prompt_version."
        else:
            text = (f"Edited since {v.name} v{v.version} — runs no longer carry prompt / prompt_version "
                    "(save a new version to link them again).")
        self.prompt_label.setText(text)
        self.prompt_label.setToolTip(f"{v.name} v{v.version}: {v.note or '(no note)'}")
        self.prompt_label.show()
