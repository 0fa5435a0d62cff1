"""Budget threshold lines on the board's cumulative-cost charts.

Where the line goes (and why only there): a budget caps the money spent in a calendar period.  A dashed
line at a per-bucket share of it on a cost-per-bucket chart would suggest a limit per bucket that does
not exist, so per-bucket charts get none.  A cumulative-cost chart adds up spend from the range start,
so the budget is crossed where the curve reaches (its value at the period start) + (the budget): the line
is drawn there, from the period start to its end, on a chart whose curve holds exactly the budget's
calls — a whole-stream budget on an unsplit curve, a group budget on that group's curve when the board
groups by the budget's key — and only when the board has no filters and its range reaches back to the
period start (else the curve misses calls the budget counts).  LINE_TIP says so in the app.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor

from monitor.boards import BoardData, BoardSpec
from monitor.boards.budget_spec import Budget, money
from monitor.boards.budgets import period_bounds

from .timeseries import TimeseriesChart

CUMULATIVE_COST = "cost_usd.cumulative"
LINE_COLOR = "#cf222e"
LINE_TIP = ("Budget line: where this curve crosses it, the period's spend reaches the budget. Drawn on "
            "cumulative-cost charts only (a per-bucket share of a budget is no real limit), on the curve "
            "holding the budget's calls, when the board has no filters and its range reaches back to the "
            "period's start.")


class _BudgetSegment(pg.PlotCurveItem):
    """A dashed level from the period start to its end (added without bounds: it never widens the time
    axis; a _ValueBound beside it lifts the value axis when the curve is within reach)."""

    def __init__(self, x0: float, x1: float, y: float):
        super().__init__([x0, x1], [y, y], pen=pg.mkPen(LINE_COLOR, width=1.5, style=Qt.DashLine))
        self.level_y = y
        self.setToolTip(LINE_TIP)
        self.setZValue(50)


class _ValueBound(pg.GraphicsObject):
    """Invisible: makes the chart's auto range reach the budget's level (value axis only)."""

    def __init__(self, y: float):
        super().__init__()
        self.level_y = y

    def boundingRect(self) -> QRectF:                          # noqa: N802 (Qt's name)
        return QRectF()

    def paint(self, *args) -> None:
        pass

    def dataBounds(self, ax, frac=1.0, orthoRange=None):      # noqa: N802 (pyqtgraph's name)
        return (None, None) if ax == 0 else (self.level_y, self.level_y * 1.06)     # room for the label


def _matches(budget: Budget, spec: BoardSpec, group: str | None) -> bool:
    if budget.group_by is None:
        return group is None
    return spec.group_by == budget.group_by and group == budget.group_value


def line_level(budget: Budget, spec: BoardSpec, data: BoardData, x, y, now: float) -> tuple[float, float, float] | None:
    """(x0, x1, level) of the budget's line on a cumulative curve (bucket starts x, running totals y), or
    None when the curve can't show it truthfully (see the module docstring)."""
    start, end = period_bounds(budget.period, now)
    if not spec.filters.is_empty() or data.start > start + 1e-6 or not len(x):
        return None
    before = [float(v) for xs, v in zip(x, y) if xs + data.bucket_s <= start + 1e-6 and v == v]
    baseline = before[-1] if before else 0.0
    return start, end, baseline + budget.amount_usd


class BudgetLines:
    """Keeps one segment (and its label) per (chart, budget) in step with the board's refreshes."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, int, str], tuple] = {}      # key -> (chart, segment, label, bound|None)

    def apply(self, charts: dict[str, TimeseriesChart], spec: BoardSpec, data: BoardData, now: float) -> None:
        wanted: dict[tuple[int, int, str], tuple[TimeseriesChart, float, float, float, bool, Budget]] = {}
        for chart in charts.values():
            if chart.pd is None or all(m.key != CUMULATIVE_COST for m in chart.panel.measures):
                continue
            for series in chart.pd.series:
                if f"{series.metric}.{series.agg}" != CUMULATIVE_COST:
                    continue
                for i, budget in enumerate(spec.budgets):
                    if not _matches(budget, spec, series.group):
                        continue
                    place = line_level(budget, spec, data, data.x, series.y, now)
                    if place is None:
                        continue
                    top = max((float(v) for v in series.y if v == v), default=0.0)
                    include = top >= 0.5 * place[2]                  # within reach: show it in the view
                    wanted[(id(chart), i, series.key)] = (chart, *place, include, budget)
        for key in [k for k in self.items if k not in wanted]:
            self._remove(self.items.pop(key))
        for key, (chart, x0, x1, level, include, budget) in wanted.items():
            old = self.items.get(key)
            if old is not None and old[1].level_y == level and (old[3] is not None) == include:
                continue
            if old is not None:
                self._remove(old)
            segment = _BudgetSegment(x0, x1, level)
            bound = _ValueBound(level) if include else None
            label = pg.TextItem(f"budget {money(budget.amount_usd)}/{budget.period}", color=QColor(LINE_COLOR),
                                anchor=(0, 0))                # under the line, at the period start
            label.setPos(max(x0, float(data.start)), level)
            label.setToolTip(LINE_TIP)
            chart.plot.addItem(segment, ignoreBounds=True)
            chart.plot.addItem(label, ignoreBounds=True)
            if bound is not None:
                chart.plot.addItem(bound)
            self.items[key] = (chart, segment, label, bound)

    @staticmethod
    def _remove(entry: tuple) -> None:
        chart, *items = entry
        for item in items:
            if item is not None:
                chart.plot.removeItem(item)

    def levels(self) -> list[float]:
        """The drawn lines' values (tests)."""
        return sorted(entry[1].level_y for entry in self.items.values())
