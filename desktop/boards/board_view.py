"""The board's panels on a 12-column grid (a scroll area), built from the spec and fed each BoardData.

Panel widgets are kept by id and rebuilt only when their own Panel spec changes; a refresh calls
`apply(data)`, which hands each panel its PanelData (charts update their items in place).  Every chart's
X axis is linked to the first chart's, and a click on a bucket reaches the requests table panel.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QWidget

from monitor.boards import BoardData, BoardSpec, Panel

from .colors import GroupColors
from .layout import can_move
from .panel_frame import PanelFrame
from .panel_kinds import PANEL_CONTROLS, create_panel_widget
from .requests_table import PageFetcher, RecordFetcher, RequestsTablePanel
from .scatter_panel import ScatterChart
from .timeseries import TimeseriesChart

ROW_HEIGHT = 50            # pixels per grid row (a chart is 4 rows: ~200 px)
SPACING = 10


def _content(panel: Panel) -> dict:
    """What a panel's widget is built from; its place on the grid is not (stat tiles follow the width)."""
    place = {"col", "row", "height"} | (set() if PANEL_CONTROLS[panel.kind].reflows_with_width else {"width"})
    return panel.model_dump(exclude=place)


class BoardView(QScrollArea):
    editPanelRequested = Signal(str)
    removePanelRequested = Signal(str)
    movePanelRequested = Signal(str, str)
    bucketClicked = Signal(float, object)       # also shown in the table panel, if the board has one
    drillChanged = Signal(str)                  # what the table is narrowed to by a chart click ("" = nothing)

    def __init__(self, fetch_page: PageFetcher, fetch_record: RecordFetcher, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._fetch_page, self._fetch_record = fetch_page, fetch_record
        self.colors = GroupColors()
        self.spec: BoardSpec | None = None
        self.data: BoardData | None = None
        self.frames: dict[str, PanelFrame] = {}
        self.zoomed = False                  # the user zoomed time (all charts are linked): "Reset zoom" shows
        self.canvas = QWidget(objectName="boardCanvas")
        self.canvas.setStyleSheet("#boardCanvas { background: #f6f8fa; }")
        self.grid = QGridLayout(self.canvas)
        self.grid.setContentsMargins(12, 10, 12, 12)
        self.grid.setSpacing(SPACING)
        for c in range(12):
            self.grid.setColumnStretch(c, 1)
        self.empty = QLabel("This board has no panels. Add one with “Add panel”.", objectName="mutedLabel",
                            alignment=Qt.AlignCenter)
        self.setWidget(self.canvas)

    # -- structure ----------------------------------------------------------------------------------------
    def set_spec(self, spec: BoardSpec) -> None:
        old = self.spec
        self.spec = spec
        if old is None or old.group_by != spec.group_by or old.stream != spec.stream:
            self.colors.reset()
        refit = old is None or (old.time_range, old.bucket_s, old.stream) != (spec.time_range, spec.bucket_s,
                                                                                spec.stream)
        wanted = {p.id: p for p in spec.panels}
        for pid in list(self.frames):
            frame = self.frames[pid]
            if pid not in wanted or _content(frame.panel) != _content(wanted[pid]):
                self._drop(pid)
            else:
                frame.panel = wanted[pid]            # moved or resized only: the same widget, laid out again
        for p in spec.panels:
            if p.id not in self.frames:
                self.frames[p.id] = self._build(p)
        self._lay_out()
        self._link_x()
        if refit:
            self.reset_zoom()                         # a new time range is shown whole, and followed live
        for pid, frame in self.frames.items():
            frame.set_moves_enabled({d: can_move(spec.panels, pid, d) for d in ("left", "right", "up", "down")})

    def _build(self, panel: Panel) -> PanelFrame:
        body = create_panel_widget(panel, self)          # panel_kinds.py: one entry per kind
        frame = PanelFrame(panel, body)
        frame.editRequested.connect(self.editPanelRequested)
        frame.removeRequested.connect(self.removePanelRequested)
        frame.moveRequested.connect(self.movePanelRequested)
        return frame

    def _drop(self, pid: str) -> None:
        frame = self.frames.pop(pid)
        self.grid.removeWidget(frame)
        frame.setParent(None)
        frame.deleteLater()

    def _lay_out(self) -> None:
        for frame in self.frames.values():
            self.grid.removeWidget(frame)
        self.grid.removeWidget(self.empty)
        self.empty.setVisible(not self.frames)
        if not self.frames:
            self.grid.addWidget(self.empty, 0, 0, 1, 12)
            return
        bottom = 0
        for frame in self.frames.values():
            p = frame.panel
            # fixed heights: a panel is exactly its rows tall, whatever its contents would like
            frame.setFixedHeight(p.height * ROW_HEIGHT + (p.height - 1) * SPACING)
            self.grid.addWidget(frame, p.row, p.col, p.height, p.width)
            bottom = max(bottom, p.row + p.height)
        for r in range(max(self.grid.rowCount(), bottom + 1)):
            self.grid.setRowMinimumHeight(r, ROW_HEIGHT if r < bottom else 0)
            self.grid.setRowStretch(r, 0)
        self.grid.setRowStretch(bottom, 1)           # spare height goes below the last panel

    def _link_x(self) -> None:
        charts = [f.body for f in self.frames.values() if isinstance(f.body, TimeseriesChart)]
        scatters = [f.body for f in self.frames.values() if isinstance(f.body, ScatterChart)]
        for chart in charts[1:] + scatters:        # a scatter follows the charts' time, never leads it
            chart.plot.setXLink(charts[0].plot if charts else None)
        if charts:
            charts[0].plot.setXLink(None)

    # -- zoom -------------------------------------------------------------------------------------------------
    def _on_chart_zoomed_by_user(self) -> None:
        self.zoomed = True
        for chart in self.charts().values():
            chart.set_zoomed(True)

    def reset_zoom(self) -> None:
        self.zoomed = False
        for chart in self.charts().values():
            chart.set_zoomed(False)

    # -- data -----------------------------------------------------------------------------------------------
    def apply(self, data: BoardData) -> None:
        """Show one refresh (ticks included): every panel updates in place."""
        self.data = data
        self.colors.learn(data.groups)
        for pd in data.panels:
            frame = self.frames.get(pd.id)
            if frame is None:
                continue
            body = frame.body
            if hasattr(body, "apply"):
                body.apply(data, pd)
            if hasattr(body, "legend_entries"):
                frame.set_legend(body.legend_entries())

    def reload_tables(self) -> None:
        for table in self.tables():
            table.set_grouped(bool(self.spec and self.spec.group_by))
            table.reload()

    def clear_drill(self) -> None:
        """Undo a chart click: every table shows all the board's calls again."""
        for table in self.tables():
            if table.bucket is not None:
                table.clear_bucket()

    def tables(self) -> list[RequestsTablePanel]:
        return [f.body for f in self.frames.values() if isinstance(f.body, RequestsTablePanel)]

    def charts(self) -> dict[str, TimeseriesChart]:
        return {pid: f.body for pid, f in self.frames.items() if isinstance(f.body, TimeseriesChart)}

    def _on_chart_bucket_clicked(self, bucket: float, group) -> None:
        bucket_s = self.data.bucket_s if self.data is not None else 0
        tables = self.tables()
        for table in tables:
            table.set_bucket(bucket, bucket_s, group)
        if tables:
            self.ensureWidgetVisible(self.frames[tables[0].panel.id], 0, 0)
        self.bucketClicked.emit(bucket, group)

    def grab_board(self) -> QPixmap:
        """The whole board, scrolled-out parts too (for Export PNG)."""
        self.grid.activate()                      # a board changed a moment ago may not be laid out yet
        need = self.canvas.minimumSizeHint().height()
        if self.canvas.height() < need:
            self.canvas.resize(self.viewport().width(), need)
        return self.canvas.grab()
