"""The panel dialog: title, kind, then the rows that kind uses (panel_kinds.editor_rows: measures from the
catalogue, chart style, split by group, top-N key and rows, score name), width and height.  Returns a
validated Panel; nothing is saved here."""
from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from monitor.boards import AGGREGATIONS, METRICS, Measure, Panel
from monitor.boards.kinds import KINDS
from monitor.boards.spec import METRIC_LABELS

from .panel_kinds import editor_rows

AGG_LABELS = {"count": "count per bucket", "sum": "sum per bucket", "avg": "average", "min": "minimum",
              "max": "maximum", "per_min": "per minute", "per_s": "per second", "cumulative": "cumulative",
              "ratio": "rate (of requests)", "p50": "p50", "p75": "p75", "p90": "p90", "p95": "p95", "p99": "p99"}
WIDTHS = ((3, "Quarter"), (4, "Third"), (6, "Half"), (8, "Two thirds"), (12, "Full width"))
MAX_MEASURES = 6
TOP_KEYS = ("model", "prompt", "user", "status", "api")      # offered; any attribute key can be typed
BOARD_GROUPING = "(the board's grouping)"


class _MeasureRow(QWidget):
    def __init__(self, measure: Measure | None, on_remove):
        super().__init__()
        self.metric = QComboBox()
        for m in METRICS:
            self.metric.addItem(METRIC_LABELS.get(m, m), m)
        self.agg = QComboBox()
        self.remove = QToolButton(text="✕", toolTip="Remove this measure", autoRaise=True)
        self.remove.clicked.connect(lambda: on_remove(self))
        self.metric.currentIndexChanged.connect(self._on_metric_changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.metric, 2)
        layout.addWidget(self.agg, 2)
        layout.addWidget(self.remove)
        self._original = (measure.metric, measure.agg, measure.label) if measure else None
        self.metric.setCurrentIndex(max(self.metric.findData(measure.metric if measure else "requests"), 0))
        self._on_metric_changed()
        if measure is not None:
            self.agg.setCurrentIndex(max(self.agg.findData(measure.agg), 0))

    def _on_metric_changed(self) -> None:
        current = self.agg.currentData()
        self.agg.clear()
        for a in AGGREGATIONS[self.metric.currentData()]:
            self.agg.addItem(AGG_LABELS.get(a, a), a)
        if current is not None and self.agg.findData(current) >= 0:
            self.agg.setCurrentIndex(self.agg.findData(current))

    def measure(self) -> Measure:
        metric, agg = self.metric.currentData(), self.agg.currentData()
        # a custom legend label ("Total cost") belongs to the measure it named; a new measure gets its own
        label = self._original[2] if self._original and self._original[:2] == (metric, agg) else None
        return Measure(metric=metric, agg=agg, label=label)


class PanelEditor(QDialog):
    def __init__(self, panel: Panel, parent: QWidget | None = None, *, new: bool = False,
                 score_names: tuple[str, ...] | list[str] = ()):
        super().__init__(parent)
        self.setWindowTitle("Add panel" if new else f"Edit panel — {panel.title or panel.id}")
        self.original = panel
        self.result_panel: Panel | None = None
        self.title = QLineEdit(panel.title)
        self.kind = QComboBox()
        for value, kind in KINDS.items():            # monitor/boards/kinds.py: every registered kind
            self.kind.addItem(kind.label, value)
        self.kind.setCurrentIndex(self.kind.findData(panel.kind))
        self.kind.setEnabled(new)
        self.chart = QComboBox()
        for value in ("line", "bar", "area", "points"):
            self.chart.addItem(value.capitalize(), value)
        self.chart.setCurrentIndex(self.chart.findData(panel.chart))
        self.split = QCheckBox("One series per group (when the board is grouped)", checked=panel.split_by_group)
        self.width = QComboBox()
        for cols, text in WIDTHS:
            self.width.addItem(f"{text} ({cols}/12)", cols)
        if self.width.findData(panel.width) < 0:
            self.width.addItem(f"{panel.width}/12", panel.width)
        self.width.setCurrentIndex(self.width.findData(panel.width))
        self.height = QSpinBox(minimum=1, maximum=20, value=panel.height, suffix=" rows")
        self.top_by = QComboBox(editable=True, toolTip="Rank the calls' groups of this key: a call field or any "
                                "attribute (e.g. prompt, user)")
        self.top_by.addItem(BOARD_GROUPING, None)
        for key in TOP_KEYS:
            self.top_by.addItem(key, key)
        if panel.top_by is not None and self.top_by.findData(panel.top_by) < 0:
            self.top_by.addItem(panel.top_by, panel.top_by)
        self.top_by.setCurrentIndex(max(self.top_by.findData(panel.top_by), 0))
        self.top_n = QSpinBox(minimum=1, maximum=100, value=panel.top_n, suffix=" rows")
        self.score = QComboBox(editable=True, toolTip="The score's name (an assertion, a judge, or 'human')")
        for name in dict.fromkeys([*(([panel.score] if panel.score else [])), *score_names, "human"]):
            self.score.addItem(name, name)

        self.measure_rows: list[_MeasureRow] = []
        self.measures_box = QGridLayout()
        self.measures_box.setContentsMargins(0, 0, 0, 0)
        self.add_measure = QPushButton("Add measure")
        self.add_measure.clicked.connect(lambda: self._add_row(None))
        for m in panel.measures:
            self._add_row(m)
        measures = self.measures = QWidget()
        col = QVBoxLayout(measures)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(self.measures_box)
        col.addWidget(self.add_measure)

        self.error = QLabel("", wordWrap=True)
        self.error.setStyleSheet("color: #cf222e")
        self.error.hide()
        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Kind", self.kind)
        self.measures_label = QLabel("Measures")
        form.addRow(self.measures_label, measures)
        self.chart_label = QLabel("Chart")
        form.addRow(self.chart_label, self.chart)
        form.addRow("", self.split)
        self.top_by_label, self.top_n_label, self.score_label = QLabel("Top of"), QLabel("Show"), QLabel("Score")
        form.addRow(self.top_by_label, self.top_by)
        form.addRow(self.top_n_label, self.top_n)
        form.addRow(self.score_label, self.score)
        form.addRow("Width", self.width)
        form.addRow("Height", self.height)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._on_ok_clicked)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()
        self.resize(480, self.sizeHint().height())

    def _max_measures(self) -> int:
        return min(KINDS[self.kind.currentData()].max_measures or MAX_MEASURES, MAX_MEASURES)

    def _add_row(self, measure: Measure | None) -> None:
        if len(self.measure_rows) >= self._max_measures():
            return
        row = _MeasureRow(measure, self._remove_row)
        self.measure_rows.append(row)
        self.measures_box.addWidget(row, len(self.measure_rows), 0)
        self._update_rows()

    def _remove_row(self, row: _MeasureRow) -> None:
        if len(self.measure_rows) <= 1:
            return
        self.measure_rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        self._update_rows()

    def _update_rows(self) -> None:
        for row in self.measure_rows:
            row.remove.setEnabled(len(self.measure_rows) > 1)
        self.add_measure.setEnabled(len(self.measure_rows) < self._max_measures())

    def _on_kind_changed(self) -> None:
        rows = editor_rows(self.kind.currentData())        # panel_kinds.py: the rows this kind uses
        for name, widgets in (("chart", (self.chart, self.chart_label)), ("split_by_group", (self.split,)),
                              ("top_by", (self.top_by, self.top_by_label)), ("top_n", (self.top_n, self.top_n_label)),
                              ("score", (self.score, self.score_label)),
                              ("measures", (self.measures_label, self.measures, self.add_measure, *self.measure_rows))):
            for w in widgets:
                w.setVisible(name in rows)
        if "measures" in rows:
            if not self.measure_rows:
                self._add_row(None)
            while len(self.measure_rows) > self._max_measures():      # e.g. a scatter shows one measure
                self._remove_row(self.measure_rows[-1])
            self._update_rows()

    def panel(self) -> Panel:
        """The panel as edited (validated; ValueError with pydantic's reason if not valid)."""
        kind = self.kind.currentData()
        rows = editor_rows(kind)
        width = int(self.width.currentData())
        data = self.original.model_dump()
        data.update(title=self.title.text().strip(), kind=kind, chart=self.chart.currentData(),
                    split_by_group=self.split.isChecked(), width=width, height=self.height.value(),
                    col=min(self.original.col, 12 - width),
                    measures=[r.measure().model_dump() for r in self.measure_rows] if "measures" in rows else [],
                    top_by=self._top_by() if "top_by" in rows else self.original.top_by,
                    top_n=self.top_n.value(), score=self.score.currentText().strip() or None
                    if "score" in rows else self.original.score)
        return Panel.model_validate(data)

    def _top_by(self) -> str | None:
        text = self.top_by.currentText().strip()
        return None if not text or text == BOARD_GROUPING else text

    def _on_ok_clicked(self) -> None:
        try:
            self.result_panel = self.panel()
        except (ValidationError, ValueError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            self.error.setText(msg)
            self.error.show()
            return
        self.accept()
