"""Where panels sit on the board's 12-column grid: packing in reading order, and moving one panel.

Pure functions over monitor.boards.Panel lists (no Qt), so moves are easy to test.
"""
from __future__ import annotations

from monitor.boards import Panel
from monitor.boards.kinds import KINDS

COLUMNS = 12


def reading_order(panels: list[Panel]) -> list[Panel]:
    return sorted(panels, key=lambda p: (p.row, p.col))


def pack(panels: list[Panel]) -> list[Panel]:
    """Place panels left to right, wrapping to a new line when a panel does not fit (flex-wrap)."""
    out, col, line_row, line_height = [], 0, 0, 0
    for p in panels:
        if col + p.width > COLUMNS:
            line_row += line_height
            col, line_height = 0, 0
        out.append(p.model_copy(update={"col": col, "row": line_row}))
        col += p.width
        line_height = max(line_height, p.height)
    return out


def _lines(panels: list[Panel]) -> list[list[int]]:
    """Indices of `panels` (packed, in reading order) grouped by line."""
    lines: list[list[int]] = []
    row = None
    for i, p in enumerate(panels):
        if p.row != row:
            lines.append([])
            row = p.row
        lines[-1].append(i)
    return lines


def move(panels: list[Panel], panel_id: str, direction: str) -> list[Panel]:
    """The board's panels with `panel_id` moved "left" | "right" | "up" | "down", packed again."""
    order = pack(reading_order(panels))
    i = next(k for k, p in enumerate(order) if p.id == panel_id)
    j = None
    if direction == "left" and i > 0:
        j = i - 1
    elif direction == "right" and i < len(order) - 1:
        j = i + 1
    elif direction in ("up", "down"):
        lines = _lines(order)
        li = next(n for n, line in enumerate(lines) if i in line)
        target = li - 1 if direction == "up" else li + 1
        if 0 <= target < len(lines):
            col = order[i].col
            j = min(lines[target], key=lambda k: abs(order[k].col - col))
    if j is None:
        return order
    order[i], order[j] = order[j], order[i]
    return pack(order)


def can_move(panels: list[Panel], panel_id: str, direction: str) -> bool:
    before = [(p.id, p.col, p.row) for p in pack(reading_order(panels))]
    return [(p.id, p.col, p.row) for p in move(panels, panel_id, direction)] != before


def add(panels: list[Panel], panel: Panel) -> list[Panel]:
    """Append `panel` at the end of the board, before the requests table (a kind that stays last) if it is
    the last panel."""
    order = pack(reading_order(panels))
    at = len(order)
    if order and KINDS[order[-1].kind].stays_last and not KINDS[panel.kind].stays_last:
        at -= 1
    order.insert(at, panel)
    return pack(order)


def remove(panels: list[Panel], panel_id: str) -> list[Panel]:
    return pack([p for p in reading_order(panels) if p.id != panel_id])


def replace(panels: list[Panel], panel: Panel) -> list[Panel]:
    """`panel` in place of the one with its id (its width may have changed: pack again)."""
    return pack([panel if p.id == panel.id else p for p in reading_order(panels)])


def new_panel_id(panels: list[Panel], base: str = "panel") -> str:
    taken = {p.id for p in panels}
    i = 1
    while f"{base}{i}" in taken:
        i += 1
    return f"{base}{i}"
