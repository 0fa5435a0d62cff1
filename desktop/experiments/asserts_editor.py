"""The experiment's asserts and judges, one per row: type, value (or rubric), judge model."""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

TYPES = ("contains", "not_contains", "equals", "regex", "is_json", "json_schema", "max_latency_ms", "max_cost_usd",
         "judge")
NARROW_WIDTHS = (104, 84)          # type and judge-model columns in the page's tab; the rubric takes the rest
WIDE_WIDTHS = (150, 150)           # the same in the larger window
LARGER_SIZE = (980, 560)           # the larger window: a rubric reads as a paragraph, not a word
_HINTS = {"is_json": "(no value)", "json_schema": '{"type": "object"}', "max_latency_ms": "5000",
          "max_cost_usd": "0.001", "judge": 'Is it polite? Answer PASS or FAIL.  (or: Score 1 to 5 …)'}


class AssertsEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Type", "Value / judge rubric", "Judge model"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, NARROW_WIDTHS[0])
        header.resizeSection(2, NARROW_WIDTHS[1])
        self.table.setWordWrap(True)
        self.table.setMinimumHeight(110)               # a few rows, whatever the window
        self.table.verticalHeader().setVisible(False)
        self.add_button = QPushButton("Add assert")
        self.add_judge_button = QPushButton("Add judge")
        self.remove_button = QPushButton("Remove")
        self.larger_button = QPushButton("Larger…")
        self.larger_button.setToolTip("Edit the asserts and judges in a larger window (long rubrics, JSON schemas)")
        self.dialog: QDialog | None = None
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.add_judge_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.larger_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.error_label.hide()
        self.add_button.clicked.connect(lambda: self.add_row({"type": "contains", "value": ""}))
        self.add_judge_button.clicked.connect(lambda: self.add_row({"type": "judge", "rubric": "", "model": ""}))
        self.remove_button.clicked.connect(self._remove_current)
        self.larger_button.clicked.connect(self.open_larger)
        self.table.itemChanged.connect(lambda _item: self.changed.emit())

    def add_row(self, a: dict) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        kind = QComboBox()
        kind.addItems(TYPES)
        kind.setCurrentText(a.get("type", "contains"))
        kind.currentTextChanged.connect(lambda _t: self._on_type_changed(kind))
        self.table.setCellWidget(row, 0, kind)
        value = a.get("rubric") if a.get("type") == "judge" else a.get("value", "")
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        item = QTableWidgetItem("" if value is None else str(value))
        # keys the table has no column for (label, scale, min_score) are kept, so a file round-trips intact
        extra = {k: v for k, v in a.items() if k not in ("type", "value", "rubric", "model")}
        item.setData(Qt.ItemDataRole.UserRole, extra)
        self.table.setItem(row, 1, item)
        self.table.setItem(row, 2, QTableWidgetItem(a.get("model") or ""))
        self._on_type_changed(kind)
        self.changed.emit()

    def set_asserts(self, asserts: list[dict]) -> None:
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(0)
            for a in asserts:
                self.add_row(a)
        finally:
            self.table.blockSignals(False)
        self.changed.emit()

    def asserts(self) -> list[dict]:
        """The rows as the experiment file's asserts; a row that can't be read is reported, not dropped silently."""
        out, problems = [], []
        for row in range(self.table.rowCount()):
            kind = self.table.cellWidget(row, 0).currentText()
            text = (self.table.item(row, 1).text() if self.table.item(row, 1) else "").strip()
            model = (self.table.item(row, 2).text() if self.table.item(row, 2) else "").strip()
            a: dict[str, Any] = {"type": kind}
            kept = self.table.item(row, 1).data(Qt.ItemDataRole.UserRole) if self.table.item(row, 1) else None
            if kept.get("label") if kept else None:
                a["label"] = kept["label"]
            if kind == "judge":
                a.update({k: v for k, v in (kept or {}).items() if k in ("scale", "min_score")})
            try:
                if kind == "judge":
                    if not text:
                        raise ValueError("a judge needs a rubric")
                    a["rubric"] = text
                    if model:
                        a["model"] = model
                elif kind == "json_schema":
                    a["value"] = json.loads(text or "{}")
                elif kind in ("max_latency_ms", "max_cost_usd"):
                    a["value"] = float(text)
                elif kind != "is_json":
                    a["value"] = text
            except ValueError as exc:
                problems.append(f"assert {row + 1} ({kind}): {exc}")
                continue
            out.append(a)
        self.error_label.setText("; ".join(problems))
        self.error_label.setVisible(bool(problems))
        return out

    def _on_type_changed(self, combo: QComboBox) -> None:
        for row in range(self.table.rowCount()):
            if self.table.cellWidget(row, 0) is combo:
                item = self.table.item(row, 1)
                if item is not None:
                    item.setToolTip(_HINTS.get(combo.currentText(), "text"))
        self.changed.emit()

    def _remove_current(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()

    # -- the larger window ------------------------------------------------------------------------------
    def open_larger(self) -> QDialog:
        """Move this editor into a larger window (the tab says where it went) and back when that closes: one
        editor, so nothing is copied and every edit is kept."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        home = self.parentWidget()
        home_layout = home.layout() if home is not None else None
        index = home_layout.indexOf(self) if home_layout is not None else -1
        dialog = QDialog(self.window(), windowTitle="Asserts & judges")
        dialog.resize(*LARGER_SIZE)
        note = QLabel("Each assert is scored on every cell; a judge asks a model to grade the output against its "
                      "rubric (PASS/FAIL, or a 1–5 score when the rubric says “1 to 5”).", wordWrap=True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(note)
        layout.addWidget(self, 1)                          # reparents: the tab no longer holds it
        layout.addWidget(close)
        placeholder = QLabel("The asserts and judges are open in a larger window.", wordWrap=True)
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if index >= 0:
            home_layout.insertWidget(index, placeholder, 1)
        self._set_widths(WIDE_WIDTHS)
        self.larger_button.hide()

        def back() -> None:
            self.dialog = None
            if index >= 0:
                home_layout.removeWidget(placeholder)
                placeholder.deleteLater()
                home_layout.insertWidget(index, self, 1)
            self._set_widths(NARROW_WIDTHS)
            self.larger_button.show()
            self.show()
            dialog.deleteLater()

        dialog.finished.connect(back)
        self.dialog = dialog
        dialog.open()                                      # window-modal, without a nested event loop
        QTimer.singleShot(0, self.table.resizeRowsToContents)    # once the rubric column has its new width
        return dialog

    def _set_widths(self, widths: tuple[int, int]) -> None:
        """Column widths for where the editor is; rows back to one height (the tab elides, the window wraps)."""
        header = self.table.horizontalHeader()
        header.resizeSection(0, widths[0])
        header.resizeSection(2, widths[1])
        for row in range(self.table.rowCount()):
            self.table.setRowHeight(row, self.table.verticalHeader().defaultSectionSize())
