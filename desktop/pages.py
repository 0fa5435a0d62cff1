"""The app's built-in pages: where each lives and how the main window lists it.

A page's module is imported, and its widget built, only when the page is first shown or asked for
(MainWindow.page), so the window paints without pyqtgraph, the openai SDK or any page's code.
A page that moves to its own folder changes one line here.
"""
from __future__ import annotations

import importlib
from typing import NamedTuple

from PySide6.QtWidgets import QWidget


class PageEntry(NamedTuple):
    key: str
    title: str
    shortcut: str
    module: str                     # imported when the page is first shown
    cls: str                        # built as cls(ctx)
    follows_stream: bool = False    # gets set_stream(name) when the sidebar's stream changes


PAGES = (                           # in sidebar order
    PageEntry("playground", "Playground", "Ctrl+1", "desktop.playground", "PlaygroundPage"),
    PageEntry("boards", "Boards", "Ctrl+2", "desktop.boards", "BoardsPage", follows_stream=True),
    PageEntry("requests", "Requests", "Ctrl+3", "desktop.requests", "RequestsPage", follows_stream=True),
    PageEntry("experiments", "Experiments", "Ctrl+4", "desktop.experiments", "ExperimentsPage"),
)
START_PAGE = "requests"             # shown when the settings name no page


def make_page(entry: PageEntry, ctx) -> QWidget:
    return getattr(importlib.import_module(entry.module), entry.cls)(ctx)
