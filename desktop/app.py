"""Start the desktop app: QApplication, look, the store's context, the main window (and the demo).

The window paints first and says "Opening store…"; the store is opened (created, migrated) on the DB
worker's thread, and a file that cannot be a store is reported then (exit code 2).  The demo's simulator
and traffic, like every page, are loaded only when wanted.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from monitor.paths import StoreURL, default_db_path, demo_db_path, scrub_url, store_location, url_without_password
from monitor.profiles import ProfileStore

from . import gc_on_gui_thread
from .context import AppContext
from .main_window import MainWindow
from .style import apply_style


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("openai-monitor")
    app.setApplicationDisplayName("OpenAI Monitor")
    app.setDesktopFileName("openai-monitor")
    apply_style(app)
    from .gc_on_gui_thread import collect_on_gui_thread
    collect_on_gui_thread(app)          # Qt objects in garbage are freed on this thread, never on a worker's
    return app


class OnFirstPaint(QObject):
    """Calls `callback` once, just after `widget` (or a child) first paints — or after `fallback_ms` if it
    never does (a minimised window)."""

    def __init__(self, widget: QWidget, callback, fallback_ms: int = 1000):
        super().__init__(widget)
        self.widget, self.callback, self.done = widget, callback, False
        self.timer = QTimer(self, singleShot=True, interval=fallback_ms)     # dies with the widget
        self.timer.timeout.connect(self._fire)
        self.timer.start()
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Paint and isinstance(watched, QWidget) and (
                watched is self.widget or self.widget.isAncestorOf(watched)):
            self.timer.start(0)                     # the next turn of the event loop: after this paint
        return False

    def _fire(self) -> None:
        if not self.done:
            self.done = True
            QApplication.instance().removeEventFilter(self)
            self.callback()


class AppSession(QObject):
    """One store at a time: its context and window; File ▸ Open store… swaps both."""

    launchFailed = Signal(str)        # the store given at launch could not be opened: one message for the user

    def __init__(self, settings: QSettings | None = None, history_calls: int | None = None):
        super().__init__()
        self.settings = settings
        self.history_calls = history_calls      # demo history; None = the demo's default
        self.ctx: AppContext | None = None
        self.window: MainWindow | None = None
        self.traffic = None
        self.login_dialog = None                # the password dialog of a team store given at launch

    def open(self, db: str | Path | None = None, stream: str | None = None, demo: bool = False) -> MainWindow:
        """Show the window at once; the store opens behind it (window.ready / launchFailed say how it went)."""
        path = store_location(db) if db else (demo_db_path() if demo else default_db_path())
        if demo:
            from . import demo as demo_mode

            simulator = demo_mode.start_simulator()
            profiles = demo_mode.DemoProfiles(simulator.base_url)
            stream = stream or demo_mode.DEMO_STREAM
        else:
            simulator, profiles = None, ProfileStore()
        ctx = AppContext(path, demo=demo, simulator=simulator, profiles=profiles, settings=self.settings)
        if demo:
            ctx.set_current_profile(demo_mode.DEMO_PROFILE, persist=False)     # shown from the first paint
        window = MainWindow(ctx, stream=stream, open_store=True)
        window.storeFailed.connect(lambda message: self._on_launch_store_failed(path, message))
        if demo:
            # Traffic (and its history's ~300 calls) starts once the first page is on screen, not while it paints.
            window.ready.connect(lambda: OnFirstPaint(window.stack.currentWidget(),
                                                      lambda: self._start_demo(demo_mode, ctx, window)))
        self._adopt(ctx, window)
        window.show()
        return window

    def _on_launch_store_failed(self, path, message: str) -> None:
        """A team store that wants a password (none in PGPASSWORD, ~/.pgpass or the keyring) asks for it;
        anything else, or Cancel, is the launch's one message (exit 2)."""
        from monitor.store_secrets import LoginRefused, no_password_supplied

        def failed() -> None:
            self.launchFailed.emit(f"{path} could not be opened as a store.\n\n{scrub_url(message)}")

        if not (isinstance(path, StoreURL) and message.startswith(f"{LoginRefused.__name__}:")):
            failed()
            return
        from .team_store import TeamStoreDialog
        from .team_store.dialog import error_line

        refused = LoginRefused(message, missing=no_password_supplied(message))
        dialog = TeamStoreDialog(url_without_password(path.dsn), error_line(refused, path), parent=self.window)
        dialog.accepted.connect(lambda: self._on_window_open_store_requested(dialog.location))
        dialog.rejected.connect(failed)
        dialog.finished.connect(dialog.deleteLater)
        self.login_dialog = dialog
        dialog.open()

    def _start_demo(self, demo_mode, ctx: AppContext, window: MainWindow) -> None:
        if not window.isVisible():                  # closed before its first page painted
            return
        history = demo_mode.HISTORY_CALLS if self.history_calls is None else self.history_calls
        self.traffic = demo_mode.start_demo(ctx, window, history_calls=history)

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
        QMessageBox.warning(self.window, "Open store", f"{path} could not be opened as a store.\n\n{scrub_url(message)}")

    def _swap_to(self, new_ctx: AppContext) -> None:
        old_ctx, old_window = self.ctx, self.window
        old_window.save_state()
        window = MainWindow(new_ctx)
        self._adopt(new_ctx, window)
        self.traffic = None
        window.show()
        old_window.close()
        old_ctx.shutdown()
        gc_on_gui_thread.thaw()            # the old window and context are garbage now: collected, not kept frozen

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
    """Benchmarks only: notes the window's first paint and the first paint of its first page (the frame
    paints before the store is open and the page built), prints one JSON line, and quits the app."""

    def __init__(self, app: QApplication, window):
        super().__init__(window)
        self.window, self.first_paint, self.loaded = window, None, []
        app.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Paint or not isinstance(watched, QWidget):
            return False
        if self.first_paint is None and (watched is self.window or self.window.isAncestorOf(watched)):
            self.first_paint = time.time()
            self.loaded = [m for m in ("openai", "pyqtgraph", "numpy", "superqt") if m in sys.modules]
        page = self.window.stack.currentWidget()
        if self.first_paint is not None and self.window.current_page and page.isAncestorOf(watched):
            QApplication.instance().removeEventFilter(self)
            print(json.dumps({"first_paint": self.first_paint, "page_painted": time.time(),
                              "process_age_s": process_age_s(), "loaded": self.loaded}), flush=True)
            QTimer.singleShot(0, self.window.close)
        return False


def run_app(db=None, stream=None, demo=False, *, settings: QSettings | None = None,
            history_calls: int | None = None) -> int:
    """The `openai-monitor` command's app (arguments are parsed by monitor.cli). Returns the exit code:
    2 when the store cannot be opened."""
    app = application()
    session = AppSession(settings, history_calls)

    def on_launch_failed(message: str) -> None:
        print(f"openai-monitor: {message.splitlines()[-1]}", file=sys.stderr)
        QMessageBox.critical(session.window, "OpenAI Monitor", message)
        app.exit(2)

    session.launchFailed.connect(on_launch_failed)
    session.open(db, stream, demo)
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
