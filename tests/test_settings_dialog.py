"""The settings dialog through its widgets, with the real keyring and a real HTTP server."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import socket
import uuid
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.SecretService
import pytest
from PySide6.QtCore import Qt

from desktop.settings_dialog import READ_ONLY_ROLE, SettingsDialog
from monitor.profiles import ENV_PROFILE_NAME, SERVICE, Profile, ProfileStore
from monitor.simulator import MODELS, Simulator, SimulatorConfig

try:
    from tests.keyring_service import secret_service_fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from keyring_service import secret_service_fixture

SECRET = "sk-test-dialog-7fQ2mX9kLp0RsT4v"


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
def store(config_dir) -> ProfileStore:
    return ProfileStore(config_dir / "profiles.json")


@pytest.fixture
def dialog_for(qtbot):
    def make(store: ProfileStore) -> SettingsDialog:
        dlg = SettingsDialog(store)
        qtbot.addWidget(dlg)
        dlg.show()
        return dlg
    return make


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
    assert dlg.key_edit.placeholderText() == "•••• stored in Secret Service"
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
    assert dlg.banner.isVisible()
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
