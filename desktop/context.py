"""What every page of the app shares: the store (through the DB worker), monitors, clients, profiles,
and a watcher that notices new calls from any process."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import openai
from PySide6.QtCore import QObject, QSettings, Signal

from monitor.monitor import Monitor
from monitor.profiles import ProfileStore
from monitor.store import connect

from .db_worker import DbWorker


class AppContext(QObject):
    recordsChanged = Signal(int)     # the store's highest call id grew (a call landed, from any process)
    profilesChanged = Signal()
    currentProfileChanged = Signal(str)

    def __init__(self, db_path: Path, *, demo: bool = False, simulator: Any = None,
                 profiles: ProfileStore | None = None, settings: QSettings | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.demo = demo
        self.simulator = simulator                  # monitor.simulator.Simulator in demo mode
        self.profiles = profiles or ProfileStore()
        self.settings = settings or QSettings("openai-monitor", "openai-monitor")
        self.db = DbWorker(self.db_path, self)
        self._monitors: dict[str, Monitor] = {}
        self._clients: dict[tuple, Any] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.max_id = 0
        self._current_profile = str(self.settings.value("profile", "") or "")

    # -- logging through the monitor library -----------------------------------------------------
    def monitor(self, stream: str) -> Monitor:
        if stream not in self._monitors:
            self._monitors[stream] = Monitor(stream, self.db_path)
        return self._monitors[stream]

    def client(self, profile_name: str, stream: str, *, asynchronous: bool = False, timeout: float = 120.0) -> Any:
        """An openai client for the profile, instrumented to log to `stream` (cached)."""
        key = (profile_name, stream, asynchronous)
        if key not in self._clients:
            kwargs = self.profiles.client_kwargs(profile_name)
            factory = openai.AsyncOpenAI if asynchronous else openai.OpenAI
            if "azure_endpoint" in kwargs:
                factory = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
            client = factory(**kwargs, timeout=timeout, max_retries=1)
            self._clients[key] = self.monitor(stream).wrap(client)
        return self._clients[key]

    def forget_clients(self) -> None:
        """After a profile changed (new key, new URL)."""
        self._clients.clear()

    @property
    def current_profile(self) -> str:
        names = [p.name for p in self.profiles.list()]
        if self._current_profile in names:
            return self._current_profile
        return names[0] if names else ""

    @current_profile.setter
    def current_profile(self, name: str) -> None:
        self._current_profile = name
        self.settings.setValue("profile", name)
        self.currentProfileChanged.emit(name)

    # -- live updates -----------------------------------------------------------------------------
    def start_watching(self, interval_s: float = 0.25) -> None:
        """Poll MAX(id) on a background thread (cheap, and sees other processes' commits too)."""
        if self._watcher is not None:
            return

        def watch() -> None:
            conn = connect(self.db_path)
            try:
                while not self._stop.wait(interval_s):
                    latest = conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
                    if latest != self.max_id:
                        self.max_id = latest
                        self.recordsChanged.emit(latest)
            finally:
                conn.close()

        self._watcher = threading.Thread(target=watch, name="openai-monitor-watch", daemon=True)
        self._watcher.start()

    def shutdown(self) -> None:
        self._stop.set()
        for monitor in self._monitors.values():
            monitor.flush(timeout=5)
        self.db.stop()
        if self.simulator is not None:
            self.simulator.stop()
