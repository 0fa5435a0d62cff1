"""Colours: one per group, the same in every panel of a board, stable while the board lives."""
from __future__ import annotations

from PySide6.QtGui import QColor

from monitor.boards import MISSING_LABEL, OTHER_LABEL

# Distinct, print-safe hues that read on white (GitHub Primer / Tableau-like).
PALETTE = ("#0969da", "#e16f24", "#1a7f37", "#8250df", "#cf222e", "#bf8700", "#1b7c83", "#d6336c",
           "#6639ba", "#4d7c0f", "#0550ae", "#953800", "#116329", "#a40e26", "#7d4e00", "#3e8fb0")
GREY = "#8c959f"
MUTED_GROUPS = (MISSING_LABEL, OTHER_LABEL)


class GroupColors:
    """Group label -> colour, in order of first sight, so a group keeps its colour as others come and go."""

    def __init__(self) -> None:
        self._assigned: dict[str, str] = {}

    def reset(self) -> None:
        self._assigned.clear()

    def color(self, group: str | None, index: int = 0) -> QColor:
        """The colour of `group`, or of the index-th series of a panel without groups."""
        if group is None:
            return QColor(PALETTE[index % len(PALETTE)])
        if group in MUTED_GROUPS:
            return QColor(GREY)
        if group not in self._assigned:
            used = len([g for g in self._assigned if g not in MUTED_GROUPS])
            self._assigned[group] = PALETTE[used % len(PALETTE)]
        return QColor(self._assigned[group])

    def learn(self, groups: list[str]) -> None:
        """Assign colours in the board's legend order (biggest group first gets the first colour)."""
        for g in groups:
            self.color(g)
