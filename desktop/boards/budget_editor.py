"""Board menu → Budgets…: list the board's budgets, remove some, add one (scope, amount, period).

The dialog edits a copy; `result_budgets` holds the new list after OK (the page saves it with the board).
"""
from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from monitor.boards.budget_spec import MAX_BUDGETS, PERIODS, Budget, money
from monitor.boards.repository import first_error

WHOLE_STREAM = "whole stream"
FIELDS = ("model", "api", "status")


class BudgetEditor(QDialog):
    def __init__(self, budgets: list[Budget], models: list[str] | None = None, attribute_keys: list[str] | None = None,
                 attribute_values: dict[str, list[str]] | None = None, group_by: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Budgets")
        self.budgets = list(budgets)
        self.result_budgets: list[Budget] | None = None
        self._values = {"model": list(models or []), "api": ["chat.completions", "responses", "embeddings",
                        "completions"], "status": ["success", "error", "cancelled"], **(attribute_values or {})}

        intro = QLabel("Spend per local day, week or month, over the whole stream or one group (a model, or an "
                       "attribute value such as user = alice). The app alerts once at 80 % and once at 100 % "
                       "of each budget per period, for calls from any program.", wordWrap=True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Applies to", "Budget", "Per"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)

        self.scope = QComboBox(editable=True)
        self.scope.addItems([WHOLE_STREAM, *FIELDS, *[k for k in (attribute_keys or []) if k not in FIELDS]])
        self.scope.setToolTip("The whole stream, a call field (model, api, status) or an attribute key")
        if group_by:
            self.scope.setCurrentText(group_by)
        self.value = QComboBox(editable=True)
        self.value.setMinimumWidth(180)
        self.scope.currentTextChanged.connect(self._on_scope_changed)
        self.amount = QDoubleSpinBox(prefix="$ ", decimals=2, minimum=0.01, maximum=1e9, value=5.0)
        self.amount.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        self.period = QComboBox()
        self.period.addItems(PERIODS)
        self.add_button = QPushButton("Add budget")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.error = QLabel("", objectName="headerMessage", wordWrap=True)
        self.error.setStyleSheet("color: #cf222e;")

        form = QFormLayout()
        form.addRow("Applies to", self.scope)
        form.addRow("Group", self.value)
        money_row = QHBoxLayout()
        money_row.addWidget(self.amount, 1)
        money_row.addWidget(QLabel("per"))
        money_row.addWidget(self.period)
        form.addRow("Budget", money_row)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._on_accepted)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addWidget(intro)
        column.addWidget(self.table, 1)
        column.addWidget(self.remove_button)
        column.addSpacing(8)
        column.addWidget(QLabel("<b>New budget</b>"))
        column.addLayout(form)
        column.addWidget(self.add_button)
        column.addWidget(self.error)
        column.addWidget(buttons)
        self.resize(520, 480)
        self._on_scope_changed(self.scope.currentText())
        self._fill()

    def _fill(self) -> None:
        self.table.setRowCount(len(self.budgets))
        for i, b in enumerate(self.budgets):
            for c, text in enumerate((b.scope, money(b.amount_usd), b.period)):
                self.table.setItem(i, c, QTableWidgetItem(text))
        self._on_table_selection_changed()
        self.add_button.setEnabled(len(self.budgets) < MAX_BUDGETS)

    def _on_table_selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectedIndexes()))

    def _on_scope_changed(self, scope: str) -> None:
        whole = scope.strip() in ("", WHOLE_STREAM)
        self.value.clear()
        self.value.setEnabled(not whole)
        if not whole:
            self.value.addItems(self._values.get(scope.strip(), []))

    def new_budget(self) -> Budget | None:
        """The budget the form describes, or None (and the reason shown) if it is not valid."""
        scope = self.scope.currentText().strip()
        whole = scope in ("", WHOLE_STREAM)
        value = self.value.currentText().strip()
        if not whole and not value:
            self.error.setText(f"Say which {scope} the budget is for.")
            return None
        try:
            budget = Budget(amount_usd=float(self.amount.value()), period=self.period.currentText(),
                            group_by=None if whole else scope, group_value=None if whole else value)
        except ValidationError as exc:
            self.error.setText(f"Not added: {first_error(exc)}")
            return None
        if budget in self.budgets:
            self.error.setText("This board already has that budget.")
            return None
        self.error.setText("")
        return budget

    def add(self, budget: Budget) -> None:
        self.budgets.append(budget)
        self._fill()

    def _on_add_clicked(self) -> None:
        budget = self.new_budget()
        if budget is not None:
            self.add(budget)

    def _on_remove_clicked(self) -> None:
        for r in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            if 0 <= r < len(self.budgets):
                del self.budgets[r]
        self._fill()

    def _on_accepted(self) -> None:
        self.result_budgets = list(self.budgets)
        self.accept()
