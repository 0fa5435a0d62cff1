"""The results matrix: rows = variable combinations, columns = prompt × model; each column's totals are in
its header (always in view) and again in a totals row at the bottom.

Each cell draws its output (first lines), cost, latency and one mark per score, tinted by pass/fail. The
layout and totals come from monitor.experiments.matrix; this module only draws.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem, QTableView

from monitor.experiments import CallResult, ExperimentCall
from monitor.experiments.matrix import Matrix

from ..call_stats import format_ms, format_usd

CELL_ROLE = Qt.ItemDataRole.UserRole + 10       # (ExperimentCall, CallResult | None, state, 1–5 score labels)
TOTALS_ROLE = Qt.ItemDataRole.UserRole + 11     # ColumnTotals of the column (totals row only)
_TINT = {"pass": QColor("#e7f5ea"), "fail": QColor("#fde7e4"), "error": QColor("#f9d6d2"),
         "queued": QColor("#f4f4f4"), "not run": QColor("#f4f4f4")}
_MARK = {True: ("✓", QColor("#1e7b34")), False: ("✗", QColor("#b3261e")), None: ("•", QColor("#777777"))}


HEADER_CHARS = 34                      # a row header's line; the full text is its tooltip


def _name_and_value(name: str, value: Any) -> str:
    """"name=value" in a row header: a long variable name is shortened first, so the value stays in view."""
    value = str(value)
    keep = max(8, HEADER_CHARS - 2 - len(value))
    return f"{name[:keep]}…={value}" if len(name) > keep else f"{name}={value}"


class MatrixModel(QAbstractTableModel):
    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.matrix = Matrix([])
        self.results: dict[int, CallResult] = {}
        self.not_run: set[int] = set()

    def reset(self, calls: list[ExperimentCall], asserts: list[dict],
              results: dict[int, CallResult] | None = None) -> None:
        self.beginResetModel()
        self.matrix = Matrix(calls, asserts)
        self.results = dict(results or {})
        self.not_run = set()
        self.endResetModel()

    def set_results(self, results: list[CallResult]) -> None:
        """A batch of results: one repaint of the rows they touch and of the totals row."""
        if not results:
            return
        rows = []
        for r in results:
            self.results[r.index] = r
            rows.append(self.matrix.position(r.index)[0])
        last_col = self.columnCount() - 1
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), last_col))
        totals = self.rowCount() - 1
        self.dataChanged.emit(self.index(totals, 0), self.index(totals, last_col))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, last_col)      # the totals in the header

    def mark_not_run(self, indexes: set[int]) -> None:
        self.not_run |= indexes
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)

    def state(self, index: int) -> str:
        r = self.results.get(index)
        if r is None:
            return "not run" if index in self.not_run else "queued"
        if r.status != "success":
            return "error"
        return "pass" if r.passed else "fail"

    def cell(self, row: int, column: int) -> tuple[ExperimentCall, CallResult | None] | None:
        index = self.matrix.index_at(row, column)
        if index is None:
            return None
        return self.matrix.calls[index], self.results.get(index)

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or not self.matrix.rows else len(self.matrix.rows) + 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.matrix.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if orientation == Qt.Orientation.Horizontal:
            label = self.matrix.column_label(section)
            totals = totals_text(self.matrix.totals(section, self.results))
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{label}\n\n{totals}"
            prompt, model = label.split("\n", 1)
            return f"{prompt[:40]}{'…' if len(prompt) > 40 else ''}\n{model}\n{totals}"
        if section == len(self.matrix.rows):
            return "Totals"
        row = self.matrix.rows[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.label(self.matrix.repeats > 1)
        lines = [_name_and_value(k, v) for k, v in row.values] or ["(no variables)"]    # one variable per line
        if self.matrix.repeats > 1:
            lines.append(f"repeat {row.repeat + 1}")
        return "\n".join(line[:HEADER_CHARS] + ("…" if len(line) > HEADER_CHARS else "") for line in lines)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if index.row() == len(self.matrix.rows):
            if role == TOTALS_ROLE:
                return self.matrix.totals(index.column(), self.results)
            if role == Qt.ItemDataRole.DisplayRole:
                return totals_text(self.matrix.totals(index.column(), self.results))
            return None
        found = self.cell(index.row(), index.column())
        if found is None:
            return None
        call, result = found
        if role == CELL_ROLE:
            return call, result, self.state(call.index), self.matrix.scaled
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(result)
        if role == Qt.ItemDataRole.ToolTipRole and result is not None:
            lines = [f"{s.name}: {'pass' if s.passed else 'FAIL'} — {s.reason}" for s in result.scores.values()]
            return "\n".join(lines) or None
        return None


def cell_text(result: CallResult | None) -> str:
    if result is None:
        return ""
    return (result.error or "error") if result.status != "success" else result.output


def totals_text(t: Any) -> str:
    """A column's totals in two lines: pass rate and mean score; cost and p50 latency."""
    rate = "not run" if t.pass_rate is None else f"{t.passed}/{t.done} pass ({t.pass_rate:.0%})"
    mean = "" if t.mean_score is None else f" · mean {t.mean_score:.2f}"
    cost = "price unknown" if t.cost_usd is None else format_usd(t.cost_usd)
    return f"{rate}{mean}\n{cost} · p50 {format_ms(t.p50_latency_ms)}"


class CellDelegate(QStyledItemDelegate):
    """Output on top (a few lines), numbers and score marks on the bottom line, a pass/fail tint."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        rect = option.rect.adjusted(1, 1, -1, -1)
        palette = option.palette
        inner = rect.adjusted(6, 4, -6, -4)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.9))
        line_h = option.fontMetrics.height()
        totals = index.data(TOTALS_ROLE)
        if totals is not None:
            painter.fillRect(rect, QColor("#eef2f8"))
            bold = QFont(option.font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, index.data())
            painter.restore()
            return
        data = index.data(CELL_ROLE)
        if data is None:
            painter.restore()
            return
        call, result, state, scaled = data
        painter.fillRect(rect, _TINT.get(state, QColor("#ffffff")))
        if _is_selected(option):
            painter.setPen(QColor("#1d5fbf"))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        text_rect = QRect(inner.left(), inner.top(), inner.width(), inner.height() - line_h - 2)
        painter.setPen(QColor("#b3261e") if state == "error" else palette.color(QPalette.ColorRole.Text))
        if result is None:
            painter.setPen(QColor("#888888"))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, state)
        else:
            lines = max(1, text_rect.height() // line_h)
            shown = _elided(cell_text(result), option.font, option.fontMetrics, text_rect.width(), lines)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, shown)
            foot = QRect(inner.left(), inner.bottom() - line_h, inner.width(), line_h)
            painter.setFont(small)
            painter.setPen(QColor("#5f6368"))
            numbers = f"{format_usd(result.cost_usd)} · {format_ms(result.latency_ms)}"
            painter.drawText(foot, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, numbers)
            x = foot.right()
            for score in reversed(list(result.scores.values())):
                mark, color = _MARK[score.passed]
                if (score.name in scaled or score.source == "human") and score.value is not None:
                    mark = f"{score.value:g}"               # a 1–5 score shows its number, coloured pass/fail
                width = painter.fontMetrics().horizontalAdvance(mark) + 4
                if x - width < foot.left() + painter.fontMetrics().horizontalAdvance(numbers) + 8:
                    break
                painter.setPen(color)
                painter.drawText(QRect(x - width, foot.top(), width, foot.height()), Qt.AlignmentFlag.AlignCenter, mark)
                x -= width
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return QSize(240, option.fontMetrics.height() * 3 + 14)


def _is_selected(option: QStyleOptionViewItem) -> bool:
    from PySide6.QtWidgets import QStyle

    return bool(option.state & QStyle.StateFlag.State_Selected)


_ELIDED: dict[tuple, str] = {}
_ELIDED_MAX = 4096


def _elided(text: str, font: QFont, metrics: Any, width: int, lines: int) -> str:
    """_elide_lines, remembered: a cell is repainted each time a batch of results lands, and measuring its words
    again was a quarter of the matrix's paint time."""
    key = (text, font.key(), width, lines)
    shown = _ELIDED.get(key)
    if shown is None:
        if len(_ELIDED) >= _ELIDED_MAX:
            _ELIDED.clear()
        shown = _ELIDED[key] = _elide_lines(text, metrics, width, lines)
    return shown


def _elide_lines(text: str, metrics: Any, width: int, lines: int) -> str:
    """The text wrapped to `width`, at most `lines` lines, the last one elided."""
    words = " ".join(text.split()).split(" ")
    out: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if metrics.horizontalAdvance(trial) <= width or not current:
            current = trial
            continue
        out.append(current)
        current = word
        if len(out) == lines:
            break
    if len(out) < lines and current:
        out.append(current)
    consumed = sum(len(line) + 1 for line in out)
    if consumed < len(" ".join(words)) and out:
        out[-1] = metrics.elidedText(out[-1] + " …", Qt.TextElideMode.ElideRight, width)
    return "\n".join(out[:lines])


class MatrixView(QTableView):
    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setItemDelegate(CellDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setWordWrap(True)
        self.setShowGrid(True)
        self.horizontalHeader().setDefaultSectionSize(250)
        self.horizontalHeader().setMinimumSectionSize(120)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() * 3 + 16)
        self.verticalHeader().setMaximumWidth(260)
        self.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.horizontalHeader().setMinimumHeight(self.fontMetrics().height() * 4 + 12)   # prompt, model, 2 of totals

    def setModel(self, model: Any) -> None:  # noqa: N802
        super().setModel(model)
        model.modelReset.connect(self.fit_columns)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Few columns share the whole width; many keep a readable width and scroll."""
        n = self.model().columnCount() if self.model() is not None else 0
        if n:
            width = max(240, (self.viewport().width() - 2) // n)
            for column in range(n):
                self.horizontalHeader().resizeSection(column, width)
