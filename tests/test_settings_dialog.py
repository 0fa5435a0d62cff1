"""The settings dialog through its widgets, with the real keyring and a real HTTP server.

Keyring calls run on worker threads, so their results reach the widgets a moment later:
the tests wait for them with qtbot.waitUntil / waitSignal."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import contextlib
import socket
import threading
import uuid
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.SecretService
import keyring.errors
import pytest
from PySide6.QtCore import QCoreApplication, Qt

from desktop import tasks
from desktop.settings.dialog import CHECKING, READ_ONLY_ROLE, SettingsDialog
from monitor.profiles import ENV_PROFILE_NAME, SERVICE, Profile, ProfileStore
from monitor.simulator import MODELS, Simulator, SimulatorConfig
from keyring_service import (config_dir, no_keyring, real_keyring, secret_service,  # noqa: F401
                             store, _no_env_key)


SECRET = "sk-test-dialog-7fQ2mX9kLp0RsT4v"




@pytest.fixture
def dialog_for(qtbot):
    def make(store: ProfileStore) -> SettingsDialog:
        dlg = SettingsDialog(store)
        qtbot.addWidget(dlg)
        dlg.show()
        return dlg
    yield make
    # Keyring workers still running must not outlive the keyring fixture that is torn down next.
    assert tasks.wait_for_network(15000)


class GatedKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring that, like a Secret Service waiting on its unlock prompt, answers only when let
    through: inside `held()` every call waits at the gate.  It records which thread called it, and counts
    calls that gave up waiting — which only a call made on the GUI thread while the gate was held can do
    (the GUI thread cannot reach the end of the `with` block that opens the gate)."""
    priority = 1
    name = "Slow test keyring"
    GIVE_UP_S = 10.0                               # a GUI-thread call blocks at most this long, then is counted

    def __init__(self):
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []     # (method, thread name)
        self.fail_with: str | None = None          # set_password raises with this text
        self.gave_up = 0
        self._gate = threading.Event()
        self._gate.set()

    @contextlib.contextmanager
    def held(self):
        """Keyring calls made inside the block answer only after it ends; none may have given up waiting."""
        self._gate.clear()
        try:
            yield
        finally:
            self._gate.set()
        assert self.gave_up == 0, "a keyring call waited on the GUI thread"

    def _call(self, method: str) -> None:
        self.calls.append((method, threading.current_thread().name))
        if not self._gate.wait(self.GIVE_UP_S):
            self.gave_up += 1

    def get_password(self, service, username):
        self._call("get_password")
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self._call("set_password")
        if self.fail_with:
            raise RuntimeError(self.fail_with)
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self._call("delete_password")
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@pytest.fixture
def slow_keyring():
    previous = keyring.get_keyring()
    backend = GatedKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
    keyring.backend.KeyringBackend._classes.discard(GatedKeyring)   # not a candidate for auto-detection


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_create_profile_with_key_through_the_widgets(real_keyring, store, config_dir, dialog_for, qtbot):
    name = f"dialog-{uuid.uuid4().hex[:8]}"
    dlg = dialog_for(store)
    qtbot.waitUntil(lambda: dlg.key_edit.placeholderText() == "paste a key to store it in Secret Service")
    assert dlg.banner.isHidden()
    qtbot.mouseClick(dlg.new_button, Qt.LeftButton)
    qtbot.keyClicks(dlg.name_edit, name)
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("compatible"))
    qtbot.keyClicks(dlg.base_url_edit, "http://localhost:11434/v1")
    qtbot.keyClicks(dlg.key_edit, SECRET)
    with qtbot.waitSignal(dlg.profilesChanged, timeout=5000):
        qtbot.mouseClick(dlg.save_button, Qt.LeftButton)

    assert keyring.get_password(SERVICE, name) == SECRET
    assert store.get(name).base_url == "http://localhost:11434/v1"
    assert files_containing(config_dir, SECRET) == []
    # The key never comes back into a widget; the placeholder says where it lives.
    assert dlg.key_edit.text() == ""
    qtbot.waitUntil(lambda: dlg.key_edit.placeholderText() == "•••• stored in Secret Service")
    assert dlg.key_edit.echoMode() == dlg.key_edit.EchoMode.Password
    assert [dlg.profile_list.item(i).text() for i in range(dlg.profile_list.count())] == [name]

    # Rename through the form: the secret moves with it.
    dlg.name_edit.setText(name + "-2")
    with qtbot.waitSignal(dlg.profilesChanged, timeout=5000):
        qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
    assert keyring.get_password(SERVICE, name) is None
    assert keyring.get_password(SERVICE, name + "-2") == SECRET

    dlg._confirm_delete = lambda _name: True
    with qtbot.waitSignal(dlg.profilesChanged, timeout=5000):
        qtbot.mouseClick(dlg.delete_button, Qt.LeftButton)
    assert keyring.get_password(SERVICE, name + "-2") is None and store.list() == []


def test_banner_and_no_plaintext_with_the_fail_backend(no_keyring, store, config_dir, dialog_for, qtbot, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    dlg = dialog_for(store)
    qtbot.waitUntil(dlg.banner.isVisible)
    assert "apt install gnome-keyring" in dlg.banner.text() and "fail.Keyring" in dlg.banner.text()
    # The env profile is listed, locked and read-only.
    env_item = dlg.profile_list.item(0)
    assert env_item.text() == ENV_PROFILE_NAME and env_item.data(READ_ONLY_ROLE)
    assert not env_item.icon().isNull()         # the lock marker
    assert not dlg.name_edit.isEnabled() and not dlg.save_button.isEnabled()
    assert not dlg.delete_button.isEnabled() and dlg.test_button.isEnabled()

    qtbot.mouseClick(dlg.new_button, Qt.LeftButton)
    assert not dlg.key_edit.isEnabled()        # nowhere safe to put a key
    qtbot.keyClicks(dlg.name_edit, "local")
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("compatible"))
    qtbot.keyClicks(dlg.base_url_edit, "http://localhost:1234/v1")
    with qtbot.waitSignal(dlg.profilesChanged, timeout=5000):
        qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
    assert [p.name for p in store.list()] == [ENV_PROFILE_NAME, "local"]
    assert files_containing(config_dir, SECRET) == []


def test_api_version_row_only_for_azure(no_keyring, store, dialog_for):
    dlg = dialog_for(store)
    assert not dlg.form.isRowVisible(dlg.api_version_edit)
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("azure"))
    assert dlg.form.isRowVisible(dlg.api_version_edit)


def test_test_connection_runs_off_the_gui_thread_and_lists_models(real_keyring, store, dialog_for, qtbot):
    name = f"dialog-{uuid.uuid4().hex[:8]}"
    with Simulator(SimulatorConfig(latency_ms=1500)) as sim:
        store.save(Profile(name, base_url=sim.base_url, kind="compatible"), api_key=SECRET)
        dlg = dialog_for(store)
        qtbot.mouseClick(dlg.test_button, Qt.LeftButton)
        # The simulator holds its answer for 1.5 s, yet the click returned: the call is on a worker.
        assert dlg.status.text() == f"Testing {name}…" and not dlg.test_button.isEnabled()
        qtbot.waitUntil(lambda: "gpt-4o-mini" in dlg.status.text(), timeout=10000)
        qtbot.waitUntil(dlg.test_button.isEnabled, timeout=5000)
    shown = " ".join(dlg.status.text().split())
    assert shown.startswith(f"✓ Connected — {len(MODELS)} models: gpt-3.5-turbo, ")
    assert shown.endswith(f"… and {len(MODELS) - 12} more")
    assert all(line.endswith((",", "more", ":")) for line in dlg.status.text().splitlines())  # no split ids
    dlg.grab().save("/tmp/settings.png")
    store.delete(name)


def test_test_connection_error_is_shown_without_the_key(real_keyring, store, dialog_for, qtbot):
    name = f"dialog-{uuid.uuid4().hex[:8]}"
    store.save(Profile(name, base_url=closed_port_url(), kind="compatible"), api_key=SECRET)
    dlg = dialog_for(store)
    qtbot.mouseClick(dlg.test_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.status.text().startswith("✗"), timeout=10000)
    assert "connect" in dlg.status.text().lower() and SECRET not in dlg.status.text()
    qtbot.waitUntil(dlg.test_button.isEnabled, timeout=5000)
    store.delete(name)


def test_keyring_calls_never_block_the_gui_thread(slow_keyring, store, dialog_for, qtbot):
    """Keyring calls answer only when the test lets them through, yet each action returns to the event
    loop before that, and no keyring method runs on the GUI thread."""
    where = "Slow test keyring"
    slow_keyring.passwords[(SERVICE, "with-key")] = SECRET
    store.save(Profile("with-key"))                                    # no key: no keyring call
    store.save(Profile("no-key", base_url="http://localhost:11434/v1", kind="compatible"))
    gui_thread = threading.current_thread().name
    assert slow_keyring.calls == []

    # Constructing: the status probe and has_key run on workers; the field says it is checking.
    with slow_keyring.held():
        dlg = dialog_for(store)
        assert dlg.key_edit.placeholderText() == CHECKING and dlg.banner.isHidden()
    qtbot.waitUntil(lambda: dlg.key_edit.placeholderText() == f"•••• stored in {where}", timeout=10_000)
    assert dlg.banner.isHidden()

    # Selecting returns at once; the answer for a profile no longer selected is dropped: no-key's
    # "no key" arrives while with-key is selected again, and must not show.
    with slow_keyring.held():
        dlg.profile_list.setCurrentRow(1)
        assert dlg.name_edit.text() == "no-key" and dlg.key_edit.placeholderText() == CHECKING
        dlg.profile_list.setCurrentRow(0)
        assert dlg.name_edit.text() == "with-key" and dlg.key_edit.placeholderText() == CHECKING
    seen: list[str] = []
    qtbot.waitUntil(lambda: seen.append(dlg.key_edit.placeholderText()) or
                    seen[-1] == f"•••• stored in {where}", timeout=10_000)
    assert tasks.wait_for_network(15000)               # no-key's answer has arrived too ...
    QCoreApplication.processEvents()                   # (its answer was posted before its thread finished)
    seen.append(dlg.key_edit.placeholderText())       # ... and was dropped
    assert set(seen) == {CHECKING, f"•••• stored in {where}"}, seen
    dlg.profile_list.setCurrentRow(1)
    qtbot.waitUntil(lambda: dlg.key_edit.placeholderText() == f"paste a key to store it in {where}",
                    timeout=10_000)

    # Save with a key: buttons off while the keyring works, profilesChanged once it is done.
    qtbot.keyClicks(dlg.key_edit, SECRET)
    with qtbot.waitSignal(dlg.profilesChanged, timeout=10_000):
        with slow_keyring.held():
            qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
            assert dlg.status.text() == "Saving…"
            assert not any(b.isEnabled() for b in (dlg.save_button, dlg.delete_button, dlg.new_button,
                                                     dlg.test_button, dlg.profile_list))
    assert slow_keyring.passwords[(SERVICE, "no-key")] == SECRET
    assert dlg.status.text() == "Saved. The key is in the keyring." and dlg.key_edit.text() == ""
    assert all(b.isEnabled() for b in (dlg.save_button, dlg.delete_button, dlg.new_button, dlg.profile_list))

    # Rename: get + set + delete in the keyring, all off the GUI thread.
    dlg.name_edit.setText("renamed")
    with qtbot.waitSignal(dlg.profilesChanged, timeout=10_000):
        with slow_keyring.held():
            qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
            assert not dlg.save_button.isEnabled()
    assert (SERVICE, "no-key") not in slow_keyring.passwords
    assert slow_keyring.passwords[(SERVICE, "renamed")] == SECRET

    # A keyring failure reaches the status label, without the key it was given.
    slow_keyring.fail_with = f"backend echoed {SECRET}"
    qtbot.keyClicks(dlg.key_edit, SECRET)
    with slow_keyring.held():
        qtbot.mouseClick(dlg.save_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dlg.status.text().startswith("Could not store the key"), timeout=10_000)
    assert SECRET not in dlg.status.text() and "RuntimeError" in dlg.status.text()
    qtbot.waitUntil(dlg.save_button.isEnabled, timeout=10_000)

    # Delete.
    dlg._confirm_delete = lambda _name: True
    with qtbot.waitSignal(dlg.profilesChanged, timeout=10_000):
        with slow_keyring.held():
            qtbot.mouseClick(dlg.delete_button, Qt.LeftButton)
            assert not dlg.delete_button.isEnabled()
    assert [p.name for p in store.list()] == ["with-key"]
    assert (SERVICE, "renamed") not in slow_keyring.passwords

    assert tasks.wait_for_network(15000)
    methods = {method for method, _thread in slow_keyring.calls}
    assert methods == {"get_password", "set_password", "delete_password"}
    assert [c for c in slow_keyring.calls if c[1] == gui_thread] == []
    assert gui_thread == threading.main_thread().name
