"""A timeseries panel's chart: pyqtgraph, one item per series created once and updated with setData.

Colours follow the group (the same in every panel); several measures in one panel differ by line style
(lines) or shade (bars).  Bars of one measure stack by group; several measures sit side by side in the
bucket.  The bottom axis is a DateAxisItem over epoch seconds; X is linked across the board's panels.
A hover shows the bucket, the nearest series and its value (gone when the pointer leaves or the data
changes); a left click on a bucket emits bucketClicked(bucket start, group of the series under the pointer
or None).  The mouse wheel scrolls the board; Ctrl+wheel, or a drag over a span, zooms time, and a zoomed
chart shows a "Reset zoom" button (a double click does the same).  Y always starts at 0 and is fitted to what is
visible; counts get whole-number ticks.  Points are drawn where a series has isolated values or few points.
"""
from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QPushButton, QVBoxLayout, QWidget

from monitor.boards import BoardData, Panel, PanelData, Series
from monitor.boards.kinds import panel_unit

from .colors import GroupColors
from .units import INTEGER_UNITS, axis_seconds, bucket_text, format_value, is_missing, ms_text, tick

LINE_STYLES = (Qt.SolidLine, Qt.DashLine, Qt.DotLine, Qt.DashDotLine)
SYMBOLS = ("o", "t", "s", "d")            # dots tell measures apart as line styles do (p50 ●, p95 ▼, p99 ■)
BAR_SHADES = (255, 165, 105, 60)          # alpha per measure when bars of several measures share colours
PICK_PIXELS = 14                          # a click this close to a line picks its group
POINT_SIZE = 6
FEW_POINTS = 40                           # a series with at most this many values gets a dot on each
Y_HEADROOM = 1.08                         # the highest visible value sits a little below the top
AXIS_PEN = "#d0d7de"
TEXT_COLOR = "#57606a"

pg.setConfigOptions(antialias=True, background="w", foreground=TEXT_COLOR)


class UnitAxis(pg.AxisItem):
    """Left axis whose ticks read in the panel's unit ($0.02, 40%, 1.2 s, 3.4k): one time unit for the
    whole axis, whole-number steps for counts, and never two ticks with the same text."""

    def __init__(self, unit: str):
        super().__init__("left")
        self.unit = unit
        self.seconds = False                 # ms panels: does the axis (and the read-out) speak seconds?

    def tickSpacing(self, minVal, maxVal, size):    # noqa: N802 (pyqtgraph's name)
        levels = super().tickSpacing(minVal, maxVal, size)
        if self.unit in INTEGER_UNITS:
            levels = [(max(spacing, 1.0), offset) for spacing, offset in levels if spacing >= 1] or [(1.0, 0)]
        return levels

    def tickValues(self, minVal, maxVal, size):     # noqa: N802
        # the view keeps a sliver below 0 for the "0" label: no tick (and no label) below 0
        return [(spacing, [v for v in values if v >= -spacing * 1e-6]) for spacing, values
                in super().tickValues(minVal, maxVal, size)]

    def tickStrings(self, values, scale, spacing):   # noqa: N802
        unit = self.unit
        values = [v * scale for v in values]
        spacing = spacing * scale
        if unit == "ms":
            self.seconds = axis_seconds(max((abs(v) for v in values), default=0))
            return [ms_text(v, self.seconds, spacing) for v in values]
        return [tick(v, unit, spacing) for v in values]


class BoardViewBox(pg.ViewBox):
    """The wheel scrolls the board (the event goes on to the scroll area); Ctrl+wheel zooms time, and a
    left drag draws the time span to zoom into."""

    def __init__(self):
        super().__init__()
        self.setMouseMode(pg.ViewBox.RectMode)

    def wheelEvent(self, ev, axis=None):        # noqa: N802 (pyqtgraph's name)
        if ev.modifiers() & Qt.ControlModifier:
            super().wheelEvent(ev, axis)
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None):    # noqa: N802
        if ev.button() == Qt.LeftButton and axis is None:
            super().mouseDragEvent(ev, axis)
        else:
            ev.ignore()


class _Curve:
    """One series on the chart: a PlotDataItem (line, area) or a BarGraphItem (bar)."""

    def __init__(self, series: Series, item, slot: int):
        self.key, self.label, self.group, self.unit = series.key, series.label, series.group, series.unit
        self.measure = f"{series.metric}.{series.agg}"
        self.item = item
        self.slot = slot
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.y0 = np.zeros(0)             # stacked bars: where this series' bar starts
        self.color = QColor()
        self.points = False               # drawn with dots (on each value, or on the isolated ones)
        self.dots = None                  # a ScatterPlotItem for the isolated values of a long series


class TimeseriesChart(QWidget):
    bucketClicked = Signal(float, object)       # bucket start (epoch s), group label or None
    zoomedByUser = Signal()                     # the user zoomed or panned time (linked charts follow)
    resetZoomRequested = Signal()

    def __init__(self, panel: Panel, colors: GroupColors, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.colors = colors
        self.curves: dict[str, _Curve] = {}
        self.data: BoardData | None = None
        self.pd: PanelData | None = None
        self._measures = [m.key for m in panel.measures]
        unit = panel_unit(panel)                  # a measure's, or the kind's own (a score panel's "score")
        self.axis = UnitAxis(unit)
        self.zoomed = False
        self.plot = pg.PlotWidget(viewBox=BoardViewBox(),
                                  axisItems={"bottom": pg.DateAxisItem(orientation="bottom"), "left": self.axis})
        self.plot.setMinimumHeight(120)
        item = self.plot.getPlotItem()
        item.setMenuEnabled(True)
        item.hideButtons()
        item.showGrid(x=False, y=True, alpha=0.12)
        item.setClipToView(True)                                  # long ranges: draw what is visible only
        item.setDownsampling(auto=True, mode="peak")
        vb = item.getViewBox()
        vb.setMouseEnabled(x=True, y=False)        # zoom time; Y is fitted to what is visible (_fit_y)
        vb.enableAutoRange(x=False, y=False)
        vb.setDefaultPadding(0.0)
        vb.sigXRangeChanged.connect(self._fit_y)
        vb.sigRangeChangedManually.connect(self._on_view_box_range_changed_manually)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_PEN))
            axis.setTextPen(pg.mkPen(TEXT_COLOR))
            axis.setStyle(tickLength=-4, tickTextOffset=4)
        item.getAxis("left").setWidth(72)            # the same in every panel: plots line up
        item.layout.setContentsMargins(0, 4, 8, 0)
        self.hover_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#8c959f", width=1, style=Qt.DotLine))
        self.readout = pg.TextItem(anchor=(0, 1), color="#24292f", fill=pg.mkBrush(255, 255, 255, 240),
                                   border=pg.mkPen("#d0d7de"))
        self.readout.setZValue(100)
        self.no_data = pg.TextItem("Nothing to show in this range", anchor=(0.5, 0.5), color="#8c959f")
        for extra in (self.hover_line, self.readout, self.no_data):
            extra.hide()
            self.plot.addItem(extra, ignoreBounds=True)
        self._hover_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30,
                                           slot=self._on_scene_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.plot.viewport().installEventFilter(self)         # the read-out goes when the pointer leaves
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.reset_button = QPushButton("Reset zoom", self, objectName="resetZoomButton")
        self.reset_button.setToolTip("Show the board's whole time range again and follow new calls")
        self.reset_button.setCursor(Qt.PointingHandCursor)
        self.reset_button.setStyleSheet("#resetZoomButton { background: #ddf4ff; color: #0550ae; border: 1px solid "
                                        "#54aeff; border-radius: 4px; padding: 1px 8px; font-size: 11px; }")
        self.reset_button.clicked.connect(self.resetZoomRequested)
        self.reset_button.hide()

    def resizeEvent(self, event) -> None:       # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        hint = self.reset_button.sizeHint()
        self.reset_button.setGeometry(self.width() - hint.width() - 12, 2, hint.width(), hint.height())

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Leave:
            self.hide_readout()
        elif event.type() == QEvent.Wheel and not event.modifiers() & Qt.ControlModifier:
            return self._scroll_page(event)
        return False

    def _scroll_page(self, event) -> bool:
        """A plain wheel scrolls the scroll area the chart sits in (the board), not the chart."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QAbstractScrollArea):
            parent = parent.parentWidget()
        if parent is None:
            return False
        horizontal = abs(event.angleDelta().x()) > abs(event.angleDelta().y())
        bar = parent.horizontalScrollBar() if horizontal else parent.verticalScrollBar()
        QApplication.sendEvent(bar, event)
        return True

    def hide_readout(self) -> None:
        self.hover_line.hide()
        self.readout.hide()

    # -- zoom -----------------------------------------------------------------------------------------------
    def _on_view_box_range_changed_manually(self, _mask) -> None:
        self.zoomedByUser.emit()

    def set_zoomed(self, zoomed: bool) -> None:
        """Zoomed: the view keeps the user's time span; not zoomed: it shows the board's range and follows it."""
        self.zoomed = zoomed
        self.reset_button.setVisible(zoomed)
        self.reset_button.raise_()
        if not zoomed:
            self._fit_x()

    def _fit_x(self) -> None:
        d = self.data
        if d is None or self.zoomed:
            return
        start, end = float(d.start), float(d.end)
        if not end > start:
            end = start + max(d.bucket_s, 1)
        self.view_box.setXRange(start, end, padding=0.01)

    def _fit_y(self) -> None:
        """Y from 0 to a little above the highest value in view (never negative, never a zero-height range)."""
        if self.data is None:
            return
        (x0, x1), _ = self.view_box.viewRange()
        top = 0.0
        half = self.data.bucket_s / 2
        for c in self.curves.values():
            if not len(c.y):
                continue
            tops = np.nan_to_num(np.asarray(c.y, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
            if len(c.y0) == len(tops):
                tops = tops + c.y0
            centres = np.asarray(c.x, dtype=float) + half
            inside = (centres >= x0 - half) & (centres <= x1 + half)
            if inside.any():
                top = max(top, float(tops[inside].max()))
        empty = not any(np.isfinite(np.asarray(c.y, dtype=float)).any() for c in self.curves.values())
        self.no_data.setVisible(empty)
        if empty:
            self.no_data.setPos((x0 + x1) / 2, 0.5 if self.axis.unit != "ratio" else 0.05)
        if top <= 0:
            top = 1.0 if self.axis.unit != "ratio" else 0.1
        # a sliver below 0 (~9 px) so the "0" tick label is not clipped at the bottom edge; no negative tick
        high = top * Y_HEADROOM
        sliver = high * 9 / max(self.view_box.height() - 9, 40)
        self.view_box.setYRange(-sliver, high, padding=0)

    @property
    def view_box(self) -> pg.ViewBox:
        return self.plot.getPlotItem().getViewBox()

    # -- data ---------------------------------------------------------------------------------------------
    def apply(self, data: BoardData, pd: PanelData) -> None:
        """Show a refresh: existing items get setData/setOpts, new series get an item, gone ones leave."""
        old_data, old_pd = self.data, self.pd
        self.data, self.pd = data, pd
        if (old_pd is None or [s.key for s in old_pd.series] != [s.key for s in pd.series]
                or len(old_data.x) != len(data.x) or (len(data.x) and old_data.x[0] != data.x[0])):
            self.hide_readout()                 # the buckets or series it spoke of are gone (a regroup, a range)
        seen = set()
        for series in pd.series:
            curve = self.curves.get(series.key)
            if curve is None:
                curve = self.curves[series.key] = self._new_curve(series)
            seen.add(series.key)
        for key in [k for k in self.curves if k not in seen]:
            gone = self.curves.pop(key)
            self.plot.removeItem(gone.item)
            if gone.dots is not None:
                self.plot.removeItem(gone.dots)
        x = data.x
        if self.panel.chart == "bar":
            self._apply_bars(data, pd)
        else:
            centres = x + data.bucket_s / 2          # a point stands for its bucket, as a bar does
            for series in pd.series:
                curve = self.curves[series.key]
                curve.x, curve.y = x, series.y
                self._show_points(curve)            # before setData: no dots asked of an all-empty series
                curve.item.setData(centres, series.y)
        self._fit_x()
        self._fit_y()

    def _show_points(self, curve: _Curve) -> None:
        """Dots where a line alone would show nothing: every value when there are few (or the panel's style
        is "points"), else only the isolated ones (a bucket with no neighbour to draw a segment to)."""
        y = np.asarray(curve.y, dtype=float)
        finite = np.isfinite(y)
        before = np.concatenate(([False], finite[:-1]))
        after = np.concatenate((finite[1:], [False]))
        isolated = finite & ~before & ~after
        every = self.panel.chart == "points" or int(finite.sum()) <= FEW_POINTS
        symbol = SYMBOLS[curve.slot % len(SYMBOLS)] if curve.group is not None else "o"
        curve.points = bool(finite.any()) and (every or bool(isolated.any()))
        curve.item.setSymbol(symbol if every and curve.points else None)
        # many values with a few isolated ones: dots on those only, in an item of their own (the line item's
        # symbols would be clipped and downsampled with the line)
        if every or not isolated.any():
            if curve.dots is not None:
                curve.dots.setData([], [])
            return
        if curve.dots is None:
            curve.dots = pg.ScatterPlotItem(size=POINT_SIZE, symbol=symbol, brush=pg.mkBrush(curve.color),
                                            pen=pg.mkPen("w", width=0.8))
            self.plot.addItem(curve.dots)
        centres = np.asarray(curve.x, dtype=float) + self.data.bucket_s / 2
        curve.dots.setData(centres[isolated], y[isolated])

    def _slot(self, series: Series) -> int:
        key = f"{series.metric}.{series.agg}"
        return self._measures.index(key) if key in self._measures else 0

    def _new_curve(self, series: Series) -> _Curve:
        slot = self._slot(series)
        grouped = series.group is not None
        color = self.colors.color(series.group, slot if not grouped else 0)
        if not grouped:
            color = self.colors.color(None, slot)
        if self.panel.chart == "bar":
            c = QColor(color)
            if grouped and len(self._measures) > 1:
                c.setAlpha(BAR_SHADES[slot % len(BAR_SHADES)])
            item = pg.BarGraphItem(x0=np.zeros(0), y0=np.zeros(0), height=np.zeros(0), width=1.0,
                                   brush=pg.mkBrush(c), pen=pg.mkPen(None))
        else:
            style = LINE_STYLES[slot % len(LINE_STYLES)] if grouped else Qt.SolidLine
            pen = pg.mkPen(color, width=1.8, style=style) if self.panel.chart != "points" else None
            item = pg.PlotDataItem(pen=pen, connect="finite", name=series.label, symbolSize=POINT_SIZE,
                                   symbolBrush=pg.mkBrush(color), symbolPen=pg.mkPen("w", width=0.8))
            if self.panel.chart == "area":
                fill = QColor(color)
                fill.setAlpha(45 if not grouped else 22)      # grouped fills overlap: light enough to see through
                item.setFillLevel(0)
                item.setBrush(pg.mkBrush(fill))
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        self.plot.addItem(item)
        curve = _Curve(series, item, slot)
        curve.color = color
        return curve

    def _apply_bars(self, data: BoardData, pd: PanelData) -> None:
        slots = max(len(self._measures), 1)
        width = data.bucket_s * 0.84 / slots
        stacks: dict[int, np.ndarray] = {}
        for series in pd.series:
            curve = self.curves[series.key]
            base = stacks.get(curve.slot)
            if base is None or len(base) != len(data.x):
                base = np.zeros(len(data.x))
            height = np.nan_to_num(series.y, nan=0.0)
            x0 = data.x + data.bucket_s * 0.08 + curve.slot * width
            curve.x, curve.y, curve.y0 = data.x, series.y, base.copy()
            curve.item.setOpts(x0=x0, y0=base.copy(), height=height, width=width)
            stacks[curve.slot] = base + height

    def series_data(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(bucket starts, y) the item holds: a line's or area's y as given to setData (drawn at bucket
        centres; its getData() is that, clipped to the view and downsampled), a bar chart's bar heights."""
        curve = self.curves[key]
        if isinstance(curve.item, pg.BarGraphItem):
            return curve.x, np.asarray(curve.item.opts["height"])
        x, y = curve.item.getOriginalDataset()
        return np.asarray(x) - self.data.bucket_s / 2, np.asarray(y)

    def legend_entries(self) -> list[tuple[str, QColor, str]]:
        """(label, colour, kind) for the panel's legend: one per group, then one per measure (by style)."""
        if self.pd is None:
            return []
        grouped = any(s.group is not None for s in self.pd.series)
        if not grouped:
            return [(s.label, self.curves[s.key].color, "line" if self.panel.chart != "bar" else "box")
                    for s in self.pd.series if s.key in self.curves] if len(self.pd.series) > 1 else []
        out, groups = [], []
        for s in self.pd.series:
            if s.group not in groups:
                groups.append(s.group)
                out.append((s.group, self.curves[s.key].color, "box"))
        if len(self._measures) > 1:
            for i, m in enumerate(self.panel.measures):
                out.append((m.display_label(), QColor("#57606a"),
                            f"style{i % len(LINE_STYLES)}" if self.panel.chart != "bar" else f"shade{i}"))
        return out

    # -- hover and click ------------------------------------------------------------------------------------
    def _bucket_index(self, x: float) -> int | None:
        d = self.data
        if d is None or not len(d.x):
            return None
        if self.panel.chart == "bar":           # a bar fills its bucket
            start = d.bucket_at(x)
            return None if start is None else int(round((start - d.x[0]) / d.bucket_s))
        i = int(round((x - d.x[0]) / d.bucket_s - 0.5))    # a line's points sit at bucket centres: the nearest
        return i if 0 <= i < len(d.x) else None

    def _pick(self, i: int, view_pos: QPointF) -> _Curve | None:
        """The series under (or nearest to) the pointer at bucket i."""
        candidates = [c for c in self.curves.values() if i < len(c.y) and not is_missing(float(c.y[i]))]
        if not candidates:
            return None
        y = view_pos.y()
        if self.panel.chart == "bar":
            slots = max(len(self._measures), 1)
            frac = (view_pos.x() - self.data.x[i]) / self.data.bucket_s
            slot = min(max(int((frac - 0.08) / (0.84 / slots)), 0), slots - 1)
            in_slot = [c for c in candidates if c.slot == slot] or candidates
            for c in in_slot:
                if c.y0[i] <= y <= c.y0[i] + c.y[i]:
                    return c
            return min(in_slot, key=lambda c: abs(c.y0[i] + c.y[i] - y))
        return min(candidates, key=lambda c: abs(float(c.y[i]) - y))

    def _pixels_between(self, y1: float, y2: float) -> float:
        vb = self.view_box
        a = vb.mapViewToScene(QPointF(0, y1))
        b = vb.mapViewToScene(QPointF(0, y2))
        return abs(a.y() - b.y())

    def _on_scene_mouse_moved(self, event) -> None:
        pos = event[0]
        vb = self.view_box
        if self.data is None or not vb.sceneBoundingRect().contains(pos):
            self.hover_line.hide()
            self.readout.hide()
            return
        p = vb.mapSceneToView(pos)
        i = self._bucket_index(p.x())
        picked = self._pick(i, p) if i is not None else None
        if i is None:
            self.hover_line.hide()
            self.readout.hide()
            return
        d = self.data
        self.hover_line.setPos(d.x[i] + d.bucket_s / 2)
        self.hover_line.show()
        self.readout.setHtml(self._readout_html(i, picked))
        (x0, x1), (y0, y1) = vb.viewRange()
        right = p.x() > (x0 + x1) / 2
        top = p.y() > (y0 + y1) / 2
        self.readout.setAnchor((1.0 if right else 0.0, 0.0 if top else 1.0))
        self.readout.setPos(p.x() + (-1 if right else 1) * (x1 - x0) * 0.01, p.y())
        self.readout.show()

    def _readout_html(self, i: int, picked: _Curve | None) -> str:
        d = self.data
        rows = [f"<div style='color:#57606a'>{html.escape(bucket_text(float(d.x[i]), d.bucket_s))}</div>"]
        curves = list(self.curves.values())
        shown = curves if len(curves) <= 8 else ([picked] if picked else [])
        for c in shown:
            value = float(c.y[i]) if i < len(c.y) else math.nan
            name = html.escape(c.group if c.group is not None and len(self._measures) == 1 else c.label)
            weight = "font-weight:600;" if c is picked else ""
            text = (ms_text(value, self.axis.seconds) if c.unit == "ms" and not is_missing(value)
                    else format_value(value, c.unit))                 # the axis's time unit, one per panel
            rows.append(f"<div style='{weight}'><span style='color:{c.color.name()}'>■</span> {name}: "
                        f"{html.escape(text)}</div>")
        if len(curves) > 8:
            rows.append(f"<div style='color:#57606a'>{len(curves)} series: point at one</div>")
        return "<div style='font-size:11px'>" + "".join(rows) + "</div>"

    def _on_scene_mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton or self.data is None:
            return
        vb = self.view_box
        pos = event.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        if event.double():                       # back to the whole range (and following live data)
            self.resetZoomRequested.emit()
            return
        p = vb.mapSceneToView(pos)
        i = self._bucket_index(p.x())
        if i is None:
            return
        picked = self._pick(i, p)
        group = None
        if picked is not None and picked.group is not None:
            if self.panel.chart == "bar":
                inside = picked.y0[i] <= p.y() <= picked.y0[i] + picked.y[i]
            else:
                inside = self._pixels_between(float(picked.y[i]), p.y()) <= PICK_PIXELS
            group = picked.group if inside else None
        self.bucketClicked.emit(float(self.data.x[i]), group)

    def click_bucket(self, i: int, group: str | None = None) -> None:
        """What a click on bucket i (and on a group's series) does — for keyboard use and tests."""
        if self.data is not None and 0 <= i < len(self.data.x):
            self.bucketClicked.emit(float(self.data.x[i]), group)
