"""What every page of the app shares: the store (through the DB worker), monitors, clients, profiles,
and a watcher that notices new calls from any process."""
from __future__ import annotations

import threading
import time
import traceback
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from monitor.paths import StoreURL, store_location, user_config_dir
from monitor.profiles import ProfileStore
from monitor.store import Store

from .tasks import DbLane, NetOp, QueryOp, Task, post_to_gui_thread

if TYPE_CHECKING:
    from monitor.monitor import Monitor

SQLITE_POLL_S = 0.25      # a local file: reading its highest call id is an index lookup
SAFETY_POLL_S = 7.5       # a team store is pushed; this catches what a reconnecting listener missed
MIN_READ_GAP_S = 0.2      # pushes come at each writer's batch (~50 ms, from every machine): read at most 5/s


def default_settings() -> QSettings:
    """The app's settings as an INI file in the config folder (beside profiles.json, never a secret).

    One folder for everything the user configures; OPENAI_MONITOR_CONFIG_DIR moves all of it (tests).
    """
    return QSettings(str(user_config_dir() / "app.ini"), QSettings.IniFormat)


class AppContext(QObject):
    recordsChanged = Signal(int)     # the store's highest call id grew (a call landed, from any process)
    liveStateChanged = Signal(str)   # team store: why the push of new calls is down, "" once it is back
    poll_s = SQLITE_POLL_S
    safety_poll_s = SAFETY_POLL_S
    profilesChanged = Signal()
    currentProfileChanged = Signal(str)

    def __init__(self, db_path: Path | str, *, demo: bool = False, simulator: Any = None,
                 profiles: ProfileStore | None = None, settings: QSettings | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = store_location(db_path)     # a SQLite file's Path, or a StoreURL (its text hides the password)
        self.demo = demo
        self.simulator = simulator                  # monitor.simulator.Simulator in demo mode
        self.profiles = profiles or ProfileStore()
        self.settings = settings if settings is not None else default_settings()
        self.db = DbLane(self.db_path, self)
        self._monitors: dict[str, Monitor] = {}
        self._clients: dict[tuple, Any] = {}
        self._clients_lock = threading.Lock()       # client() is called from worker threads too
        self._watch_timer: QTimer | None = None
        self._watch_lane: DbLane | None = None
        self._listener = None                       # monitor.pg.CallsListener on a team store
        self._latch: _PushLatch | None = None       # what the listener's thread may touch
        self._poll_running = self._poll_again = False
        self.reads = 0                              # max_id reads started (tests, the benchmark)
        self._last_read = float("-inf")
        self._read_timer = QTimer(self, singleShot=True)
        self._read_timer.timeout.connect(self._on_read_timer_timeout)
        self.live_problem: str | None = None        # why the push is down: "" = live, None = not (yet) listening
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._is_shut_down = False
        self.max_id = 0
        self._current_profile = str(self.settings.value("profile", "") or "")

    @property
    def is_team_store(self) -> bool:
        return isinstance(self.db_path, StoreURL)

    @property
    def store_file(self) -> Path | None:
        """The SQLite file (exports must never write over it), or None for a PostgreSQL store."""
        return None if self.is_team_store else self.db_path

    @property
    def store_id(self) -> str:
        """Names this store in settings keys: the file's real path, or the URL (password hidden)."""
        return str(self.db_path) if self.is_team_store else str(self.db_path.resolve())

    # -- logging through the monitor library -----------------------------------------------------
    def monitor(self, stream: str) -> Monitor:
        from monitor.monitor import Monitor     # the logging machinery loads with the first call, not at launch

        with self._clients_lock:
            if stream not in self._monitors:
                self._monitors[stream] = Monitor(stream, self.db_path)
            return self._monitors[stream]

    def client(self, profile_name: str, stream: str, *, asynchronous: bool = False, timeout: float = 120.0) -> Any:
        """An openai client for the profile, instrumented to log to `stream` (cached; thread-safe)."""
        key = (profile_name, stream, asynchronous)
        with self._clients_lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        import openai                           # the SDK loads with the first client, not at launch

        kwargs = self.profiles.client_kwargs(profile_name)
        factory = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        if "azure_endpoint" in kwargs:
            factory = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        client = self.monitor(stream).wrap(factory(**kwargs, timeout=timeout, max_retries=1))
        with self._clients_lock:
            return self._clients.setdefault(key, client)

    def warm_up_sdk(self) -> Task:
        """Pay the openai SDK's one-time costs (its import, its first pydantic models, the CA bundle) on the
        network lane once the window is up, not in the middle of the first run, where they hold the GIL for
        ~100-400 ms while the GUI thread waits.  No key and no request: a throwaway client, closed."""
        return NetOp(_warm_sdk, parent=self).run_in_background()

    def forget_clients(self) -> None:
        """After a profile changed (new key, new URL)."""
        with self._clients_lock:
            self._clients.clear()

    @property
    def current_profile(self) -> str:
        names = [p.name for p in self.profiles.list()]
        if self._current_profile in names:
            return self._current_profile
        return names[0] if names else ""

    @current_profile.setter
    def current_profile(self, name: str) -> None:
        self.set_current_profile(name)

    def set_current_profile(self, name: str, *, persist: bool = True) -> None:
        """persist=False for the demo's transient profile, so the user's own choice survives the demo."""
        self._current_profile = name
        if persist:
            self.settings.setValue("profile", name)
        self.currentProfileChanged.emit(name)

    # -- live updates -----------------------------------------------------------------------------
    def start_watching(self, interval_s: float | None = None, safety_poll_s: float | None = None) -> None:
        """Notice calls committed by any process, then emit recordsChanged(max_id) on the GUI thread.

        SQLite (a local file): poll the highest call id every `interval_s` (default self.poll_s) — an index
        lookup.  PostgreSQL: a push — the store's LISTEN (monitor.store.watch_calls) wakes a read of max_id
        within the writer's batch window, from any machine — plus a slow safety poll every `safety_poll_s`
        (default self.safety_poll_s) for notifications missed while the listener reconnects.  liveStateChanged
        says when the push is lost.

        Each read is a QueryOp on the watcher's own lane (a second DbLane: it must not queue behind a long
        board computation on `self.db`); one read at a time, and a burst of notifications while one runs
        becomes one more read, reads are MIN_READ_GAP_S apart at least: recordsChanged fires at most a few
        times a second, with the latest id.
        """
        if self._watch_timer is not None:
            return
        self._watch_lane = DbLane(self.db_path, self)
        if self.is_team_store:
            interval = safety_poll_s if safety_poll_s is not None else self.safety_poll_s
        else:
            interval = interval_s if interval_s is not None else self.poll_s
        self._watch_timer = QTimer(self, interval=max(1, int(interval * 1000)))
        self._watch_timer.timeout.connect(self._poll)
        self._watch_timer.start()
        if self.is_team_store:
            from monitor.store import watch_calls       # psycopg is loaded already: the store is open

            self._latch = _PushLatch(self)
            self._listener = watch_calls(self.db_path, self._latch.on_calls, self._latch.on_state)
        self._poll()

    @property
    def pushes(self) -> int:
        """Notifications the listener received (tests, the benchmark)."""
        return self._latch.pushes if self._latch is not None else 0

    def _on_live_state(self, problem: str) -> None:
        if self._is_shut_down or problem == self.live_problem:
            return
        was_lost, self.live_problem = bool(self.live_problem), problem
        if was_lost and not problem:
            self._poll()                        # calls committed while it was away
        self.liveStateChanged.emit(problem)

    def _poll(self) -> None:
        if self._is_shut_down:
            return
        if self._poll_running or self._read_timer.isActive():
            self._poll_again = True             # one more read when this one answers: coalesced
            return
        wait_s = self._last_read + MIN_READ_GAP_S - time.monotonic()
        if wait_s > 0:                          # at most 1 / MIN_READ_GAP_S reads (and recordsChanged) a second
            self._read_timer.start(int(wait_s * 1000) + 1)
            return
        self._read_max_id()

    def _on_read_timer_timeout(self) -> None:
        self._poll_again = False                # this read covers what asked meanwhile
        if not self._is_shut_down:
            self._read_max_id()

    def _read_max_id(self) -> None:
        self._poll_running = True
        self._last_read = time.monotonic()
        self.reads += 1
        QueryOp(self._watch_lane, Store.max_id, parent=self, success=self._on_max_id_seen) \
            .failure(self._on_poll_failed).finished(self._on_poll_finished).run_in_background()

    def _on_poll_failed(self, exc: BaseException) -> None:
        if not self.is_team_store:            # (a team store's lost server: the listener's line says it)
            traceback.print_exception(type(exc), exc, exc.__traceback__)

    def _on_poll_finished(self) -> None:
        self._poll_running = False
        if self._poll_again:
            self._poll_again = False
            self._poll()

    def _on_max_id_seen(self, latest: int) -> None:
        if self._is_shut_down or latest == self.max_id:
            return
        self.max_id = latest
        self.recordsChanged.emit(latest)

    # -- lifetime ---------------------------------------------------------------------------------
    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Run before monitors flush and the simulator stops (the demo's traffic stops here)."""
        self._shutdown_hooks.append(hook)

    def shutdown(self) -> None:
        if self._is_shut_down:
            return
        self._is_shut_down = True
        if self._watch_timer is not None:
            self._watch_timer.stop()
        self._read_timer.stop()
        if self._latch is not None:
            self._latch.closed = True
        if self._listener is not None:
            self._listener.close(wait=False)     # its thread ends within a second; the GUI does not wait
        for hook in self._shutdown_hooks:
            hook()
        for monitor in list(self._monitors.values()):
            try:
                monitor.flush(timeout=5)
            except TimeoutError:
                pass                               # the writer reports its own error; quitting must not hang
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            from openai import AsyncOpenAI      # already loaded: client() made these clients
            close = getattr(client, "close", None)
            if close is not None and not isinstance(client, AsyncOpenAI):
                close()
        self.db.stop()
        if self._watch_lane is not None:
            self._watch_lane.stop()
        if self.simulator is not None:
            self.simulator.stop()


class _PushLatch:
    """The only thing the listener's thread touches: plain Python, holding the context weakly, so no Qt
    object is ever used — or freed — on that thread.  Deliveries go through desktop/tasks.py's bridge and
    meet the context on the GUI thread; a burst of notifications while one is on its way is one delivery."""

    def __init__(self, ctx: AppContext):
        self._ctx = weakref.ref(ctx)
        self._lock = threading.Lock()
        self._posted = False
        self.pushes = 0
        self.closed = False

    def on_calls(self, _streams: list[str]) -> None:            # listener thread
        with self._lock:
            self.pushes += 1
            if self._posted or self.closed:
                return
            self._posted = True
        post_to_gui_thread(self._deliver_push)

    def on_state(self, listening: bool, reason: str | None) -> None:     # listener thread
        if not self.closed:
            problem = "" if listening else (reason or "reconnecting")
            post_to_gui_thread(lambda: self._deliver_state(problem))

    def _deliver_push(self) -> None:                             # GUI thread, from here on
        with self._lock:
            self._posted = False
        ctx = self._ctx()
        if ctx is not None and not self.closed:
            ctx._poll()

    def _deliver_state(self, problem: str) -> None:
        ctx = self._ctx()
        if ctx is not None and not self.closed:
            ctx._on_live_state(problem)


def _warm_sdk() -> None:
    import openai

    openai.OpenAI(api_key="warm-up", base_url="http://127.0.0.1:9/v1", max_retries=0).close()
