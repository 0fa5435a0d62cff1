"""A private, real Secret Service for tests: a D-Bus session bus plus gnome-keyring-daemon.

Nothing is mocked: keyring's SecretService backend talks D-Bus to a real gnome-keyring-daemon
whose keyring files live in a throwaway directory, so tests never touch the user's keyring.
CI sets OPENAI_MONITOR_REQUIRE_KEYRING=1 to turn "cannot start it" into a failure instead of a skip.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

REQUIRE_ENV = "OPENAI_MONITOR_REQUIRE_KEYRING"
# gnome-keyring only creates the "login" collection for a non-empty password; an empty one
# leaves just the in-memory "session" collection and every store asks for a (headless) prompt.
UNLOCK_PASSWORD = b"throwaway-test-password"
LOGIN_COLLECTION = "/org/freedesktop/secrets/collection/login"
SECRETS_NAME = "org.freedesktop.secrets"


class SecretServiceUnavailable(RuntimeError):
    """The binaries or libraries needed to run a private Secret Service are missing or failed."""


@dataclass
class RunningSecretService:
    env: dict[str, str]                      # DBUS_SESSION_BUS_ADDRESS for this private bus
    stop: Callable[[], None]
    data_dir: Path = field(default=Path())   # where gnome-keyring keeps its (encrypted) keyring files


def _start_bus(env: dict[str, str]) -> tuple[str, Callable[[], None]]:
    if shutil.which("dbus-daemon"):
        # --nofork keeps the bus our child, so we can stop and reap it (no orphaned zombies).
        proc = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        address = proc.stdout.readline().decode().strip() if ready else ""
        if not address:
            _stop_process(proc)
            raise SecretServiceUnavailable("dbus-daemon did not print a bus address")
        return address, lambda: _stop_process(proc)
    if shutil.which("dbus-launch"):
        out = subprocess.run(["dbus-launch"], capture_output=True, text=True, env=env, timeout=10).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        address, pid = values.get("DBUS_SESSION_BUS_ADDRESS"), values.get("DBUS_SESSION_BUS_PID")
        if not address or not pid:
            raise SecretServiceUnavailable(f"dbus-launch gave no bus address: {out!r}")
        return address, lambda: _kill_pid(int(pid))
    raise SecretServiceUnavailable("neither dbus-daemon nor dbus-launch is installed (apt install dbus dbus-x11)")


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        pass


def _wait_for_login_collection(address: str, daemon: subprocess.Popen, timeout: float = 15) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    import secretstorage

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SecretServiceUnavailable(f"gnome-keyring-daemon exited with code {daemon.returncode}")
        try:
            with open_dbus_connection(address) as conn:
                # Ask only once our daemon owns the name: an earlier call would make the bus
                # auto-activate a second, unmanaged gnome-keyring-daemon.
                owned = conn.send_and_get_reply(message_bus.NameHasOwner(SECRETS_NAME)).body[0]
                if owned:
                    paths = [c.collection_path for c in secretstorage.get_all_collections(conn)]
                    if LOGIN_COLLECTION in paths:
                        return
                    last = f"collections: {paths}"
        except Exception as exc:  # the daemon may not own its bus name yet
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise SecretServiceUnavailable(f"gnome-keyring-daemon never exposed the login collection ({last})")


def start_secret_service() -> RunningSecretService:
    """Start a private bus and an unlocked gnome-keyring; return its env vars and a stop function.

    Commands (environment: HOME/XDG_* pointed at a temp dir):
      dbus-daemon --session --nofork --print-address=1        (or: dbus-launch)
      gnome-keyring-daemon --foreground --unlock --components=secrets   (password on stdin)
    """
    if not shutil.which("gnome-keyring-daemon"):
        raise SecretServiceUnavailable("gnome-keyring-daemon is not installed (apt install gnome-keyring)")
    try:
        import secretstorage  # noqa: F401  (keyring's SecretService backend needs it)
    except ImportError:
        raise SecretServiceUnavailable("the secretstorage package is not installed (pip install secretstorage)")

    tmp = Path(tempfile.mkdtemp(prefix="openai-monitor-keyring-"))
    runtime = tmp / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(tmp), "XDG_RUNTIME_DIR": str(runtime),
           "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
           "XDG_CACHE_HOME": str(tmp / "cache")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    stoppers: list[Callable[[], None]] = [lambda: shutil.rmtree(tmp, ignore_errors=True)]

    def stop() -> None:
        while stoppers:
            stoppers.pop()()

    try:
        address, stop_bus = _start_bus(env)
        stoppers.append(stop_bus)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        stoppers.append(lambda: _stop_process(daemon))
        daemon.stdin.write(UNLOCK_PASSWORD)
        daemon.stdin.close()
        _wait_for_login_collection(address, daemon)
    except BaseException:
        stop()
        raise
    return RunningSecretService({"DBUS_SESSION_BUS_ADDRESS": address}, stop, tmp / "data")


def secret_service_fixture() -> Iterator[RunningSecretService]:
    """Body of a `secret_service` pytest fixture: skip (or fail, in CI) when unavailable,
    point this process at the private bus for the fixture's lifetime, then restore and stop."""
    import pytest

    try:
        service = start_secret_service()
    except SecretServiceUnavailable as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"real Secret Service required ({REQUIRE_ENV}=1) but unavailable: {exc}")
        pytest.skip(f"no real Secret Service: {exc}")
    saved = {k: os.environ.get(k) for k in service.env}
    os.environ.update(service.env)
    try:
        yield service
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        service.stop()


# -- fixtures shared by the keyring tests (test_profiles, test_settings_dialog import them) ------------------
import keyring  # noqa: E402
import keyring.backends.fail  # noqa: E402
import keyring.backends.SecretService  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def secret_service():
    yield from secret_service_fixture()


@pytest.fixture
def real_keyring(secret_service):
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.SecretService.Keyring())
    yield secret_service
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def config_dir(tmp_path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def store(config_dir):
    from monitor.profiles import ProfileStore

    return ProfileStore(config_dir / "profiles.json")
