"""The board's controls: time range (with a custom from/to), bucket size, group by, filters, text search.

The toolbar only reports what the user chose (`changed(fields)` with BoardSpec fields to update); the
page applies them with spec.updated(...), saves and recomputes."""
from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from monitor.boards import BoardSpec, Filters, TimeRange

from .filters import FiltersPopup
from .flow import FlowLayout
from .jobs import Facets
from .units import duration_text

RANGES = (("15m", "Last 15 min"), ("1h", "Last hour"), ("24h", "Last 24 h"), ("7d", "Last 7 days"),
          ("all", "All time"), ("custom", "Custom…"))
BUCKETS = (1, 10, 60, 300, 900, 3600, 21600, 86400)
FIELD_GROUPS = (("model", "Model"), ("status", "Status"), ("api", "API"))


def _pair(*widgets: QWidget) -> QWidget:
    """Widgets that belong together (a label and its box) on one line of the flowing toolbar."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(6)
    for w in widgets:
        row.addWidget(w)
    return box


class BoardToolbar(QWidget):
    changed = Signal(dict)            # BoardSpec fields to update

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec: BoardSpec | None = None
        self.facets = Facets("")
        self._quiet = False

        self.range = QComboBox(toolTip="Time range")
        for value, text in RANGES:
            self.range.addItem(text, value)
        self.start = QDateTimeEdit(calendarPopup=True, displayFormat="yyyy-MM-dd HH:mm", toolTip="From")
        self.end = QDateTimeEdit(calendarPopup=True, displayFormat="yyyy-MM-dd HH:mm", toolTip="To")
        self.range_dash = QLabel("–")
        self.bucket = QComboBox(toolTip="Bucket: the time each bar or point covers")
        self.bucket.addItem("Auto bucket", None)
        # wide enough for "Auto bucket (15 min)", the text set once the board knows its bucket
        self.bucket.setMinimumContentsLength(len("Auto bucket (15 min)"))
        self.bucket.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        for seconds in BUCKETS:
            self.bucket.addItem(f"{duration_text(seconds)} buckets", seconds)
        self.group = QComboBox(toolTip="Split every series by this (one colour per group)")
        self.group.setMinimumContentsLength(14)
        self.group.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.filters_button = QToolButton(text="Filters", toolTip="Only calls of some models, statuses or attributes")
        self.filters_button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.search = QLineEdit(placeholderText="Search prompts and outputs", clearButtonEnabled=True)
        self.search.setMinimumWidth(200)
        self.live = QLabel("", objectName="mutedLabel")
        # a chart click narrows the requests table: said here, at the top, with its undo
        self.drill_chip = QToolButton(objectName="drillChip", toolTip="The requests table shows only this bucket's "
                                      "calls (a click on a chart did it). Click to show every call again.")
        self.drill_chip.setStyleSheet("#drillChip { background: #ddf4ff; color: #0550ae; border: 1px solid #54aeff; "
                                      "border-radius: 9px; padding: 1px 8px; }")
        self.drill_chip.hide()
        self._search_timer = QTimer(self, singleShot=True, interval=400)

        # a flow: a narrow window (or a custom range's two date fields) wraps the controls to a second line
        # instead of making the board wider than the window
        row = FlowLayout(self)
        row.setContentsMargins(12, 2, 12, 6)
        self.custom_range = _pair(self.start, self.range_dash, self.end)       # wrap as a whole, never between
        for w in (self.range, self.custom_range, self.bucket, _pair(QLabel("Group by"), self.group),
                  self.filters_button, self.search, self.drill_chip, self.live):
            row.addWidget(w)

        self.range.currentIndexChanged.connect(self._on_range_changed)
        self.start.editingFinished.connect(self._on_custom_range_edited)
        self.end.editingFinished.connect(self._on_custom_range_edited)
        self.bucket.currentIndexChanged.connect(self._on_bucket_changed)
        self.group.currentIndexChanged.connect(self._on_group_changed)
        self.filters_button.clicked.connect(self._on_filters_clicked)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self._search_timer.timeout.connect(self._on_search_timer_timeout)
        self._show_custom(False)

    # -- showing a spec ---------------------------------------------------------------------------------
    def set_spec(self, spec: BoardSpec) -> None:
        self.spec = spec
        self._quiet = True
        try:
            tr = spec.time_range
            self.range.setCurrentIndex(self.range.findData(tr.kind))
            if tr.kind == "custom":
                self.start.setDateTime(QDateTime.fromSecsSinceEpoch(int(tr.start)))
                self.end.setDateTime(QDateTime.fromSecsSinceEpoch(int(tr.end)))
            self._show_custom(tr.kind == "custom")
            index = self.bucket.findData(spec.bucket_s) if spec.bucket_s else 0
            if index < 0:
                self.bucket.addItem(f"{duration_text(spec.bucket_s)} buckets", spec.bucket_s)
                index = self.bucket.count() - 1
            self.bucket.setCurrentIndex(index)
            self._fill_groups()
            if self.search.text() != (spec.filters.text or "") and not self.search.hasFocus():
                self.search.setText(spec.filters.text or "")
            self._show_filter_count()
        finally:
            self._quiet = False

    def set_facets(self, facets: Facets) -> None:
        self.facets = facets
        self._quiet = True
        try:
            self._fill_groups()
        finally:
            self._quiet = False

    def _fill_groups(self) -> None:
        current = self.spec.group_by if self.spec else None
        self.group.clear()
        self.group.addItem("None", None)
        for value, text in FIELD_GROUPS:
            self.group.addItem(text, value)
        keys = list(self.facets.attribute_keys)
        if current and current not in [v for v, _ in FIELD_GROUPS] and current not in keys:
            keys.append(current)                  # grouped by a key not in the sample: still shown
        if keys:
            self.group.insertSeparator(self.group.count())
        for key in keys:
            if key in ("model", "status", "api"):          # an attribute that shares a call field's name
                self.group.addItem(f"{key} (attribute)", f"attributes.{key}")
            else:
                self.group.addItem(key, key)
        self.group.setCurrentIndex(max(self.group.findData(current), 0))

    def _show_custom(self, on: bool) -> None:
        self.custom_range.setVisible(on)

    def _show_filter_count(self) -> None:
        f = self.spec.filters if self.spec else Filters()
        n = len(f.models) + len(f.statuses) + len(f.apis) + len(f.attributes)
        self.filters_button.setText(f"Filters ({n})" if n else "Filters")

    def set_drill(self, text: str) -> None:
        self.drill_chip.setText(f"Table: {text}  ✕" if text else "")
        self.drill_chip.setVisible(bool(text))

    def set_live_text(self, text: str) -> None:
        self.live.setText(text)

    def set_auto_bucket(self, bucket_s: int | None) -> None:
        """Say which bucket "auto" picked (or a fixed one was coarsened to), once the board is computed."""
        self.bucket.setItemText(0, f"Auto bucket ({duration_text(bucket_s)})" if bucket_s else "Auto bucket")

    # -- user changes ------------------------------------------------------------------------------------
    def _emit(self, **fields) -> None:
        if not self._quiet and self.spec is not None:
            self.changed.emit(fields)

    def _on_range_changed(self) -> None:
        kind = self.range.currentData()
        self._show_custom(kind == "custom")
        if self._quiet:
            return
        if kind == "custom":
            end = time.time()
            start = end - 3600
            self.start.setDateTime(QDateTime.fromSecsSinceEpoch(int(start)))
            self.end.setDateTime(QDateTime.fromSecsSinceEpoch(int(end)))
            self._emit(time_range=TimeRange(kind="custom", start=float(int(start)), end=float(int(end))))
        else:
            self._emit(time_range=TimeRange(kind=kind))

    def _on_custom_range_edited(self) -> None:
        start = float(self.start.dateTime().toSecsSinceEpoch())
        end = float(self.end.dateTime().toSecsSinceEpoch())
        if start < end and self.spec is not None:
            tr = self.spec.time_range
            if tr.kind != "custom" or tr.start != start or tr.end != end:
                self._emit(time_range=TimeRange(kind="custom", start=start, end=end))

    def _on_bucket_changed(self) -> None:
        self._emit(bucket_s=self.bucket.currentData())

    def _on_group_changed(self) -> None:
        if self.spec is not None and self.group.currentData() != self.spec.group_by:
            self._emit(group_by=self.group.currentData())

    def _on_search_timer_timeout(self) -> None:
        if self.spec is None:
            return
        text = self.search.text().strip() or None
        if text != self.spec.filters.text:
            self._emit(filters=self.spec.filters.model_copy(update={"text": text}))

    def _on_filters_clicked(self) -> None:
        if self.spec is None:
            return
        popup = FiltersPopup(self.spec.filters, self.facets.models, self.facets.attribute_keys,
                             self.facets.attribute_values, self)
        popup.applied.connect(lambda filters: self._emit(filters=filters))
        popup.setAttribute(Qt.WA_DeleteOnClose)
        popup.move(self.filters_button.mapToGlobal(self.filters_button.rect().bottomLeft()))
        popup.show()
        self.filters_popup = popup
