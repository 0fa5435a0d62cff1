"""Until the boards UI lands: say so, and show the selected stream's real summary numbers."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from monitor.stats import stream_stats

from . import formatting as fmt
from .context import AppContext
from .placeholder import PlaceholderPage
from .throttle import Throttle

_TEXT = ("Live charts of cost, latency and throughput per stream — grouped by model or any attribute, "
         "saved, exported and shared — are being built and will appear on this page.<br><br>"
         "Meanwhile, here are the selected stream's numbers, computed from the store:")


class BoardsPlaceholder(PlaceholderPage):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__("Boards are coming", _TEXT, parent)
        self.ctx = ctx
        self.stream = ""
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(24)
        self.form.setVerticalSpacing(6)
        self.values: dict[str, QLabel] = {}
        for name in ("Stream", "Requests", "Errors", "Prompt tokens", "Completion tokens", "Cost",
                     "Latency p50 / p95 / p99"):
            self.values[name] = QLabel(fmt.UNKNOWN, objectName="metricValue")
            self.form.addRow(QLabel(name, objectName="mutedLabel"), self.values[name])
        self.body.addLayout(self.form)
        # stream_stats sorts every latency of the stream: only while visible, and at most every 2 s.
        self._refresh = Throttle(2000, self.refresh, self)
        ctx.recordsChanged.connect(self._on_records_changed)

    def set_stream(self, name: str) -> None:
        self.stream = name
        self.values["Stream"].setText(name or "no stream selected")
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def _on_records_changed(self, _max_id: int) -> None:
        if self.isVisible():
            self._refresh()

    def refresh(self) -> None:
        stream = self.stream
        if not stream or not self.isVisible():
            return

        def compute(store):
            try:
                return stream_stats(store, stream)
            except KeyError:          # the stream has no calls yet
                return None

        self.ctx.db.submit(compute, lambda stats: self._on_stats_computed(stream, stats),
                           key=f"boards-placeholder-{id(self)}")

    def _on_stats_computed(self, stream: str, stats: dict | None) -> None:
        if stream != self.stream:
            return
        v = self.values
        if stats is None:
            for name in v:
                if name != "Stream":
                    v[name].setText(fmt.UNKNOWN)
            return
        v["Requests"].setText(fmt.count(stats["requests"]))
        v["Errors"].setText(fmt.count(stats["errors"]))
        v["Prompt tokens"].setText(fmt.count(stats["prompt_tokens"]))
        v["Completion tokens"].setText(fmt.count(stats["completion_tokens"]))
        cost = fmt.cost(stats["cost_usd"])
        if stats.get("unpriced_calls"):
            cost += f"  (+ {fmt.count(stats['unpriced_calls'])} calls with no known price)"
        v["Cost"].setText(cost)
        lat = stats["latency_ms"]
        v["Latency p50 / p95 / p99"].setText(" / ".join(fmt.ms(lat[f"p{q}"]) for q in (50, 95, 99)))
