"""The team-store dialog: a postgresql:// URL, a password field, "Remember the password in the OS keyring".

Connecting (and keeping the password in the keyring) runs on the network lane (desktop/tasks.py); the dialog
closes only once the login worked, so the app then opens a store it knows it can reach.  The password lives
in memory only (StoreURL.password, passed to libpq as a keyword) unless the user asks to remember it: then it
goes to the OS keyring, where the library finds it next time.  It never reaches a URL's text, the settings,
the status bar or an error line.  An empty password field means: PGPASSWORD, ~/.pgpass or the keyring.
"""
from __future__ import annotations

import threading
from urllib.parse import unquote

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QVBoxLayout, QWidget)

from monitor.paths import StoreURL, is_store_url, scrub_url, url_password, url_without_password
from monitor.store_secrets import LoginRefused, keyring_username

from ..statusbar import ElidedLabel
from ..tasks import NetOp

ERROR_STYLE = "color: #b00020;"
HINT_STYLE = "color: #555;"


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password it held or None) — split where libpq splits (paths)."""
    password = url_password(url)
    for item in url.partition("?")[2].split("&") if password is None else ():
        key, _, value = item.partition("=")
        if password is None and key.lower() == "password":
            password = unquote(value)
    return url_without_password(url), password


def _login(location: StoreURL, remember: bool, cancelled: threading.Event | None = None) -> str:
    """(network lane) Open the store once — connect, log in, create or migrate its schema — then keep the
    password in the keyring if asked and the dialog was not cancelled meanwhile.  Returns a warning line ("" when
    all went well)."""
    from monitor.profiles import KeyringUnavailable
    from monitor.store import Store
    from monitor.store_secrets import set_password

    Store(location).close()
    if remember and location.password and not (cancelled is not None and cancelled.is_set()):
        try:
            set_password(location, location.password)
        except KeyringUnavailable as exc:
            return f"Connected, but the password was not remembered: {exc}"
    return ""


def _keyring_usable() -> tuple[bool, str]:
    from monitor.profiles import keyring_status

    return keyring_status()


def error_line(exc: BaseException, location: StoreURL) -> str:
    """One line for the dialog: what went wrong and what to do, never a password."""
    if isinstance(exc, LoginRefused):
        who = keyring_username(location).split("@", 1)[0]
        if exc.missing:
            return f"The server asks for {who}'s password: enter it above."
        return f"PostgreSQL refused the login of {who}: check the password and the user name."
    text = scrub_url(str(exc)).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    password = location.password
    return line.replace(password, "***") if password and len(password) >= 4 else line


class TeamStoreDialog(QDialog):
    """Ask for a team store; `location` (a StoreURL, password in memory) once accepted."""

    def __init__(self, url: str = "", error: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open team store")
        self.setMinimumWidth(520)
        self.location: StoreURL | None = None
        self.warning = ""                       # said by the window after the dialog closes
        self._task = None

        self.url_edit = QLineEdit(url or "postgresql://", objectName="teamStoreUrl")
        self.url_edit.setPlaceholderText("postgresql://user@host:5432/dbname")
        self.password_edit = QLineEdit(objectName="teamStorePassword")
        self.password_edit.setEchoMode(QLineEdit.Password)
        self.password_edit.setPlaceholderText("empty: $PGPASSWORD, ~/.pgpass or the OS keyring")
        self.remember_box = QCheckBox("Remember the password in the OS keyring", objectName="teamStoreRemember")
        self.remember_box.setChecked(True)
        self.error_label = ElidedLabel(objectName="teamStoreError", elide=Qt.ElideRight)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.hint = QLabel("Every process logging to this PostgreSQL database shares it; new calls show up live. "
                           "The URL is remembered without its password.", wordWrap=True)
        self.hint.setStyleSheet(HINT_STYLE)

        form = QFormLayout()
        form.addRow("URL:", self.url_edit)
        form.addRow("Password:", self.password_edit)
        form.addRow("", self.remember_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.AcceptRole)
        self.connect_button.setDefault(True)
        self.buttons.accepted.connect(self.try_connect)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.show_error(error)
        (self.password_edit if error else self.url_edit).setFocus()
        NetOp(_keyring_usable, parent=self).success(self._on_keyring_probed).run_in_background()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.url_edit.text() != "postgresql://":      # a long URL shows its start: the user and the host
            QTimer.singleShot(0, lambda: self.url_edit.setCursorPosition(0))

    def show_error(self, text: str) -> None:
        self.error_label.set_full_text(text)
        self.error_label.setVisible(bool(text))

    def _on_keyring_probed(self, status: tuple[bool, str]) -> None:
        usable, explanation = status
        if not usable:
            self.remember_box.setChecked(False)
            self.remember_box.setEnabled(False)
            self.remember_box.setText("Remember the password: no OS keyring is available here")
            self.remember_box.setToolTip(explanation)

    def try_connect(self) -> None:
        text = self.url_edit.text().strip()
        if not is_store_url(text):
            self.show_error("Not a PostgreSQL URL: it starts with postgresql://")
            return
        url, in_url = split_password(text)
        password = self.password_edit.text() or in_url
        if in_url is not None:                 # shown from now on without it; kept in the password field
            self.url_edit.setText(url)
            self.password_edit.setText(password or "")
        location = StoreURL(url, password=password or None)
        self.show_error("")
        self._set_busy(True)
        remember = self.remember_box.isEnabled() and self.remember_box.isChecked()
        self._cancelled = cancelled = threading.Event()
        self._task = NetOp(lambda: _login(location, remember, cancelled), parent=self) \
            .success(lambda warning: self._on_connected(location, warning)) \
            .failure(lambda exc: self._on_failed(exc, location)).run_in_background()

    def _set_busy(self, busy: bool) -> None:
        self.connect_button.setEnabled(not busy)
        self.connect_button.setText("Connecting…" if busy else "Connect")
        self.url_edit.setEnabled(not busy)
        self.password_edit.setEnabled(not busy)

    def _on_connected(self, location: StoreURL, warning: str) -> None:
        self._set_busy(False)
        self.location, self.warning = location, warning
        self.accept()

    def _on_failed(self, exc: BaseException, location: StoreURL) -> None:
        self._set_busy(False)
        self.show_error(error_line(exc, location))
        if isinstance(exc, LoginRefused):
            self.password_edit.selectAll()
            self.password_edit.setFocus()

    def reject(self) -> None:
        if self._task is not None:
            self._cancelled.set()               # a login that succeeds after Cancel remembers nothing
            self._task.cancel()                 # its answer no longer matters
        super().reject()
