"""A layout that places widgets left to right and wraps to a new line when the width runs out (Qt's
flow-layout example), so a toolbar never makes its page wider than the window."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)

    def addItem(self, item: QLayoutItem) -> None:          # noqa: N802 (Qt's names below too)
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientations:
        return Qt.Orientations(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        m = self.contentsMargins()
        width = sum(i.sizeHint().width() + self.spacing() for i in self._visible())
        height = max((i.sizeHint().height() for i in self._visible()), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        m = self.contentsMargins()
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not (i.widget() and i.widget().isHidden())]

    def _place(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        lines: list[list[tuple[QLayoutItem, int, QSize]]] = [[]]
        for item in self._visible():
            hint = item.sizeHint().boundedTo(QSize(area.width(), 10_000)).expandedTo(item.minimumSize())
            if x + hint.width() > area.right() + 1 and lines[-1]:
                x, y = area.x(), y + line_height + self.spacing()
                line_height = 0
                lines.append([])
            lines[-1].append((item, x, hint))
            x += hint.width() + self.spacing()
            line_height = max(line_height, hint.height())
        if move:
            top = area.y()
            for line in lines:
                height = max((h.height() for _, _, h in line), default=0)
                for item, left, hint in line:       # centred vertically in their line
                    item.setGeometry(QRect(QPoint(left, top + (height - hint.height()) // 2), hint))
                top += height + self.spacing()
        return y + line_height - rect.y() + m.bottom()
