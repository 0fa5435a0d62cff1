"""Item models that answer a view's paint in one Python call per cell.

A view paints a cell by asking its model for ~7 roles (display, alignment, font, colours, …).  Through
`data()` each is a C++ -> Python call, and each call must take the GIL: while worker threads are busy (an
experiment's calls landing) a repaint of 40 rows x 8 columns waits for the GIL ~2,000 times and the event
loop stalls for tens of ms.  Qt 6's `multiData` asks for all of a cell's roles at once, so one call per cell.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QModelRoleDataSpan


class OneCallPerCell:
    """Mix into a QAbstractItemModel subclass (before it): multiData answers every role from `data()`."""

    def multiData(self, index: QModelIndex, span: QModelRoleDataSpan) -> None:  # noqa: N802 (Qt's name)
        if not index.isValid():
            return
        for role_data in span:
            value = self.data(index, role_data.role())
            if value is not None:
                role_data.setData(value)
