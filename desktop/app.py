"""Start the desktop app: QApplication, look, the store's context, the main window (and the demo)."""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from monitor.paths import default_db_path, demo_db_path
from monitor.profiles import ProfileStore
from monitor.store import Store, StoreError

from .context import AppContext
from .demo import DEMO_STREAM, HISTORY_CALLS, DemoProfiles, start_demo, start_simulator
from .main_window import MainWindow
from .style import apply_style


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("openai-monitor")
    app.setApplicationDisplayName("OpenAI Monitor")
    app.setDesktopFileName("openai-monitor")
    apply_style(app)
    return app


def check_store(path: Path) -> None:
    """Open (creating or migrating) the store once, so a bad file is reported before any window opens."""
    Store(path).close()


class AppSession(QObject):
    """One store at a time: its context and window; File ▸ Open store… swaps both."""

    def __init__(self, settings: QSettings | None = None, history_calls: int = HISTORY_CALLS):
        super().__init__()
        self.settings = settings
        self.history_calls = history_calls
        self.ctx: AppContext | None = None
        self.window: MainWindow | None = None
        self.traffic = None

    def open(self, db: str | Path | None = None, stream: str | None = None, demo: bool = False) -> MainWindow:
        path = Path(db).expanduser() if db else (demo_db_path() if demo else default_db_path())
        check_store(path)
        simulator = start_simulator() if demo else None
        profiles = DemoProfiles(simulator.base_url) if demo else ProfileStore()
        ctx = AppContext(path, demo=demo, simulator=simulator, profiles=profiles, settings=self.settings)
        window = MainWindow(ctx, stream=stream or (DEMO_STREAM if demo else None))
        if demo:
            self.traffic = start_demo(ctx, window, history_calls=self.history_calls)
        self._adopt(ctx, window)
        window.show()
        return window

    def _adopt(self, ctx: AppContext, window: MainWindow) -> None:
        self.ctx, self.window = ctx, window
        window.openStoreRequested.connect(self._on_window_open_store_requested)

    def _on_window_open_store_requested(self, path: Path) -> None:
        # The file is opened on the new context's DB worker: a locked or huge file never blocks the GUI.
        new_ctx = AppContext(path, profiles=self.ctx.profiles if not self.ctx.demo else ProfileStore(),
                             settings=self.settings)
        new_ctx.db.submit(lambda s: s.max_id(), lambda _: self._swap_to(new_ctx),
                          lambda message: self._on_store_refused(new_ctx, path, message))

    def _on_store_refused(self, new_ctx: AppContext, path: Path, message: str) -> None:
        new_ctx.shutdown()
        QMessageBox.warning(self.window, "Open store", f"{path} could not be opened as a store.\n\n{message}")

    def _swap_to(self, new_ctx: AppContext) -> None:
        old_ctx, old_window = self.ctx, self.window
        old_window.save_state()
        window = MainWindow(new_ctx)
        self._adopt(new_ctx, window)
        self.traffic = None
        window.show()
        old_window.close()
        old_ctx.shutdown()

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.shutdown()


EXIT_AFTER_PAINT_ENV = "OPENAI_MONITOR_EXIT_AFTER_PAINT"   # benchmarks/startup.py: launch -> first paint


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc; 10 ms resolution), or None elsewhere."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _ExitAfterFirstPaint(QObject):
    """Prints one JSON line when the window is first painted, then quits the app (benchmarks only)."""

    def __init__(self, app: QApplication, window):
        super().__init__(window)
        self.app, self.window, self.done = app, window, False
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if not self.done and event.type() == QEvent.Paint:
            self.done = True
            print(json.dumps({"first_paint": time.time(), "process_age_s": process_age_s()}), flush=True)
            QTimer.singleShot(0, self.window.close)
        return False


def run_app(db=None, stream=None, demo=False, *, settings: QSettings | None = None,
            history_calls: int = HISTORY_CALLS) -> int:
    """The `openai-monitor` command's app (arguments are parsed by monitor.cli). Returns the exit code."""
    app = application()
    session = AppSession(settings, history_calls)
    try:
        session.open(db, stream, demo)
    except StoreError as exc:
        QMessageBox.critical(None, "OpenAI Monitor", str(exc))
        session.close()
        return 2
    if os.environ.get(EXIT_AFTER_PAINT_ENV):
        _ExitAfterFirstPaint(app, session.window)
    # Ctrl+C in the terminal quits too: Python handles signals only when it runs, so wake it up now and then.
    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    heartbeat = QTimer(interval=250)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start()
    try:
        return app.exec()
    finally:
        heartbeat.stop()
        signal.signal(signal.SIGINT, previous)
        if session.window is not None and session.window.isVisible():
            session.window.close()
        session.close()
