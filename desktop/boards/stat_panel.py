"""A stat panel: each measure as a big number over the whole range, a one-line note under it, and the
per-group breakdown in its tooltip."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from monitor.boards import BoardData, Panel, PanelData, StatValue, Summary

from .. import formatting as fmt
from .header import ElidedLabel
from .units import UNKNOWN, axis_seconds, format_value, is_missing, ms_text

TILE_STYLE = """
#statTile { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 6px; }
#statName { color: #57606a; font-size: 11px; }
#statValue { color: #24292f; font-weight: 600; }
#statNote { color: #57606a; font-size: 11px; }
#statNote[warn="true"] { color: #9a6700; }
"""


def _time_quantiles(stat: StatValue, s: Summary) -> dict[str, float | None]:
    return s.latency_ms if stat.key == "latency_ms.avg" else s.ttft_ms if stat.key == "ttft_ms.avg" else {}


def _in_seconds(stat: StatValue, s: Summary) -> bool:
    """One time unit per tile: seconds when the number or its quantiles reach a second."""
    values = [stat.value, *_time_quantiles(stat, s).values()]
    return axis_seconds(max((v for v in values if not is_missing(v)), default=0))


def stat_text(stat: StatValue, s: Summary) -> str:
    """A tile's big number, in its unit (a time in the tile's one unit)."""
    if stat.unit == "ms" and not is_missing(stat.value):
        return ms_text(stat.value, _in_seconds(stat, s))
    return format_value(stat.value, stat.unit)


def stat_note(stat: StatValue, s: Summary) -> tuple[str, bool]:
    """A short fact under a number (text, is_warning): what it is over, what it leaves out."""
    key = stat.key
    if key == "cost_usd.sum":
        if s.unpriced_calls:
            return f"+{fmt.count(s.unpriced_calls)} unpriced (no known price)", True
        return f"over {fmt.count(s.priced_calls)} priced call" + ("" if s.priced_calls == 1 else "s"), False
    if key == "cost_usd.avg":
        return f"over {fmt.count(s.priced_calls)} priced call" + ("" if s.priced_calls == 1 else "s"), False
    if key == "requests.count":
        parts = [f"{fmt.count(s.successes)} ok"]
        if s.errors:
            parts.append(fmt.plural(s.errors, "error"))
        if s.cancelled:
            parts.append(f"{fmt.count(s.cancelled)} cancelled")
        return " · ".join(parts), False
    if key == "errors.ratio":
        return f"{fmt.count(s.errors)} of {fmt.plural(s.requests, 'call')}", bool(s.errors)
    if key in ("latency_ms.avg", "ttft_ms.avg"):
        p, seconds = _time_quantiles(stat, s), _in_seconds(stat, s)

        def shown(v):
            return UNKNOWN if is_missing(v) else ms_text(v, seconds)
        return f"p50 {shown(p.get('p50'))} · p95 {shown(p.get('p95'))}", False
    if key == "total_tokens.avg":
        return f"{fmt.plural(s.total_tokens, 'token')} in all", False
    if key == "total_tokens.sum":
        return f"{fmt.count(s.prompt_tokens)} prompt · {fmt.count(s.completion_tokens)} completion", False
    return "", False


def breakdown_html(stat: StatValue) -> str:
    if not stat.by_group:
        return ""
    rows = "".join(f"<tr><td>{html.escape(g)}</td><td align='right'>&nbsp;&nbsp;{html.escape(format_value(v, stat.unit))}"
                   f"</td></tr>" for g, v in stat.by_group.items())
    return f"<b>{html.escape(stat.label)}</b> by group<table>{rows}</table>"


VALUE_PX = 22            # a tile's number, shrunk (down to MIN_VALUE_PX) to fit a narrow tile whole
MIN_VALUE_PX = 12


class FitLabel(QLabel):
    """A big number that shrinks its font to fit its width rather than being cut."""

    def __init__(self, text: str = "", **kwargs):
        super().__init__(text, **kwargs)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self._fit()

    def setText(self, text: str) -> None:       # noqa: N802 (Qt's name)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:       # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        font = QFont(self.font())
        font.setPixelSize(VALUE_PX)
        need = QFontMetrics(font).horizontalAdvance(self.text()) + 2
        room = self.width() if self.width() > 20 else need
        font.setPixelSize(max(MIN_VALUE_PX, min(VALUE_PX, int(VALUE_PX * room / max(need, 1)))))
        self.setMinimumHeight(QFontMetrics(font).height() if font.pixelSize() == VALUE_PX else self.minimumHeight())
        if font.pixelSize() != self.font().pixelSize():
            self.setFont(font)


class _Tile(QFrame):
    def __init__(self, name: str):
        super().__init__(objectName="statTile")
        self.name = QLabel(name, objectName="statName")
        self.value = FitLabel(UNKNOWN, objectName="statValue")
        self.value.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note = ElidedLabel(Qt.ElideRight, 0, objectName="statNote")      # "…" and a tooltip, never cut
        self.name.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)    # elide rather than widen
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(0)
        layout.addWidget(self.name)
        layout.addWidget(self.value)
        layout.addWidget(self.note)
        layout.addStretch(1)


class StatPanel(QWidget):
    def __init__(self, panel: Panel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.setStyleSheet(TILE_STYLE)
        self.tiles: dict[str, _Tile] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        per_row = max(1, min(len(panel.measures), 2 * panel.width))      # ~1 tile per 1/2 column minimum
        for i, m in enumerate(panel.measures):
            tile = self.tiles[m.key] = _Tile(m.display_label())
            grid.addWidget(tile, i // per_row, i % per_row)
        for c in range(per_row):
            grid.setColumnStretch(c, 1)

    def apply(self, data: BoardData, pd: PanelData) -> None:
        for stat in pd.stats:
            tile = self.tiles.get(stat.key)
            if tile is None:
                continue
            tile.value.setText(stat_text(stat, data.summary))
            note, warn = stat_note(stat, data.summary)
            tile.note.set_full_text(note)
            tile.note.setProperty("warn", "true" if warn else "false")
            tile.note.style().unpolish(tile.note)
            tile.note.style().polish(tile.note)
            tip = breakdown_html(stat)
            tile.setToolTip(tip or f"{stat.label} over the board's time range")

    def value_text(self, key: str) -> str:
        return self.tiles[key].value.text()
