"""Compare mode: 2–6 columns side by side, one shared prompt, all sent at once; a total estimate before
running, the stored numbers after, and a word diff between any two outputs."""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter,
                               QTextBrowser, QVBoxLayout, QWidget)

from ..call_stats import format_usd
from .compare_column import CompareColumn
from .variants import LABELS, MAX_COLUMNS, MIN_COLUMNS, Variant, build_request, default_variants
from .word_diff import similarity, word_diff_html

SETTINGS_KEY = "playground/compare"
COLUMN_MIN_WIDTH = 200


class CompareView(QWidget):
    runFinished = Signal(list)        # every column's finished dict, in column order
    changed = Signal()

    def __init__(self, ctx: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.columns: list[CompareColumn] = []
        self._results: dict[str, dict] = {}
        self._typed: list[dict] = []
        self._values: dict[str, str] = {}
        self._build()

    def _build(self) -> None:
        self.add_button = QPushButton("+ Column")
        self.add_button.setToolTip(f"Add a variant (up to {MAX_COLUMNS})")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.total_label = QLabel(objectName="compareTotal", wordWrap=True)     # wraps, never widens the page
        self.total_label.setTextFormat(Qt.TextFormat.PlainText)
        self.diff_left, self.diff_right = QComboBox(), QComboBox()
        self.diff_button = QPushButton("Word diff")
        self.diff_button.setCheckable(True)
        self.diff_button.setToolTip("Show the words that differ between two outputs")
        self.diff_button.toggled.connect(self._on_diff_toggled)
        self.diff_left.currentIndexChanged.connect(lambda _i: self.update_diff())
        self.diff_right.currentIndexChanged.connect(lambda _i: self.update_diff())
        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addSpacing(8)
        bar.addWidget(self.total_label, 1)
        bar.addWidget(self.diff_button)
        bar.addWidget(self.diff_left)
        bar.addWidget(QLabel("vs"))
        bar.addWidget(self.diff_right)

        self._strip = QWidget()
        self._row = QHBoxLayout(self._strip)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setWidget(self._strip)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.diff_view = QTextBrowser(objectName="wordDiff")
        self.diff_view.hide()
        self.scroll.setMinimumHeight(240)         # a 700-px window still shows the messages and the replies
        self.diff_view.setMinimumHeight(90)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.scroll)
        split.addWidget(self.diff_view)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

    # -- columns ---------------------------------------------------------------------------------
    def set_variants(self, variants: list[Variant]) -> None:
        for column in list(self.columns):
            self._remove(column)
        for v in variants[:MAX_COLUMNS]:
            self._add(v)
        self._relabel()

    def variants(self) -> list[Variant]:
        return [c.variant() for c in self.columns]

    def _add(self, variant: Variant) -> CompareColumn:
        column = CompareColumn(self.ctx, variant)
        column.setMinimumWidth(COLUMN_MIN_WIDTH)
        column.set_profiles([p.name for p in self.ctx.profiles.list()], self.ctx.current_profile)
        column.set_variant(variant)
        column.changed.connect(lambda c=column: self._on_column_changed(c))
        column.removeRequested.connect(self._on_remove_requested)
        column.estimated.connect(self._show_total)
        column.finished.connect(self._on_column_finished)
        self._row.addWidget(column, 1)
        self.columns.append(column)
        return column

    def _remove(self, column: CompareColumn) -> None:
        column.cancel()
        self.columns.remove(column)
        column.setParent(None)
        column.deleteLater()

    def _relabel(self) -> None:
        for label, column in zip(LABELS, self.columns):
            column.set_label(label)
            column.remove_button.setEnabled(len(self.columns) > MIN_COLUMNS)
        self.add_button.setEnabled(len(self.columns) < MAX_COLUMNS)
        for combo, default in ((self.diff_left, 0), (self.diff_right, 1)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([c.label for c in self.columns])
            combo.setCurrentIndex(combo.findText(current) if combo.findText(current) >= 0 else default)
            combo.blockSignals(False)
        self.refresh_estimates(self._typed, self._values)
        self.update_diff()
        self.changed.emit()

    def _on_add_clicked(self) -> None:
        if len(self.columns) >= MAX_COLUMNS or self.is_running():
            return
        template = self.columns[-1].variant() if self.columns else Variant()
        template.system = ""
        self._add(template)
        self._relabel()

    def _on_remove_requested(self, column: CompareColumn) -> None:
        if len(self.columns) > MIN_COLUMNS and not self.is_running():
            self._remove(column)
            self._relabel()

    def _on_column_changed(self, column: CompareColumn) -> None:
        column.refresh_estimate(self._typed, self._values)
        self.changed.emit()

    def refresh_profiles(self) -> None:
        names = [p.name for p in self.ctx.profiles.list()]
        for column in self.columns:
            column.set_profiles(names, self.ctx.current_profile)

    # -- estimates -------------------------------------------------------------------------------
    def refresh_estimates(self, typed: list[dict], values: dict[str, str]) -> None:
        self._typed, self._values = typed, values
        for column in self.columns:
            column.refresh_estimate(typed, values)
        self._show_total()

    def _show_total(self) -> None:
        estimates = [c.estimate for c in self.columns]
        known = [e.cost_usd for e in estimates if e is not None and e.cost_usd is not None]
        if not known:
            self.total_label.setText(f"{len(self.columns)} variants" if self.columns else "")
            return
        unpriced = sum(1 for e in estimates if e is None or e.cost_usd is None)
        text = f"{len(self.columns)} variants · estimate {format_usd(sum(known))} before sending"
        if unpriced:
            text += f" (+{unpriced} unpriced)"
        spent = [c.record.cost_usd for c in self.columns if c.record is not None and c.record.cost_usd is not None]
        if spent and not self.is_running():
            text += f" · last run cost {format_usd(sum(spent))}"
        self.total_label.setText(text)

    # -- running ------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return any(c.is_running() or c.state == "reading" for c in self.columns)

    def run(self, typed: list[dict], values: dict[str, str], attributes: dict, stream: str,
            extra_options: dict | None = None) -> None:
        """Build every column's request first (any error stops them all), then send them at once."""
        requests = [build_request(c.variant(), typed, values, attributes, extra_options) for c in self.columns]
        self._results = {}
        for column, (request, _attrs) in zip(self.columns, requests):
            column.start(request, stream)

    def cancel(self) -> None:
        for column in self.columns:
            column.cancel()

    def _on_column_finished(self, result: dict) -> None:
        self._results[result["label"]] = result
        if len(self._results) == len(self.columns) and not self.is_running():
            self._show_total()
            self.update_diff()
            self.runFinished.emit([self._results.get(c.label) for c in self.columns])

    # -- diff -----------------------------------------------------------------------------------------
    def _on_diff_toggled(self, on: bool) -> None:
        self.diff_view.setVisible(on)
        if on:
            total = max(self.split.height(), 400)
            self.split.setSizes([int(total * 0.74), int(total * 0.26)])
        self.update_diff()

    def update_diff(self) -> None:
        if not self.diff_view.isVisible():
            return
        left, right = self.diff_left.currentIndex(), self.diff_right.currentIndex()
        if not (0 <= left < len(self.columns) and 0 <= right < len(self.columns)):
            return
        a, b = self.columns[left].output.toPlainText(), self.columns[right].output.toPlainText()
        head = (f"<p style='color:#555'>{self.columns[left].label} → {self.columns[right].label}: "
                f"{similarity(a, b):.0%} of words in common · <span style='background:#fdd8d5'>only in "
                f"{self.columns[left].label}</span> · <span style='background:#d3f0d6'>only in "
                f"{self.columns[right].label}</span></p>")
        self.diff_view.setHtml(head + word_diff_html(a, b))

    # -- persistence (QSettings; profile names and parameters only, never a key) ----------------------
    def save(self, settings: Any, on: bool) -> None:
        settings.setValue(SETTINGS_KEY, json.dumps({"on": on, "variants": [v.to_dict() for v in self.variants()]}))

    def restore(self, settings: Any, default_model: str) -> bool:
        """Restores the columns; returns whether compare mode was on."""
        try:
            saved = json.loads(str(settings.value(SETTINGS_KEY) or "{}"))
            variants = [Variant.from_dict(v) for v in saved.get("variants") or []]
        except (ValueError, TypeError, AttributeError):
            saved, variants = {}, []
        if len(variants) < MIN_COLUMNS:
            variants = default_variants(default_model)
        self.set_variants(variants)
        return bool(saved.get("on"))
