"""The app's side of the panel-kind registry (monitor/boards/kinds.py holds the headless side): kind →
the widget that draws it and the editor rows it shows — as napari maps a layer type to its controls
(`layer_to_controls`).  Adding a kind = one entry here, one in monitor.boards.kinds, and their modules.

A widget factory gets (panel, board view) and returns the panel's body; the body may have
`apply(data, panel_data)` (each refresh) and `legend_entries()` (the frame's legend).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from PySide6.QtWidgets import QWidget

from monitor.boards import Panel
from monitor.boards.kinds import KINDS

from .requests_table import RequestsTablePanel
from .scatter_panel import ScatterChart
from .stat_panel import StatPanel
from .timeseries import TimeseriesChart
from .top_panel import TopPanel

if TYPE_CHECKING:
    from .board_view import BoardView

# The editor's optional rows; each kind shows those of its spec options (monitor.boards.kinds.OPTIONS).
EDITOR_ROWS = ("measures", "chart", "split_by_group", "top_by", "top_n", "score")


@dataclass(frozen=True)
class PanelControls:
    widget: Callable[[Panel, "BoardView"], QWidget]
    reflows_with_width: bool = False       # the widget lays itself out by the panel's width (rebuilt when it changes)


def _chart(panel: Panel, view: "BoardView") -> QWidget:
    body = TimeseriesChart(panel, view.colors)
    body.bucketClicked.connect(view._on_chart_bucket_clicked)
    body.zoomedByUser.connect(view._on_chart_zoomed_by_user)
    body.resetZoomRequested.connect(view.reset_zoom)
    body.set_zoomed(view.zoomed)
    return body


def _table(panel: Panel, view: "BoardView") -> QWidget:
    body = RequestsTablePanel(panel, view._fetch_page, view._fetch_record)
    body.filterChanged.connect(view.drillChanged)
    return body


PANEL_CONTROLS: dict[str, PanelControls] = {
    "timeseries": PanelControls(_chart),
    "stat": PanelControls(lambda panel, view: StatPanel(panel), reflows_with_width=True),
    "table": PanelControls(_table),
    "scatter": PanelControls(lambda panel, view: ScatterChart(panel, view.colors)),
    "top": PanelControls(lambda panel, view: TopPanel(panel)),
    "score": PanelControls(_chart),              # a score's mean per bucket is a chart over time
}


def editor_rows(kind: str) -> tuple[str, ...]:
    """The panel dialog's rows for a kind: the spec options it uses."""
    return tuple(o for o in KINDS[kind].options if o in EDITOR_ROWS)


def create_panel_widget(panel: Panel, view: "BoardView") -> QWidget:
    return PANEL_CONTROLS[panel.kind].widget(panel, view)
