"""Budget alerts while the app runs: a desktop notification when a budget's spend crosses 80 % and 100 %.

Every saved board's budgets over a local stream are evaluated on the DB worker (ctx.db, the app's one
background mechanism for the store) whenever the context sees new calls — from the app or any other
process — at most once a second, and once at start.  Each level is announced once per budget per period:
what was said is remembered in QSettings (``budgets/alerted/<store>-<budget>`` = "<period start>:<level>"),
so a restart doesn't say it again and a new day/week/month starts afresh.  When several levels are crossed
at once only the highest is said.

The message goes to the system tray (QSystemTrayIcon.showMessage); with no tray (some desktops, the
offscreen platform) it is shown in the status bar instead.  `alerted` and `sent` are the seam tests read.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStatusBar, QSystemTrayIcon

from monitor.boards.budget_spec import PERIOD_END, THIS_PERIOD, money
from monitor.boards.budgets import BudgetStatus, store_budget_statuses

from .context import AppContext
from .throttle import Throttle

EVALUATE_MS = 1000
MESSAGE_MS = 15000
STATUS_MS = 60000


@dataclass(frozen=True)
class BudgetAlert:
    board: str
    status: BudgetStatus
    level: int
    title: str
    text: str
    via: str                     # "tray" | "status bar"


def alert_texts(board: str, s: BudgetStatus) -> tuple[str, str]:
    """(title, text) of the notification: which budget, how far, on which stream, where it is heading."""
    b = s.budget
    what = "whole stream" if b.group_by is None else b.scope
    title = (f"Budget exceeded: {what}" if s.level >= 100 else f"Budget 80 % used: {what}")
    text = (f"{money(s.spend_usd)} of {money(b.amount_usd)} {THIS_PERIOD[b.period]} ({s.fraction * 100:.0f} %) "
            f"on {s.stream}. At this pace: {money(s.forecast_usd)} {PERIOD_END[b.period]}.")
    return title, text


def status_text(s: BudgetStatus, title: str) -> str:
    """The status bar's shorter form (it has one line)."""
    b = s.budget
    return f"⚠ {title} — {money(s.spend_usd)} of {money(b.amount_usd)} {THIS_PERIOD[b.period]} on {s.stream}"


class BudgetAlerts(QObject):
    alerted = Signal(object)             # BudgetAlert, once shown

    def __init__(self, ctx: AppContext, status_bar: QStatusBar | None = None, icon: QIcon | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.status_bar = status_bar
        self.sent: list[BudgetAlert] = []
        self.statuses: list[tuple[str, BudgetStatus]] = []     # the last evaluation
        self.clock = time.time                                   # what "now" is (tests may pin it)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon or QIcon(), self)
            self.tray.setToolTip("OpenAI Monitor")
            self.tray.show()
        self._store_digest = hashlib.sha1(ctx.store_id.encode()).hexdigest()[:12]
        self._evaluate = Throttle(EVALUATE_MS, self.evaluate, self)
        ctx.recordsChanged.connect(self._on_records_changed)
        QTimer.singleShot(0, self.evaluate)          # budgets already crossed before the app started

    def _on_records_changed(self, _max_id: int) -> None:
        self._evaluate()

    def evaluate(self) -> None:
        """Recompute every budget on the DB worker; alerts follow on the GUI thread."""
        now = self.clock()
        self.ctx.db.submit(lambda store: store_budget_statuses(store, now), self._on_statuses, self._on_error,
                           key=f"budget-alerts-{id(self)}")

    def _on_error(self, message: str) -> None:
        if self.status_bar is not None:
            self.status_bar.showMessage(f"Budgets could not be checked: {message}", STATUS_MS)

    def _settings_key(self, s: BudgetStatus) -> str:
        return f"budgets/alerted/{self._store_digest}-{s.key}"

    def already_said(self, s: BudgetStatus) -> bool:
        said = str(self.ctx.settings.value(self._settings_key(s), "") or "")
        period, _, level = said.partition(":")
        return period == f"{s.period_start:.0f}" and level.isdigit() and int(level) >= s.level

    def _on_statuses(self, statuses: list[tuple[str, BudgetStatus]]) -> None:
        self.statuses = statuses
        for board, s in statuses:
            if s.level == 0 or self.already_said(s):
                continue
            self.ctx.settings.setValue(self._settings_key(s), f"{s.period_start:.0f}:{s.level}")
            self.ctx.settings.sync()                 # a crash right after must not repeat it either
            self.notify(board, s)

    def notify(self, board: str, s: BudgetStatus) -> BudgetAlert:
        title, text = alert_texts(board, s)
        if self.tray is not None and self.tray.isVisible():
            icon = QSystemTrayIcon.Critical if s.level >= 100 else QSystemTrayIcon.Warning
            self.tray.showMessage(title, text, icon, MESSAGE_MS)
            via = "tray"
        else:
            if self.status_bar is not None:
                self.status_bar.showMessage(status_text(s, title), STATUS_MS)
            via = "status bar"
        alert = BudgetAlert(board, s, s.level, title, text, via)
        self.sent.append(alert)
        self.alerted.emit(alert)
        return alert
