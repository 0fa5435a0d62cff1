"""A team store's password comes from the OS keyring (or PGPASSWORD/.pgpass, or the app's dialog), never
from or into settings, the store, logs or error text.  Real parts: a PostgreSQL role that must log in with a
SCRAM password on the throwaway cluster, and a real gnome-keyring over a private D-Bus."""
from __future__ import annotations

import os
import subprocess
import sys

import keyring
import keyring.backends.fail
import psycopg
import pytest
from PySide6.QtWidgets import QDialog

from desktop.app import AppSession
from desktop.team_store import TeamStoreDialog, split_password
from monitor import store_secrets
from monitor.paths import StoreURL
from monitor.store import Store
from monitor.store_secrets import LoginRefused, keyring_username

from keyring_service import real_keyring, secret_service  # noqa: F401 - fixtures

try:
    from tests.app_helpers import temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import temp_settings

ROLE, PASSWORD = "team_keeper", "Kee9-pa55-w0rd-tm"
WRONG = "not-the-password-42"


@pytest.fixture(scope="module")
def keeper_cluster(pg_cluster):
    """The cluster, where ROLE must log in over TCP with a SCRAM password (its pg_hba line goes first)."""
    hba = pg_cluster.data / "pg_hba.conf"
    text = hba.read_text()
    line = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
    if line not in text:
        stat = hba.stat()
        hba.write_text(line + text)
        os.chown(hba, stat.st_uid, stat.st_gid)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone() is None:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute("SELECT pg_reload_conf()")
    return pg_cluster


@pytest.fixture
def keeper_url(keeper_cluster, monkeypatch, tmp_path) -> str:
    """A new database owned by ROLE; its URL has no password, and libpq finds none elsewhere."""
    name = keeper_cluster.new_database().rsplit("/", 1)[1]
    with psycopg.connect(keeper_cluster.url(), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} OWNER TO {ROLE}")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    return f"postgresql://{ROLE}@127.0.0.1:{keeper_cluster.port}/{name}"


@pytest.fixture
def keyring_cleanup(real_keyring, keeper_url):
    yield
    store_secrets.delete_password(keeper_url)


def _cli(url: str, env_extra: dict, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "DBUS_SESSION_BUS_ADDRESS")}
    env.update({"PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()), "HOME": str(tmp_path), **env_extra})
    return subprocess.run([sys.executable, "-m", "monitor.cli", "streams", "--db", url], env=env,
                          capture_output=True, text=True, timeout=120)


def _store_text(url: str) -> str:
    """Every row of every table of the store, as text."""
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return "\n".join(str(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}"))


def test_keyring_entry_names_the_login_without_its_password():
    assert keyring_username("postgresql://alice:pw@db.example:6543/team?sslmode=require") == "alice@db.example:6543/team"
    assert keyring_username("postgresql://bob@localhost/x") == "bob@localhost:5432/x"
    assert split_password("postgresql://a:p%40ss@h:1/d?application_name=x") == \
        ("postgresql://a@h:1/d?application_name=x", "p@ss")
    assert split_password("postgresql://a@h/d?password=q&x=1") == ("postgresql://a@h/d?x=1", "q")
    assert split_password("postgresql://a@h/d") == ("postgresql://a@h/d", None)


def test_the_library_and_cli_take_the_password_from_the_keyring(keeper_url, keyring_cleanup, tmp_path, capfd):
    with pytest.raises(LoginRefused) as refused:              # nowhere yet: one line, "missing"
        Store(keeper_url)
    assert refused.value.missing and "\n" not in str(refused.value)
    store_secrets.set_password(keeper_url, PASSWORD)
    store = Store(keeper_url)                                # no password in the URL, PGPASSWORD or .pgpass
    assert store.max_id() == 0 and store.path.password == PASSWORD and PASSWORD not in str(store.path)
    store.close()
    bus = {"DBUS_SESSION_BUS_ADDRESS": os.environ["DBUS_SESSION_BUS_ADDRESS"], "PGPASSFILE": os.environ["PGPASSFILE"]}
    ok = _cli(keeper_url, bus, tmp_path)                      # a new process finds it too
    assert ok.returncode == 0, ok.stderr
    off = _cli(keeper_url, {**bus, store_secrets.DISABLE_ENV: "0"}, tmp_path)   # told never to ask
    assert off.returncode == 2 and off.stderr.count("\n") == 1 and "refused the login" in off.stderr
    # a server without a keyring backend: no hang, the same one line
    for env in ({"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PGPASSFILE": os.environ["PGPASSFILE"]},
                {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus", "PGPASSFILE": os.environ["PGPASSFILE"]}):
        bare = _cli(keeper_url, env, tmp_path)
        assert bare.returncode == 2 and bare.stderr.count("\n") == 1 and "refused the login" in bare.stderr, bare.stderr
    # a password in PGPASSWORD wins over the keyring's (libpq's sources first): a wrong one is refused
    wrong = _cli(keeper_url, {**bus, "PGPASSWORD": WRONG}, tmp_path)
    assert wrong.returncode == 2 and WRONG not in wrong.stderr
    for result in (ok, off, bare, wrong):
        assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD not in "".join(capfd.readouterr())


def test_the_dialog_asks_for_the_password_and_remembers_it_in_the_keyring(qtbot, keeper_url, keyring_cleanup,
                                                                          tmp_path, capfd):
    dialog = TeamStoreDialog(keeper_url)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password
    dialog.try_connect()                                     # no password anywhere: it asks for one
    qtbot.waitUntil(lambda: "asks for team_keeper's password" in dialog.error_label.full_text, timeout=30000)
    assert dialog.result() == 0
    dialog.password_edit.setText(WRONG)
    dialog.try_connect()
    qtbot.waitUntil(lambda: "refused the login" in dialog.error_label.full_text, timeout=30000)
    assert WRONG not in dialog.error_label.full_text + dialog.error_label.toolTip()
    assert store_secrets.get_password(keeper_url) is None     # a refused password is not remembered
    dialog.password_edit.setText(PASSWORD)
    assert dialog.remember_box.isChecked()
    dialog.try_connect()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.Accepted, timeout=30000)
    assert dialog.location.password == PASSWORD and PASSWORD not in str(dialog.location)
    assert PASSWORD not in dialog.location.dsn
    assert store_secrets.get_password(keeper_url) == PASSWORD

    # the app opens it, and on a restart with the bare URL logs in from the keyring without asking
    settings = temp_settings(tmp_path)
    session = AppSession(settings)
    window = session.open(tmp_path / "local.db")
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._started, timeout=30000)
        assert window.open_team_store(dialog.location)
        qtbot.waitUntil(lambda: session.window is not window and session.window._started, timeout=30000)
        qtbot.addWidget(session.window)
        qtbot.waitUntil(lambda: session.window.status.live_label.text() == "● Live", timeout=30000)
        shown = session.window.status.store_label.full_text + session.window.about_html("ok")
    finally:
        session.window.close()
        session.close()
    settings.sync()
    restart = AppSession(temp_settings(tmp_path))
    again = restart.open(keeper_url)
    qtbot.addWidget(again)
    try:
        qtbot.waitUntil(lambda: again._started, timeout=30000)
        assert restart.login_dialog is None
        qtbot.waitUntil(lambda: again.status.live_label.text() == "● Live", timeout=30000)
    finally:
        again.close()
        restart.close()
    assert keeper_url in (tmp_path / "app.ini").read_text()
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    out, err = capfd.readouterr()
    for text in (written, _store_text(keeper_url), out, err, shown):
        assert PASSWORD not in text and WRONG not in text


def test_a_team_store_given_at_launch_asks_for_its_password(qtbot, keeper_url, real_keyring, tmp_path, capfd):
    session = AppSession(temp_settings(tmp_path))
    failures: list[str] = []
    session.launchFailed.connect(failures.append)
    window = session.open(keeper_url)                        # as from --db or $OPENAI_MONITOR_DB
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: session.login_dialog is not None and session.login_dialog.isVisible(), timeout=30000)
        dialog = session.login_dialog
        assert "asks for team_keeper's password" in dialog.error_label.full_text
        assert dialog.url_edit.text() == keeper_url
        dialog.password_edit.setText(PASSWORD)
        dialog.remember_box.setChecked(False)                # this time only
        dialog.try_connect()
        qtbot.waitUntil(lambda: session.window is not window and session.window._started, timeout=30000)
        qtbot.addWidget(session.window)
        assert isinstance(session.ctx.db_path, StoreURL) and session.ctx.db_path.password == PASSWORD
        assert failures == [] and store_secrets.get_password(keeper_url) is None
    finally:
        session.window.close()
        session.close()

    cancelled = AppSession(temp_settings(tmp_path, "other.ini"))      # Cancel: the launch's one message (exit 2)
    cancelled.launchFailed.connect(failures.append)
    window = cancelled.open(keeper_url)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: cancelled.login_dialog is not None and cancelled.login_dialog.isVisible(),
                        timeout=30000)
        cancelled.login_dialog.reject()
        qtbot.waitUntil(lambda: len(failures) == 1, timeout=10000)
        assert "refused the login" in failures[0]
    finally:
        window.close()
        cancelled.close()
    assert PASSWORD not in "".join(capfd.readouterr()) + "".join(failures)


def test_without_a_keyring_the_remember_box_says_why(qtbot, keeper_url):
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        dialog = TeamStoreDialog(keeper_url)
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: not dialog.remember_box.isEnabled(), timeout=10000)
        assert not dialog.remember_box.isChecked() and "keyring" in dialog.remember_box.toolTip().lower()
    finally:
        keyring.set_keyring(previous)


def test_a_login_that_succeeds_after_cancel_remembers_nothing(keeper_url, keyring_cleanup):
    import threading

    from desktop.team_store.dialog import _login

    cancelled = threading.Event()
    cancelled.set()                                         # the user pressed Cancel while it was connecting
    assert _login(StoreURL(keeper_url, password=PASSWORD), True, cancelled) == ""
    assert store_secrets.get_password(keeper_url) is None
    assert _login(StoreURL(keeper_url, password=PASSWORD), True, threading.Event()) == ""
    assert store_secrets.get_password(keeper_url) == PASSWORD
