"""The status bar: where the store is, today's calls and cost, and the profile calls go through."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QFontMetrics
from PySide6.QtWidgets import QLabel, QMenu, QStatusBar, QToolButton, QWidget

from monitor.queries import today_summary
from monitor.writer import health_for

from . import formatting as fmt
from .context import AppContext


class ElidedLabel(QLabel):
    """Shows as much of a text as fits (a path: the middle elided); the whole text in the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, elide=Qt.ElideMiddle, **kwargs):
        super().__init__(parent, **kwargs)
        self.full_text = ""
        self.elide_mode = elide
        self.setMinimumWidth(80)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width() - 8, 40)
        super().setText(QFontMetrics(self.font()).elidedText(self.full_text, self.elide_mode, width))

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(min(QFontMetrics(self.font()).horizontalAdvance(self.full_text) + 12, 420))
        return hint


class StatusBar(QStatusBar):
    HEALTH_POLL_MS = 2000      # the writer's counters are in memory: reading them costs nothing

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.setSizeGripEnabled(True)
        home = str(Path.home())
        shown = str(ctx.db_path)
        shown = "~" + shown[len(home):] if home != "/" and shown.startswith(home + "/") else shown
        self.store_label = ElidedLabel(f"Store: {shown}", objectName="storePath")
        self.store_label.setToolTip(str(ctx.db_path))
        self.today_label = QLabel("Today: …", objectName="todayLabel")
        self.today_label.setToolTip("Calls logged since midnight in this store's own streams, and what they cost")
        self.profile_button = QToolButton(objectName="profileButton", popupMode=QToolButton.InstantPopup)
        self.profile_button.setAutoRaise(True)
        self.profile_button.setToolTip("The connection profile the Playground and Experiments call through")
        self.profile_menu = QMenu(self.profile_button)
        self.profile_menu.aboutToShow.connect(self._fill_profile_menu)
        self.profile_button.setMenu(self.profile_menu)
        self.health_label = ElidedLabel(objectName="healthLabel", elide=Qt.ElideRight)   # the count first
        self.health_label.setStyleSheet("color: #c62828;")
        self.health_label.hide()
        self.live_label = QLabel(objectName="liveLabel")        # a team store's push: live, or reconnecting
        self.live_label.hide()
        ctx.liveStateChanged.connect(self._on_ctx_live_state_changed)
        self.addWidget(self.store_label, 1)
        self.addPermanentWidget(self.live_label)
        self.addPermanentWidget(self.health_label)
        self.addPermanentWidget(self.today_label)
        self.addPermanentWidget(self.profile_button)
        self._health_timer = QTimer(self, interval=self.HEALTH_POLL_MS)
        self._health_timer.timeout.connect(self.refresh_health)
        self._health_timer.start()
        ctx.currentProfileChanged.connect(self._on_ctx_current_profile_changed)
        ctx.profilesChanged.connect(self._on_ctx_profiles_changed)
        self._on_ctx_profiles_changed()

    # -- today --------------------------------------------------------------------------------------
    def refresh_today(self) -> None:
        since = fmt.midnight()
        self.ctx.db.submit(lambda s: today_summary(s, since), self._on_today_computed,
                           key=f"status-today-{id(self)}")

    def _on_today_computed(self, summary: tuple[int, float, int]) -> None:
        calls, cost, unpriced = summary
        text = f"Today: {fmt.count(calls)} calls · {fmt.cost(cost)}"
        if unpriced:
            text += f" (+{fmt.count(unpriced)} unpriced)"
        self.today_label.setText(text)

    def _on_ctx_live_state_changed(self, problem: str) -> None:
        if problem:
            self.live_label.setText("⚠ Live updates lost — reconnecting…")
            self.live_label.setStyleSheet("color: #c62828;")
            self.live_label.setToolTip(f"{problem}\nThe app still re-reads the store every "
                                       f"{self.ctx.safety_poll_s:g} s meanwhile.")
        else:
            self.live_label.setText("● Live")
            self.live_label.setStyleSheet("color: #2e7d32;")
            self.live_label.setToolTip("Calls committed to this team store by any machine show up as they land "
                                       "(PostgreSQL LISTEN/NOTIFY)")
        self.live_label.show()

    # -- calls the app's own monitors could not store -------------------------------------------------
    def refresh_health(self) -> None:
        health = health_for(self.ctx.db_path)
        dropped = health["dropped"]
        self.health_label.setVisible(bool(dropped))
        if not dropped:
            return
        cause = health["last_error"] or "unknown cause"
        self.health_label.set_full_text(f"⚠ {fmt.count(dropped)} call{'s' if dropped != 1 else ''} not stored — {cause}")
        self.health_label.setToolTip(
            f"{fmt.count(dropped)} of {fmt.count(health['logged'])} calls this app made could not be stored in "
            f"{self.ctx.db_path}:\n{cause}")

    # -- profile ------------------------------------------------------------------------------------
    def _on_ctx_profiles_changed(self) -> None:
        self._on_ctx_current_profile_changed(self.ctx.current_profile)

    def _on_ctx_current_profile_changed(self, _name: str) -> None:
        name = self.ctx.current_profile
        self.profile_button.setText(f"Profile: {name}" if name else "No profile — Edit ▸ Settings…")

    def _fill_profile_menu(self) -> None:
        self.profile_menu.clear()
        group = QActionGroup(self.profile_menu)
        current = self.ctx.current_profile
        for profile in self.ctx.profiles.list():
            action = QAction(profile.name, self.profile_menu, checkable=True, checked=profile.name == current)
            action.triggered.connect(lambda _=False, name=profile.name: self._choose_profile(name))
            group.addAction(action)
            self.profile_menu.addAction(action)
        if not group.actions():
            self.profile_menu.addAction("No profiles yet: Edit ▸ Settings…").setEnabled(False)

    def _choose_profile(self, name: str) -> None:
        try:
            transient = self.ctx.profiles.get(name).kind == "demo"
        except KeyError:
            return
        self.ctx.set_current_profile(name, persist=not transient)   # the demo's profile must not stick
