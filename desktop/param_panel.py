"""Request parameters (temperature, max tokens, top_p, seed, JSON mode, streaming) and the model picker."""
from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget)

from monitor import pricing

DEFAULT = "default"
_DATED = re.compile(r"-(\d{4}|\d{4}-\d{2}-\d{2})$")


def chat_models() -> list[str]:
    """Price-table models a chat request can use, without dated snapshots (they still resolve if typed)."""
    return [m for m in pricing.default_table().models()
            if "embedding" not in m and not m.endswith("-instruct") and not _DATED.search(m)]


def _optional_double(lo: float, hi: float, step: float, decimals: int) -> QDoubleSpinBox:
    # One step below the real minimum means "not sent" (the server's default).
    box = QDoubleSpinBox()
    box.setRange(lo - step, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSpecialValueText(DEFAULT)
    box.setValue(box.minimum())
    return box


class ParamPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.temperature = _optional_double(0.0, 2.0, 0.1, 2)
        self.top_p = _optional_double(0.0, 1.0, 0.05, 2)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSingleStep(64)
        self.max_tokens.setSpecialValueText("no limit")
        self.max_tokens.setToolTip("Sent as max_tokens (max_completion_tokens for o-series and gpt-5 models)")
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2_147_483_647)
        self.seed.setSpecialValueText("none")
        self.seed.setValue(-1)
        self.json_mode = QCheckBox("JSON mode")
        self.json_mode.setToolTip('response_format = {"type": "json_object"} (mention JSON in a message)')
        self.stream = QCheckBox("Stream the reply")
        self.stream.setChecked(True)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Top p", self.top_p)
        form.addRow("Seed", self.seed)
        form.addRow(self.json_mode)
        form.addRow(self.stream)
        for box in (self.temperature, self.top_p, self.max_tokens, self.seed):
            box.valueChanged.connect(lambda _v: self.changed.emit())
        for check in (self.json_mode, self.stream):
            check.toggled.connect(lambda _on: self.changed.emit())

    def params(self) -> dict[str, Any]:
        """Only what the user set; `max_tokens` is renamed per model when the request is built."""
        out: dict[str, Any] = {}
        if self.temperature.value() > self.temperature.minimum():
            out["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            out["max_tokens"] = self.max_tokens.value()
        if self.top_p.value() > self.top_p.minimum():
            out["top_p"] = round(self.top_p.value(), 2)
        if self.seed.value() >= 0:
            out["seed"] = self.seed.value()
        if self.json_mode.isChecked():
            out["response_format"] = {"type": "json_object"}
        return out

    def set_params(self, params: dict[str, Any]) -> None:
        """From a logged request (unknown keys are ignored; missing ones go back to default)."""
        self.blockSignals(True)
        try:
            temperature, top_p = params.get("temperature"), params.get("top_p")
            self.temperature.setValue(float(temperature) if temperature is not None else self.temperature.minimum())
            self.top_p.setValue(float(top_p) if top_p is not None else self.top_p.minimum())
            limit = params.get("max_completion_tokens") or params.get("max_tokens")
            self.max_tokens.setValue(int(limit) if limit else 0)
            seed = params.get("seed")
            self.seed.setValue(int(seed) if seed is not None else -1)
            fmt = params.get("response_format")
            self.json_mode.setChecked(isinstance(fmt, dict) and fmt.get("type") == "json_object")
            if "stream" in params:
                self.stream.setChecked(bool(params.get("stream")))
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def streaming(self) -> bool:
        return self.stream.isChecked()


class ModelPicker(QComboBox):
    """Editable: the profile's models first (when known), then every model with a known price."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(16)
        self._profile_models: list[str] = []
        self._rebuild()

    def model(self) -> str:
        return self.currentText().strip()

    def set_model(self, name: str) -> None:
        if name and self.findText(name) < 0:
            self.insertItem(0, name)
        self.setCurrentText(name)

    def set_profile_models(self, models: list[str]) -> None:
        self._profile_models = list(dict.fromkeys(m for m in models if m))
        self._rebuild()

    def _rebuild(self) -> None:
        current = self.currentText()
        self.blockSignals(True)
        try:
            self.clear()
            priced = chat_models()
            names = list(dict.fromkeys([*self._profile_models, *priced]))
            self.addItems(names)
            if self._profile_models and priced:
                self.insertSeparator(len(self._profile_models))
        finally:
            self.blockSignals(False)
        if current:
            self.setCurrentText(current)
        else:
            self.setCurrentIndex(-1)          # no choice yet: the page fills in the profile's default
