"""The Boards page (desktop half of boards): draws what monitor.boards computes.

    page.py            BoardsPage — the public API the main window wires (see its docstring)
    header.py          name (click to rename), stream, board buttons
    toolbar.py         time range, bucket, group by, filters (filters.py), text search
    board_view.py      panels on the 12-column grid, fed each BoardData
    timeseries.py      a chart panel (pyqtgraph: curves created once, setData on each refresh)
    stat_panel.py      big numbers;  requests_table.py  the calls, lazily paged, with the selected one
    panel_kinds.py     kind -> widget factory and editor rows (the app's half of monitor.boards.kinds)
    top_panel.py       a top-N table;  scatter_panel.py  one dot per call
    panel_frame.py     a panel's title, legend and ⋮ menu;  panel_editor.py  the panel dialog
    layout.py          packing and moving panels on the grid (pure)
    live.py            refresh coalescing;  jobs.py  everything that runs on the DB worker
    file_actions.py    Export board / Open board file / PNG / CSV actions
"""
from .page import BoardsPage

__all__ = ["BoardsPage"]
