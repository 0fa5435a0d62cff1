"""The Boards page's budget parts in one object: the cards above the panels, the threshold lines on
cumulative-cost charts, and the "Budgets…" action with its editor.  The page calls four methods:

    budgets = BoardBudgets(page)                  # builds budgets.cards and budgets.action
    budgets.on_spec(spec)                         # a board was opened or changed
    budgets.on_refreshed(spec, data)              # after each board refresh (live, ticks)
    budgets.add_to_menu(menu)                     # the board menu gets "Budgets…"
"""
from __future__ import annotations

from PySide6.QtGui import QAction

from monitor.boards import BoardData, BoardSpec

from .budget_cards import BudgetCards
from .budget_editor import BudgetEditor
from .budget_lines import BudgetLines


class BoardBudgets:
    def __init__(self, page) -> None:
        self.page = page
        self.cards = BudgetCards(page.ctx.db.submit, self.edit)
        self.lines = BudgetLines()
        self.action = QAction("Budgets…", page)
        self.action.setToolTip("Spend limits per day, week or month for this board's stream or a group of it")
        self.action.triggered.connect(self.edit)
        self.dialog: BudgetEditor | None = None

    def on_spec(self, spec: BoardSpec | None) -> None:
        self.cards.refresh(spec)

    def on_refreshed(self, spec: BoardSpec, data: BoardData) -> None:
        self.cards.refresh(spec)
        self.lines.apply(self.page.view.charts(), spec, data, self.cards.clock())

    def add_to_menu(self, menu) -> None:
        menu.addSeparator()
        menu.addAction(self.action)

    def edit(self) -> None:
        spec = self.page.spec
        if spec is None:
            return
        facets = self.page.toolbar.facets
        self.dialog = BudgetEditor(spec.budgets, facets.models, facets.attribute_keys, facets.attribute_values,
                                   spec.group_by, self.page)
        try:
            if self.dialog.exec() and self.dialog.result_budgets is not None:
                if self.page.update_board(budgets=self.dialog.result_budgets):
                    n = len(self.dialog.result_budgets)
                    self.page._say("No budgets on this board" if not n else
                                   f"Saved {n} budget{'s' if n != 1 else ''}", ok=True)
        finally:
            self.dialog.deleteLater()
            self.dialog = None
