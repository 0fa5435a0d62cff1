"""A scatter panel: one dot per call (computed and, past scatter.MAX_POINTS calls, evenly sampled in
monitor/boards/scatter.py), coloured by group; hovering a dot tells the call, its time and value.
Its time axis follows the board's other charts (board_view links X)."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from monitor.boards import BoardData, Panel, PanelData
from monitor.boards.kinds import panel_unit

from .colors import GroupColors
from .timeseries import BoardViewBox, UnitAxis, Y_HEADROOM
from .units import bucket_text, format_value, ms_text

DOT = 6
DENSE = 1000                 # past this many points, smaller and lighter dots so the cloud's density reads


class ScatterChart(QWidget):
    def __init__(self, panel: Panel, colors: GroupColors, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel, self.colors = panel, colors
        self.data: BoardData | None = None
        self.pd: PanelData | None = None
        self.axis = UnitAxis(panel_unit(panel))
        self.plot = pg.PlotWidget(viewBox=BoardViewBox(),
                                  axisItems={"bottom": pg.DateAxisItem(orientation="bottom"), "left": self.axis})
        self.plot.setMinimumHeight(120)
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.showGrid(x=False, y=True, alpha=0.12)
        self.dots = pg.ScatterPlotItem(size=DOT, pen=None, hoverable=True, tip=self._tip)
        self.plot.addItem(self.dots)
        self.note = QLabel("", objectName="mutedLabel")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)

    def apply(self, data: BoardData, pd: PanelData) -> None:
        self.data, self.pd = data, pd
        pts = pd.points
        n = 0 if pts is None else len(pts.x)
        if n:
            alpha = 110 if n > DENSE else 190
            brushes = {g: self._brush(g, alpha) for g in set(pts.group.tolist())}
            self.dots.setData(x=pts.x, y=pts.y, brush=[brushes[g] for g in pts.group.tolist()], data=np.arange(n),
                              size=4 if n > DENSE else DOT)
            top = float(np.max(pts.y))
        else:
            self.dots.setData([], [])
            top = 0.0
        start, end = float(data.start), float(data.end)
        self.plot.getPlotItem().getViewBox().setXRange(start, end if end > start else start + 1, padding=0.01)
        top = top * Y_HEADROOM if top > 0 else 1.0
        box = self.plot.getPlotItem().getViewBox()
        sliver = top * 9 / max(box.height() - 9, 40)          # as the charts: room for the "0" tick label
        box.setYRange(-sliver, top, padding=0)
        text = pd.note if n else "No calls with a value in this range."
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _brush(self, g: int, alpha: int) -> QColor:
        groups = self.data.groups if self.data is not None else []
        color = QColor(self.colors.color(groups[g] if 0 <= g < len(groups) else None, 0))
        color.setAlpha(alpha)
        return pg.mkBrush(color)

    def _tip(self, x: float, y: float, data) -> str:
        pts, unit = self.pd.points, self.axis.unit
        i = int(data)
        value = ms_text(y, self.axis.seconds) if unit == "ms" else format_value(y, unit)
        g = int(pts.group[i])
        group = f" · {self.data.groups[g]}" if 0 <= g < len(self.data.groups) else ""
        return html.unescape(f"call {int(pts.ids[i])}{group}\n{bucket_text(x, 1)}\n{value}")

    def legend_entries(self) -> list[tuple[str, QColor, str]]:
        if self.pd is None or self.pd.points is None or self.data is None:
            return []
        shown = sorted({g for g in self.pd.points.group.tolist() if 0 <= g < len(self.data.groups)})
        return [(self.data.groups[g], self.colors.color(self.data.groups[g]), "box") for g in shown]
