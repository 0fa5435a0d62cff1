"""Settings: connection profiles. Endpoints go to profiles.json, keys only to the OS keyring.

The stored key is never read into a widget: the key field is write-only and its placeholder
only says whether a key exists and where it lives.

Every keyring call (status probe, has_key, save, rename, delete) runs on a worker thread: with the
Secret Service backend each is a D-Bus round trip, and a locked keyring waits for its unlock
prompt, so the GUI thread never waits for one. profiles.json is a small local file and is read
on the GUI thread.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QMessageBox, QPushButton, QVBoxLayout, QWidget)

from monitor.profiles import (DEFAULT_MODEL, ENV_PROFILE_NAME, ConnectionTestFailed, KeyringUnavailable, Profile,
                              ProfileStore, keyring_backend_label, keyring_status, scrub,
                              test_connection)

from .. import tasks

KIND_LABELS = {"openai": "OpenAI", "azure": "Azure OpenAI", "compatible": "OpenAI-compatible"}
EXTRA_KIND_LABELS = {"demo": "Built-in simulator", "env": "Environment"}   # shown, never chosen
URL_HINTS = {"openai": "https://api.openai.com/v1 (default)", "env": "https://api.openai.com/v1 (default)",
             "azure": "https://<resource>.openai.azure.com",
             "compatible": "http://localhost:11434/v1"}
BANNER_STYLE = ("QLabel { background: #fff4ce; color: #5c4400; border: 1px solid #e0b400;"
                " border-radius: 4px; padding: 8px; }")
ERROR_STYLE = "color: #b00020;"
OK_STYLE = "color: #1b6e20;"
MAX_LISTED_MODELS = 12
READ_ONLY_ROLE = Qt.UserRole + 1
CHECKING = "checking…"
STORE_ERRORS = (KeyringUnavailable, ValueError, KeyError, OSError)


# --- keyring work: these run on a worker thread, never on the GUI thread ----------------------
def _probe_keyring() -> tuple[bool, str, str]:
    """(usable, banner text, short name of where keys go)."""
    ok, text = keyring_status()
    return ok, text, keyring_backend_label()


def _check_key(store: ProfileStore, name: str) -> bool:
    try:
        return store.has_key(name)
    except Exception:        # has_key already maps keyring failures to False; so does this
        return False


def _error_text(exc: BaseException, *secrets: str | None) -> str:
    if isinstance(exc, KeyError):
        message = str(exc.args[0]) if exc.args else "not found"
    elif isinstance(exc, STORE_ERRORS):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    return scrub(message, *secrets)


def _save_profile(store: ProfileStore, old: str | None, profile: Profile,
                  api_key: str | None) -> tuple[str, str | None, bool, bool]:
    """Rename (moving the key), then save. Returns (name, error text or None, renamed, key stored).
    Failures come back as scrubbed text, so no exception that might carry the key leaves here."""
    renamed = False
    try:
        if old and profile.name != old:
            store.rename(old, profile.name)
            renamed = True
        store.save(profile, api_key=api_key)
    except Exception as exc:   # KeyringUnavailable, ValueError, KeyError, OSError, or a surprise
        return profile.name, _error_text(exc, api_key), renamed, False
    return profile.name, None, renamed, store.has_key(profile.name)


def lock_icon(size: int = 16) -> QIcon:
    """A padlock drawn by hand: common UI fonts (DejaVu, Noto Sans) have no lock glyph."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.Antialiasing)
    color = QColor("#7a5c00")
    p.setPen(QPen(color, size / 8))
    p.drawArc(QRectF(size * .28, size * .08, size * .44, size * .5), 0, 180 * 16)   # shackle
    p.drawLine(int(size * .28), int(size * .33), int(size * .28), int(size * .45))
    p.drawLine(int(size * .72), int(size * .33), int(size * .72), int(size * .45))
    p.setPen(Qt.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(QRectF(size * .15, size * .45, size * .7, size * .5), 2, 2)      # body
    p.end()
    return QIcon(pixmap)


class SettingsDialog(QDialog):
    profilesChanged = Signal()

    def __init__(self, profile_store: ProfileStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings — Connection profiles")
        self.store = profile_store
        self._current: str | None = None    # saved profile shown in the form; None = a new one
        self._shown = Profile(name="")      # the profile the form was last filled from
        self._worker = None
        self._testing: str | None = None    # profile whose connection test is running
        # Keyring answers arrive from workers; None = not answered yet.
        self._keyring_ok: bool | None = None
        self._keyring_label: str | None = None
        self._has_key: bool | None = None   # for self._shown
        self._write_worker = None           # save / rename / delete in progress
        self._changed = False               # the running write changed profiles -> profilesChanged
        self._close_when_done = False
        self._build()
        tasks.NetOp(_probe_keyring, parent=self, success=self._on_keyring_status_returned) \
            .failure(self._on_keyring_status_errored).run_in_background()
        self._reload()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = QLabel(wordWrap=True, objectName="keyringBanner")   # shown once the probe says so
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner.hide()
        self.file_error = QLabel(wordWrap=True, objectName="profilesFileError")
        self.file_error.setStyleSheet(BANNER_STYLE)
        self.file_error.hide()

        self.profile_list = QListWidget()
        self.profile_list.setMinimumWidth(200)
        self.profile_list.currentItemChanged.connect(self._on_profile_list_current_changed)
        self.new_button = QPushButton("New")
        self.delete_button = QPushButton("Delete")
        self.new_button.clicked.connect(self._on_new_clicked)
        self.delete_button.clicked.connect(self._on_delete_clicked)
        left = QVBoxLayout()
        left.addWidget(self.profile_list)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        left.addLayout(row)

        self.name_edit = QLineEdit()
        self.kind_combo = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.base_url_edit = QLineEdit()
        self.organization_edit = QLineEdit(placeholderText="optional")
        self.project_edit = QLineEdit(placeholderText="optional")
        self.api_version_edit = QLineEdit(placeholderText="e.g. 2024-10-21")
        self.model_edit = QLineEdit()
        self.key_edit = QLineEdit(echoMode=QLineEdit.Password)
        self.key_edit.setAttribute(Qt.WA_InputMethodEnabled, False)   # no IME history of keys
        self.form = QFormLayout()
        self.form.addRow("Name", self.name_edit)
        self.form.addRow("Kind", self.kind_combo)
        self.form.addRow("Base URL", self.base_url_edit)
        self.form.addRow("Organization", self.organization_edit)
        self.form.addRow("Project", self.project_edit)
        self.form.addRow("API version", self.api_version_edit)
        self.form.addRow("Default model", self.model_edit)
        self.form.addRow("API key", self.key_edit)
        self.note = QLabel(wordWrap=True)
        self.note.setStyleSheet("font-style: italic;")

        self.save_button = QPushButton("Save", default=True)
        self.test_button = QPushButton("Test connection")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.test_button.clicked.connect(self._on_test_clicked)
        self.status = QLabel(wordWrap=True, objectName="status")
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.status.setMinimumHeight(40)
        self.status.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)

        right = QVBoxLayout()
        right.addLayout(self.form)
        right.addWidget(self.note)
        right.addLayout(buttons)
        right.addWidget(self.status)
        right.addStretch(1)
        box = QGroupBox("Profile")
        box.setLayout(right)

        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(box, 2)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(self.banner)
        outer.addWidget(self.file_error)
        outer.addLayout(body)
        outer.addWidget(close)
        self.resize(760, 480)

    # --- keyring status -------------------------------------------------------------------------
    def _on_keyring_status_returned(self, answer: tuple[bool, str, str]) -> None:
        self._keyring_ok, text, self._keyring_label = answer
        self.banner.setText(text)
        self.banner.setVisible(not self._keyring_ok)
        self._render_key_field()

    def _on_keyring_status_errored(self, exc: Exception) -> None:
        self._on_keyring_status_returned(
            (False, f"Could not ask the OS keyring: {type(exc).__name__}: {scrub(str(exc))}", "the keyring"))

    # --- list -----------------------------------------------------------------------------------
    def _reload(self, select: str | None = None) -> None:
        profiles = self.store.list()
        self.file_error.setText(self.store.load_error or "")
        self.file_error.setVisible(bool(self.store.load_error))
        self.profile_list.blockSignals(True)
        self.profile_list.clear()
        for p in profiles:
            item = QListWidgetItem(p.name)
            item.setData(Qt.UserRole, p.name)
            item.setData(READ_ONLY_ROLE, p.read_only)
            if p.read_only:
                item.setIcon(lock_icon())
                item.setToolTip("Read-only: comes from OPENAI_API_KEY / OPENAI_BASE_URL")
            self.profile_list.addItem(item)
        self.profile_list.blockSignals(False)
        names = [p.name for p in profiles]
        if not names:
            self._on_new_clicked()
            return
        # The list was just cleared (no current row), so this always fires currentItemChanged -> _show.
        self.profile_list.setCurrentRow(names.index(select) if select in names else 0)

    def _on_profile_list_current_changed(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            try:
                self._show(self.store.get(item.data(Qt.UserRole)))
            except KeyError:      # changed on disk meanwhile
                self._reload()

    # --- form -----------------------------------------------------------------------------------
    def _set_kind(self, kind: str) -> None:
        while self.kind_combo.count() > len(KIND_LABELS):
            self.kind_combo.removeItem(self.kind_combo.count() - 1)
        index = self.kind_combo.findData(kind)
        if index < 0:             # demo/env: displayed but not offered for new profiles
            self.kind_combo.addItem(EXTRA_KIND_LABELS.get(kind, kind), kind)
            index = self.kind_combo.count() - 1
        self.kind_combo.setCurrentIndex(index)
        self._on_kind_changed(index)

    def _show(self, p: Profile) -> None:
        self._current = p.name
        self._shown = p
        self.name_edit.setText(p.name)
        self._set_kind(p.kind)
        self.base_url_edit.setText(p.base_url or "")
        self.organization_edit.setText(p.organization or "")
        self.project_edit.setText(p.project or "")
        self.api_version_edit.setText(p.api_version or "")
        self.model_edit.setText(p.default_model)
        self.key_edit.clear()
        editable = not p.read_only
        for w in (self.name_edit, self.kind_combo, self.base_url_edit, self.organization_edit,
                  self.project_edit, self.api_version_edit, self.model_edit):
            w.setEnabled(editable)
        self._update_buttons()
        self.note.setText("Read-only: this profile comes from the environment. Change OPENAI_API_KEY "
                          "and OPENAI_BASE_URL to edit it." if p.read_only else "")
        self.note.setVisible(p.read_only)
        self._update_key_field(p)
        self.status.clear()

    def _update_buttons(self) -> None:
        writing = self._write_worker is not None
        editable = not self._shown.read_only and not writing
        self.save_button.setEnabled(editable)
        self.delete_button.setEnabled(editable and bool(self._current))
        self.test_button.setEnabled(self._worker is None and not writing)
        self.new_button.setEnabled(not writing)
        self.profile_list.setEnabled(not writing)

    def _update_key_field(self, p: Profile) -> None:
        """Show `p`'s key state; asks the keyring on a worker whether a key is stored."""
        self._shown = p
        self._has_key = None
        if p.kind in ("env", "demo") or not p.name:
            self._has_key = False     # no keyring involved, or a new profile: nothing stored yet
        else:
            # latest wins: an answer for a profile no longer shown is dropped
            store, name = self.store, p.name
            tasks.NetOp(lambda: _check_key(store, name), parent=self,
                        success=self._on_check_key_returned).latest("has-key").run_in_background()
        self._render_key_field()

    def _on_check_key_returned(self, has: bool) -> None:
        self._has_key = has
        self._render_key_field()

    def _render_key_field(self) -> None:
        p = self._shown
        if p.kind == "env":
            self.key_edit.setEnabled(False)
            self.key_edit.setPlaceholderText("•••• from OPENAI_API_KEY")
        elif p.kind == "demo":
            self.key_edit.setEnabled(False)
            self.key_edit.setPlaceholderText("not needed for the built-in simulator")
        elif self._keyring_ok is False:
            self.key_edit.clear()         # nowhere safe to put a key
            self.key_edit.setEnabled(False)
            self.key_edit.setPlaceholderText("keyring unavailable — see the note above")
        else:
            self.key_edit.setEnabled(True)
            where = self._keyring_label
            if where is None or self._has_key is None:
                self.key_edit.setPlaceholderText(CHECKING)
            else:
                self.key_edit.setPlaceholderText(f"•••• stored in {where}" if self._has_key
                                                 else f"paste a key to store it in {where}")

    def _on_kind_changed(self, _index: int) -> None:
        kind = self.kind_combo.currentData()
        self.form.setRowVisible(self.api_version_edit, kind == "azure")
        self.base_url_edit.setPlaceholderText(URL_HINTS.get(kind, ""))

    def _form_profile(self) -> Profile:
        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None
        kind = self.kind_combo.currentData()
        return Profile(name=self.name_edit.text().strip(), base_url=text(self.base_url_edit),
                       organization=text(self.organization_edit), project=text(self.project_edit),
                       default_model=text(self.model_edit) or DEFAULT_MODEL, kind=kind,
                       api_version=text(self.api_version_edit) if kind == "azure" else None)

    def _say(self, text: str, style: str = "") -> None:
        self.status.setStyleSheet(style)
        self.status.setText(text)

    # --- actions --------------------------------------------------------------------------------
    def _on_new_clicked(self) -> None:
        self.profile_list.blockSignals(True)
        self.profile_list.setCurrentRow(-1)
        self.profile_list.blockSignals(False)
        self._show(Profile(name=""))
        self._current = None
        self._update_buttons()
        self.name_edit.setFocus()

    # Save / rename / delete touch the keyring: they run on a worker, one at a time, with the
    # buttons and the list disabled; profilesChanged follows once the worker has finished.
    def _start_write(self, message: str, func, *args, returned) -> None:
        self._say(message)
        self._changed = False
        self._write_worker = tasks.NetOp(lambda: func(*args), parent=self, success=returned) \
            .failure(self._on_write_errored).finished(self._on_write_finished).run_in_background()
        self._update_buttons()

    def _on_write_errored(self, exc: Exception) -> None:
        self._say(_error_text(exc), ERROR_STYLE)

    def _on_write_finished(self) -> None:
        self._write_worker = None
        self._update_buttons()
        if self._changed:
            self._changed = False
            self.profilesChanged.emit()
        if self._close_when_done:
            super().reject()

    def reject(self) -> None:
        if self._write_worker is not None and not self._close_when_done:
            # Closing now would drop the result (and profilesChanged) of a write the keyring is
            # still doing; close when it is done. A second request closes anyway.
            self._close_when_done = True
            self._say("Waiting for the keyring… the dialog closes when it is done.")
            return
        super().reject()

    def _on_save_clicked(self) -> None:
        if self._write_worker is not None:
            return
        profile = self._form_profile()
        key = self.key_edit.text().strip() or None
        if not self._current and profile.name in (p.name for p in self.store.list()):
            self._say(scrub(f"A profile named {profile.name!r} already exists.", key), ERROR_STYLE)
            return
        self._start_write("Saving…", _save_profile, self.store, self._current, profile, key,
                          returned=self._on_save_returned)

    def _on_save_returned(self, answer: tuple[str, str | None, bool, bool]) -> None:
        name, error, renamed, stored = answer
        if renamed:
            self._current = name
            self._changed = True
        if error:
            self._say(error, ERROR_STYLE)
            return
        self._changed = True
        self.key_edit.clear()
        self._reload(select=name)
        self._say("Saved." + (" The key is in the keyring." if stored else ""), OK_STYLE)

    def _confirm_delete(self, name: str) -> bool:
        answer = QMessageBox.question(self, "Delete profile",
                                      f"Delete the profile {name!r} and its key in the keyring?")
        return answer == QMessageBox.Yes

    def _on_delete_clicked(self) -> None:
        name = self._current
        if (self._write_worker is not None or not name or name == ENV_PROFILE_NAME
                or not self._confirm_delete(name)):
            return
        self._start_write(f"Deleting {name}…", self.store.delete, name, returned=self._on_delete_returned)

    def _on_delete_returned(self, _result=None) -> None:
        self._changed = True
        self._reload()

    def _on_test_clicked(self) -> None:
        if not self._current:
            self._say("Save the profile first, then test it.", ERROR_STYLE)
            return
        self.test_button.setEnabled(False)
        self._testing = self._current
        self._say(f"Testing {self._current}…")
        # A network call: never on the GUI thread.
        store, name = self.store, self._current
        self._worker = tasks.NetOp(lambda: test_connection(store, name), parent=self,
                                   success=self._on_test_returned) \
            .failure(self._on_test_errored).finished(self._on_test_finished).run_in_background()

    def _on_test_returned(self, models: list[str]) -> None:
        if self._testing != self._current:
            return              # the user moved on to another profile meanwhile
        if not models:
            self._say("✓ Connected — the server lists no models.", OK_STYLE)
            return
        words = [f"✓ Connected — {len(models)} models:"] + [m + "," for m in models[:MAX_LISTED_MODELS]]
        words[-1] = words[-1].rstrip(",")
        if len(models) > MAX_LISTED_MODELS:
            words.append(f"… and {len(models) - MAX_LISTED_MODELS} more")
        self._say(self._wrap(words), OK_STYLE)

    def _wrap(self, words: list[str]) -> str:
        """Break lines only between words: QLabel's word wrap would split "gpt-4o-" / "mini"."""
        metrics, width = self.status.fontMetrics(), max(self.status.width(), 200)
        lines = [words[0]]
        for word in words[1:]:
            candidate = f"{lines[-1]} {word}"
            if metrics.horizontalAdvance(candidate) <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
        return "\n".join(lines)

    def _on_test_errored(self, exc: Exception) -> None:
        if self._testing != self._current:
            return
        text = str(exc) if isinstance(exc, ConnectionTestFailed) else f"{type(exc).__name__}: {scrub(str(exc))}"
        self._say(f"✗ {text}", ERROR_STYLE)

    def _on_test_finished(self) -> None:
        self._worker = self._testing = None
        self._update_buttons()
