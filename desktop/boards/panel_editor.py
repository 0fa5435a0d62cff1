"""The panel dialog: title, kind, measures (metric + aggregation from the catalogue), chart kind, split
by group, width and height.  Returns a validated Panel; nothing is saved here."""
from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QToolButton, QVBoxLayout,
                               QWidget)

from monitor.boards import AGGREGATIONS, METRICS, Measure, Panel
from monitor.boards.spec import METRIC_LABELS

AGG_LABELS = {"count": "count per bucket", "sum": "sum per bucket", "avg": "average", "min": "minimum",
              "max": "maximum", "per_min": "per minute", "per_s": "per second", "cumulative": "cumulative",
              "ratio": "rate (of requests)", "p50": "p50", "p75": "p75", "p90": "p90", "p95": "p95", "p99": "p99"}
WIDTHS = ((3, "Quarter"), (4, "Third"), (6, "Half"), (8, "Two thirds"), (12, "Full width"))
MAX_MEASURES = 6


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
    def __init__(self, panel: Panel, parent: QWidget | None = None, *, new: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Add panel" if new else f"Edit panel — {panel.title or panel.id}")
        self.original = panel
        self.result_panel: Panel | None = None
        self.title = QLineEdit(panel.title)
        self.kind = QComboBox()
        for value, text in (("timeseries", "Chart over time"), ("stat", "Numbers over the range"),
                            ("table", "Requests table")):
            self.kind.addItem(text, value)
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

        self.measure_rows: list[_MeasureRow] = []
        self.measures_box = QGridLayout()
        self.measures_box.setContentsMargins(0, 0, 0, 0)
        self.add_measure = QPushButton("Add measure")
        self.add_measure.clicked.connect(lambda: self._add_row(None))
        for m in panel.measures:
            self._add_row(m)
        measures = QWidget()
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

    def _add_row(self, measure: Measure | None) -> None:
        if len(self.measure_rows) >= MAX_MEASURES:
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
        self.add_measure.setEnabled(len(self.measure_rows) < MAX_MEASURES)

    def _on_kind_changed(self) -> None:
        kind = self.kind.currentData()
        charts = kind == "timeseries"
        for w in (self.chart, self.chart_label):
            w.setVisible(charts)
        for w in [self.measures_label, self.add_measure, *self.measure_rows]:
            w.setVisible(kind != "table")
        self.split.setVisible(kind == "timeseries")
        if kind != "table" and not self.measure_rows:
            self._add_row(None)

    def panel(self) -> Panel:
        """The panel as edited (validated; ValueError with pydantic's reason if not valid)."""
        kind = self.kind.currentData()
        width = int(self.width.currentData())
        data = self.original.model_dump()
        data.update(title=self.title.text().strip(), kind=kind, chart=self.chart.currentData(),
                    split_by_group=self.split.isChecked(), width=width, height=self.height.value(),
                    col=min(self.original.col, 12 - width),
                    measures=[r.measure().model_dump() for r in self.measure_rows] if kind != "table" else [])
        return Panel.model_validate(data)

    def _on_ok_clicked(self) -> None:
        try:
            self.result_panel = self.panel()
        except (ValidationError, ValueError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            self.error.setText(msg)
            self.error.show()
            return
        self.accept()
