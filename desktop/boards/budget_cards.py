"""The board's budget cards: for each budget, the spend in the current period against the amount, a bar
of the share used, the forecast to the period's end, coloured by the alert level crossed.

The numbers come from monitor.boards.budgets on the DB worker (`refresh(spec)` after each board
refresh); this widget only draws them.  It hides itself on a board without budgets.
"""
from __future__ import annotations

import html
import time
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from monitor.boards import BoardSpec
from monitor.boards.budget_spec import PERIOD_END, money
from monitor.boards.budgets import BudgetStatus, board_budget_statuses

from .. import formatting as fmt
from .budget_lines import LINE_TIP

PER_ROW = 4
CARD_MIN_WIDTH = 250
LEVEL_COLORS = {0: ("#0969da", "#ffffff", "#d0d7de"), 80: ("#9a6700", "#fff8c5", "#d4a72c"),
                100: ("#cf222e", "#ffebe9", "#ff8182")}          # text/bar, background, border
LEVEL_WORDS = {0: "", 80: "PAST 80 %", 100: "OVER BUDGET"}

CARD_STYLE = """
#budgetName { color: #57606a; font-size: 11px; }
#budgetValue { font-size: 18px; font-weight: 600; color: #24292f; }
#budgetNote { color: #57606a; font-size: 11px; }
#budgetTag { font-size: 10px; font-weight: 700; }
QProgressBar { border: none; background: #eaeef2; border-radius: 3px; max-height: 6px; }
"""


def percent(fraction: float) -> str:
    if 0 < fraction < 0.005:
        return "<1 %"                            # something was spent: "0 %" would say nothing was
    return f"{fraction * 100:,.0f} %" if fraction < 10 else f"{fraction:,.0f}×"


def card_texts(s: BudgetStatus) -> dict[str, str]:
    """What a card says (plain strings, so a test can read them)."""
    b = s.budget
    name = f"{b.scope} · per {b.period}"
    value = f"{money(s.spend_usd)} of {money(b.amount_usd)}"
    used = percent(s.fraction)
    note = (f"at this pace {money(s.forecast_usd)} {PERIOD_END[b.period]}" if s.spend_usd > 0
            else f"nothing spent this {b.period} yet")
    if s.unpriced_calls:
        note += f" · +{fmt.count(s.unpriced_calls)} unpriced"
    return {"name": name, "tag": LEVEL_WORDS[s.level], "value": value, "used": used, "note": note}


def card_tooltip(s: BudgetStatus) -> str:
    b = s.budget
    start = time.strftime("%a %Y-%m-%d %H:%M", time.localtime(s.period_start))
    end = time.strftime("%a %Y-%m-%d %H:%M", time.localtime(s.period_end))
    calls = "1 call" if s.calls == 1 else f"{fmt.count(s.calls)} calls"
    rows = [f"<b>{html.escape(b.describe())}</b> on stream {html.escape(s.stream)}",
            f"This {b.period}: {html.escape(start)} – {html.escape(end)} (local time)",
            f"Spent {fmt.cost(s.spend_usd)} over {calls} ({percent(s.fraction)} of the budget)",
            f"Forecast {fmt.cost(s.forecast_usd)}: the pace since the {b.period} began, continued to its end",
            "Alerts (system tray) at 80 % and 100 %, once each per period. The board's time range and filters "
            "do not apply to a budget.", html.escape(LINE_TIP)]
    if s.unpriced_calls:
        rows.insert(3, f"{fmt.count(s.unpriced_calls)} calls have no known price and add nothing")
    return "<p style='white-space:pre-wrap'>" + "<br>".join(rows) + "</p>"


class BudgetCard(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="budgetCard")
        self.name = QLabel("", objectName="budgetName")
        self.tag = QLabel("", objectName="budgetTag")
        self.value = QLabel("", objectName="budgetValue")
        self.used = QLabel("", objectName="budgetNote")
        self.bar = QProgressBar(textVisible=False, maximum=1000)
        self.note = QLabel("", objectName="budgetNote")
        for label in (self.name, self.value, self.note):
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)    # elide rather than widen
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 6, 12, 6)
        column.setSpacing(2)
        bar_row = QHBoxLayout()
        bar_row.setSpacing(8)
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.used)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name, 1)
        name_row.addWidget(self.tag)
        column.addLayout(name_row)
        column.addWidget(self.value)
        column.addLayout(bar_row)
        column.addWidget(self.note)
        self.level = -1
        self.full: dict[str, str] = {}
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)       # as tall as its text, never more

    def show_status(self, s: BudgetStatus) -> None:
        self.full = texts = card_texts(s)
        self.tag.setText(texts["tag"])
        self.used.setText(texts["used"])
        self._elide()
        self.bar.setValue(int(min(s.fraction, 1.0) * 1000))
        self.setToolTip(card_tooltip(s))
        if s.level != self.level:
            self.level = s.level
            text, background, border = LEVEL_COLORS[s.level]
            self.setStyleSheet(
                f"#budgetCard {{ background: {background}; border: 1px solid {border}; border-left: 4px solid {text};"
                f" border-radius: 6px; }} QProgressBar::chunk {{ background: {text}; border-radius: 3px; }}"
                f" #budgetValue {{ color: {text if s.level else '#24292f'}; }} #budgetTag {{ color: {text}; }}")

    def _elide(self) -> None:
        """Long group names and notes end in "…" rather than widen the card (the tooltip has it all)."""
        for key, label in (("name", self.name), ("value", self.value), ("note", self.note)):
            text = self.full.get(key, "")
            label.setText(label.fontMetrics().elidedText(text, Qt.ElideRight, max(label.width(), 40)))

    def resizeEvent(self, event) -> None:     # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._elide()

    def texts(self) -> dict[str, str]:
        """The card's full texts (what the labels show, before eliding)."""
        return {"name": self.full.get("name", ""), "tag": self.tag.text(), "value": self.full.get("value", ""),
                "used": self.used.text(), "note": self.full.get("note", "")}


class BudgetCards(QWidget):
    """A row (wrapping every PER_ROW) of budget cards above the board's panels."""

    def __init__(self, submit: Callable, open_editor: Callable[[], None], parent: QWidget | None = None):
        super().__init__(parent, objectName="budgetCards")
        self._submit = submit                    # ctx.db.submit
        self.setStyleSheet(CARD_STYLE)
        self.cards: list[BudgetCard] = []
        self._laid_out_per_row = 0
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.statuses: list[BudgetStatus] = []
        self.spec: BoardSpec | None = None
        self.clock = time.time                   # what "now" is (tests pin it)
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.edit_button = QToolButton(text="Budgets…", autoRaise=True)
        self.edit_button.setToolTip("Add or remove this board's budgets")
        self.edit_button.clicked.connect(open_editor)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 0)
        row.addLayout(self.grid, 1)
        row.addWidget(self.edit_button, 0, Qt.AlignTop)
        self.hide()

    def refresh(self, spec: BoardSpec | None) -> None:
        """Recompute the statuses of the board's budgets (on the DB worker) and show them."""
        self.spec = spec
        budgets = list(spec.budgets) if spec is not None else []
        self._set_count(len(budgets))
        if not budgets:
            self.statuses = []
            return
        now = self.clock()
        self._submit(lambda store: board_budget_statuses(store, spec, now),
                     lambda statuses: self._on_statuses(spec, statuses), lambda message: None,
                     key=f"budget-cards-{id(self)}")

    def _set_count(self, n: int) -> None:
        while len(self.cards) > n:
            card = self.cards.pop()
            self.grid.removeWidget(card)
            card.deleteLater()
        while len(self.cards) < n:
            self.cards.append(BudgetCard())
        self._lay_out()
        self.setVisible(n > 0)

    def _per_row(self) -> int:
        """As many cards a row as fit at CARD_MIN_WIDTH (a narrow board stacks them), at most PER_ROW."""
        room = max(self.width() - self.edit_button.sizeHint().width() - 40, 0)
        return max(1, min(PER_ROW, room // CARD_MIN_WIDTH))

    def _lay_out(self) -> None:
        per_row = self._per_row()
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // per_row, i % per_row)
        columns = min(len(self.cards), per_row)
        for c in range(PER_ROW):
            # one card takes half the row, not all of it; more share the row
            self.grid.setColumnStretch(c, 1 if c < max(columns, min(2, per_row)) else 0)
        self._laid_out_per_row = per_row

    def resizeEvent(self, event) -> None:     # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.cards and self._per_row() != self._laid_out_per_row:
            self._lay_out()

    def _on_statuses(self, spec: BoardSpec, statuses: list[BudgetStatus]) -> None:
        if self.spec is None or spec.budgets != self.spec.budgets or spec.stream != self.spec.stream:
            return                               # the budgets changed since: a newer answer is coming
        self.statuses = statuses
        for card, status in zip(self.cards, statuses):
            card.show_status(status)
