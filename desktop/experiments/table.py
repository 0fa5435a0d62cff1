"""The experiment's results grid: one row per call of the expanded grid, filled in as results land."""
from __future__ import annotations

import statistics
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from monitor.experiments import CallResult, ExperimentCall

from ..call_stats import format_ms, format_tokens, format_usd

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_STATUS_COLORS = {"error": QColor("#b3261e"), "cancelled": QColor("#8a6100"), "queued": QColor("#777777"),
                  "not run": QColor("#777777"), "running": QColor("#1d3a66")}
_TAIL = ("Model", "Repeat", "Output", "Tokens", "Cost", "Latency", "Status")


class ExperimentResultsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.calls: list[ExperimentCall] = []
        self.variables: list[str] = []
        self.scored = False                      # a "Scores" column when the experiment has asserts
        self.results: dict[int, CallResult] = {}
        self.not_run: set[int] = set()           # cancelled before they started
        self.estimated: set[int] = set()         # rows whose numbers are the server's, not yet the store's

    # -- filling -----------------------------------------------------------------------------------
    def reset(self, calls: list[ExperimentCall], variables: list[str], asserts: list[dict] = ()) -> None:
        self.beginResetModel()
        self.calls, self.variables, self.scored = list(calls), list(variables), bool(asserts)
        self.results, self.not_run, self.estimated = {}, set(), set()
        self.endResetModel()

    def set_result(self, result: CallResult, *, from_store: bool = False) -> None:
        self.results[result.index] = result
        (self.estimated.discard if from_store else self.estimated.add)(result.index)
        self._row_changed(result.index)

    def mark_not_run(self, indexes: set[int]) -> None:
        self.not_run |= indexes
        self.beginResetModel()
        self.endResetModel()

    def _row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    # -- numbers --------------------------------------------------------------------------------------
    def totals(self) -> dict[str, Any]:
        done = list(self.results.values())
        ok = [r for r in done if r.status == "success"]
        costs = [r.cost_usd for r in done if r.cost_usd is not None]
        latencies = [r.latency_ms for r in ok if r.latency_ms is not None]
        unpriced = any(r.cost_usd is None for r in ok)
        return {
            "calls": len(self.calls), "done": len(done), "succeeded": len(ok), "failed": len(done) - len(ok),
            "not_run": len(self.not_run),
            "prompt_tokens": sum(r.prompt_tokens or 0 for r in done),
            "completion_tokens": sum(r.completion_tokens or 0 for r in done),
            "cost_usd": None if unpriced else sum(costs),
            "mean_latency_ms": statistics.fmean(latencies) if latencies else None,
        }

    # -- Qt model ---------------------------------------------------------------------------------
    def headers(self) -> list[str]:
        return ["#", "System prompt", *("{" + v + "}" for v in self.variables), *_TAIL,
                *(("Scores",) if self.scored else ())]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.calls)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None

    def status_of(self, row: int) -> str:
        result = self.results.get(row)
        if result is not None:
            return result.status
        return "not run" if row in self.not_run else "queued"

    def column_name(self, column: int) -> str:
        return self.headers()[column]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        call = self.calls[index.row()]
        result = self.results.get(index.row())
        name = self.column_name(index.column())
        raw = self._raw(call, result, name)
        if role == SORT_ROLE:
            return raw if raw is not None else ""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(call, result, name, raw)
        if role == Qt.ItemDataRole.ToolTipRole and name == "Tokens" and result is not None:
            return f"{format_tokens(result.prompt_tokens)} prompt + {format_tokens(result.completion_tokens)} completion"
        if role == Qt.ItemDataRole.ToolTipRole and (name in ("Output", "System prompt") or name.startswith("{")):
            text = (result.error or result.output) if (name == "Output" and result) else raw
            return str(text)[:4000] if text else None
        if role == Qt.ItemDataRole.ToolTipRole and name == "Scores" and result is not None:
            return "\n".join(f"{s.name}: {'pass' if s.passed else 'FAIL'} — {s.reason}"
                             for s in result.scores.values())
        if role == Qt.ItemDataRole.ForegroundRole and name == "Scores" and result is not None and result.scores:
            return QColor("#1e7b34") if result.passed else QColor("#b3261e")
        if role == Qt.ItemDataRole.ForegroundRole and name in ("Status", "Output"):
            return _STATUS_COLORS.get(self.status_of(index.row()))
        if role == Qt.ItemDataRole.TextAlignmentRole and name in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _raw(self, call: ExperimentCall, result: CallResult | None, name: str) -> Any:
        if name == "#":
            return call.index + 1
        if name == "System prompt":
            return call.system_prompt or ""
        if name.startswith("{"):
            return call.values.get(name[1:-1], "")
        if name == "Model":
            return call.model
        if name == "Repeat":
            return call.repeat + 1
        if name == "Status":
            return self.status_of(call.index)
        if result is None:
            return None
        if name == "Scores":
            return sum(s.passed for s in result.scores.values()) / len(result.scores) if result.scores else None
        if name == "Tokens":
            if result.prompt_tokens is None and result.completion_tokens is None:
                return None
            return (result.prompt_tokens or 0) + (result.completion_tokens or 0)
        return {"Output": result.error if result.status == "error" else result.output,
                "Cost": result.cost_usd, "Latency": result.latency_ms}.get(name)

    def _display(self, call: ExperimentCall, result: CallResult | None, name: str, raw: Any) -> str:
        if name == "Tokens":
            if result is None or raw is None:
                return ""
            return f"{format_tokens(result.prompt_tokens)} + {format_tokens(result.completion_tokens)}"
        if name == "Cost":
            if result is None or (raw is None and result.status != "success"):
                return ""
            return format_usd(raw)
        if name == "Latency":
            return format_ms(raw) if result else ""
        if name == "Scores":
            if result is None or not result.scores:
                return ""
            passed = sum(s.passed for s in result.scores.values())
            return f"{'✓' if result.passed else '✗'} {passed}/{len(result.scores)}"
        if name == "Output":
            return " ⏎ ".join((raw or "").split("\n"))[:300]
        return "" if raw is None else str(raw)


_NUMERIC = ("#", "Repeat", "Tokens", "Cost", "Latency")
