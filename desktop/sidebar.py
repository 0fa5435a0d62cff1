"""The left column: pages, streams with live call counts, saved boards."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QScrollArea, QStyledItemDelegate, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from monitor.store import StreamInfo

from . import formatting as fmt
from .style import icon

KEY_ROLE = Qt.UserRole
STREAM_ROLE = Qt.UserRole + 1
MIN_ROWS = 3            # a list always shows this many rows (or all it has); more rows scroll


def _heading(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="sidebarHeading")


def _fit_height(view: QAbstractItemView, rows: int) -> None:
    """No taller than its rows (sections sit one under the other) and never shorter than MIN_ROWS of them,
    whatever the window's height; a long list scrolls.  The new size applies now, not at the next layout
    pass: a click right after an update must land on the row it sees."""
    row = max(view.sizeHintForRow(0) if rows else 0, view.fontMetrics().height() + 8)
    extra = 2 * view.frameWidth() + 6

    def height(n: int) -> int:
        return max(n, 1) * (row + 1) + extra
    view.setMinimumHeight(height(min(rows, MIN_ROWS)))
    view.setMaximumHeight(height(rows))
    parent = view.parentWidget()
    if parent is not None and parent.layout() is not None:
        parent.layout().activate()


class PathElideDelegate(QStyledItemDelegate):
    """Stream names shortened by their parts: "my-team/…/openai_logs" (the whole name is in the tooltip)."""

    def initStyleOption(self, option, index) -> None:      # noqa: N802 (Qt's name)
        super().initStyleOption(option, index)
        room = option.rect.width() - option.decorationSize.width() - 28       # icon, gap, padding
        metrics = option.fontMetrics
        option.text = fmt.elide_path(option.text, lambda t: metrics.horizontalAdvance(t) <= room)


class Sidebar(QWidget):
    pageActivated = Signal(str)                 # page key
    streamActivated = Signal(str)               # stream name
    boardActivated = Signal(str, str)           # board name, its stream

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="sidebar")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setMinimumWidth(180)

        self.pages = QListWidget(objectName="pageList")
        self.pages.setIconSize(QSize(18, 18))
        self.pages.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.pages.currentItemChanged.connect(self._on_pages_current_changed)

        self.streams = QTreeWidget(objectName="streamTree", columnCount=2)
        self.streams.setHeaderHidden(True)
        self.streams.setRootIsDecorated(False)
        self.streams.setIndentation(0)
        self.streams.setUniformRowHeights(True)
        self.streams.setTextElideMode(Qt.ElideMiddle)
        self.streams.setItemDelegateForColumn(0, PathElideDelegate(self.streams))
        self.streams.header().setStretchLastSection(False)
        self.streams.header().setSectionResizeMode(0, QHeaderView.Stretch)
        self.streams.header().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.streams.setSelectionMode(QAbstractItemView.SingleSelection)
        self.streams.currentItemChanged.connect(self._on_streams_current_changed)

        self.boards = QListWidget(objectName="boardList")
        self.boards.setIconSize(QSize(16, 16))
        # Long board names ("OpenAI Monitor Board · team/project/stream") elide; the tooltip has it all.
        self.boards.setTextElideMode(Qt.ElideMiddle)
        self.boards.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.boards.itemActivated.connect(self._on_boards_item_activated)
        self.boards.itemClicked.connect(self._on_boards_item_activated)

        # the sections scroll as a whole when the window is too short for them all
        content = QWidget(objectName="sidebarContent")
        scroll = QScrollArea(self, widgetResizable=True, frameShape=QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        scroll.viewport().setAutoFillBackground(False)
        content.setAutoFillBackground(False)
        self.scroll = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(0)
        layout.addWidget(self.pages)
        layout.addWidget(_heading("Streams"))
        layout.addWidget(self.streams, 3)
        layout.addWidget(_heading("Saved boards"))
        layout.addWidget(self.boards, 1)
        layout.addStretch(0)
        self.set_boards([])
        _fit_height(self.streams, 0)

    # -- pages --------------------------------------------------------------------------------------
    def add_page(self, key: str, title: str, page_icon: QIcon | None = None) -> None:
        item = self._page_item(key)
        if item is None:
            item = QListWidgetItem(title)
            item.setData(KEY_ROLE, key)
            self.pages.blockSignals(True)        # adding is not choosing: the window decides what shows
            self.pages.addItem(item)
            self.pages.blockSignals(False)
        item.setText(title)
        item.setIcon(page_icon or icon(key))
        rows = self.pages.count()
        self.pages.setFixedHeight(rows * (self.pages.sizeHintForRow(0) + 2) + 6)

    def select_page(self, key: str) -> None:
        item = self._page_item(key)
        if item is not None and self.pages.currentItem() is not item:
            self.pages.blockSignals(True)
            self.pages.setCurrentItem(item)
            self.pages.blockSignals(False)

    def _page_item(self, key: str) -> QListWidgetItem | None:
        for row in range(self.pages.count()):
            if self.pages.item(row).data(KEY_ROLE) == key:
                return self.pages.item(row)
        return None

    def _on_pages_current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.pageActivated.emit(item.data(KEY_ROLE))

    # -- streams ------------------------------------------------------------------------------------
    def set_streams(self, streams: list[StreamInfo], current: str = "") -> None:
        """Update in place: counts change every few hundred ms and the selection must not flicker."""
        names = [s.name for s in streams]
        if current and current not in names:        # selected but nothing logged yet (--stream new/one)
            streams = [*streams, StreamInfo(current, 0, None, "local")]
        existing = {self.streams.topLevelItem(i).data(0, KEY_ROLE): self.streams.topLevelItem(i)
                    for i in range(self.streams.topLevelItemCount())}
        self.streams.blockSignals(True)
        wanted = {s.name for s in streams}
        for name, item in existing.items():
            if name not in wanted:
                self.streams.takeTopLevelItem(self.streams.indexOfTopLevelItem(item))
        for index, info in enumerate(streams):
            item = existing.get(info.name)
            if item is None:
                item = QTreeWidgetItem()
                item.setData(0, KEY_ROLE, info.name)
                item.setIcon(0, icon("stream"))
                item.setTextAlignment(1, Qt.AlignRight | Qt.AlignVCenter)
                item.setForeground(1, Qt.gray)
                self.streams.insertTopLevelItem(index, item)
            item.setText(0, info.name)
            item.setText(1, fmt.count(info.calls))
            when = f"last call {fmt.full_time(info.last_ts)}" if info.last_ts else "no calls yet"
            origin = " · imported from a board file" if info.origin == "imported" else ""
            item.setToolTip(0, f"{info.name}\n{fmt.plural(info.calls, 'call')} · {when}{origin}")
        if current:
            self._select_stream_item(current)
        self.streams.blockSignals(False)
        _fit_height(self.streams, self.streams.topLevelItemCount())

    def stream_count(self, name: str) -> int | None:
        for i in range(self.streams.topLevelItemCount()):
            item = self.streams.topLevelItem(i)
            if item.data(0, KEY_ROLE) == name:
                return int(item.text(1).replace(",", "") or 0)
        return None

    def select_stream(self, name: str) -> None:
        self.streams.blockSignals(True)
        self._select_stream_item(name)
        self.streams.blockSignals(False)

    def _select_stream_item(self, name: str) -> None:
        for i in range(self.streams.topLevelItemCount()):
            item = self.streams.topLevelItem(i)
            if item.data(0, KEY_ROLE) == name:
                if self.streams.currentItem() is not item:
                    self.streams.setCurrentItem(item)
                return

    def _on_streams_current_changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        if item is not None:
            self.streamActivated.emit(item.data(0, KEY_ROLE))

    # -- boards -------------------------------------------------------------------------------------
    def set_boards(self, boards: list[tuple[str, str]]) -> None:
        self.boards.clear()
        if not boards:
            item = QListWidgetItem("No saved boards yet")
            item.setFlags(Qt.NoItemFlags)
            item.setForeground(Qt.gray)
            self.boards.addItem(item)
            _fit_height(self.boards, 1)
            return
        for name, stream in boards:
            item = QListWidgetItem(icon("board"), name)
            item.setData(KEY_ROLE, name)
            item.setData(STREAM_ROLE, stream)
            item.setToolTip(f"{name}\nstream: {stream}")
            self.boards.addItem(item)
        _fit_height(self.boards, len(boards))

    def _on_boards_item_activated(self, item: QListWidgetItem) -> None:
        if item.data(KEY_ROLE):
            self.boardActivated.emit(item.data(KEY_ROLE), item.data(STREAM_ROLE))
