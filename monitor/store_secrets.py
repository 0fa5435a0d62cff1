"""A team store's PostgreSQL password in the OS keyring (never in settings, logs, exports or messages).

One entry per login: service "openai-monitor-postgres", username "user@host:port/dbname" (the URL without its
password, scheme and options), so the app, the CLI and the library find the same one.

The library asks the keyring only after libpq found no password of its own (not in the URL, $PGPASSWORD nor
~/.pgpass: "no password supplied"), so those keep precedence, and a server without a keyring pays nothing
until a login would fail anyway.  Even then the lookup is guarded: a backend that can never hold a secret is
skipped without I/O, and a keyring that does not answer (a locked one may wait on an unlock prompt) is given
up after LOOKUP_TIMEOUT_S.  Set OPENAI_MONITOR_PG_KEYRING=0 to never ask it.

keyring (and the profiles module's availability checks) load only when a password is looked up or kept.
"""
from __future__ import annotations

import os
import threading
from urllib.parse import unquote, urlsplit

from .store import StoreError

SERVICE = "openai-monitor-postgres"
LOOKUP_TIMEOUT_S = 3.0
DISABLE_ENV = "OPENAI_MONITOR_PG_KEYRING"


class LoginRefused(StoreError):
    """PostgreSQL refused the login; `missing` = it wanted a password and none was found anywhere."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def no_password_supplied(exc: BaseException) -> bool:
    """libpq's words when it found no password to send (psycopg raises them as OperationalError)."""
    return "no password supplied" in str(exc).lower()


def keyring_username(url: str) -> str:
    """The keyring entry's name for a store URL: user@host:port/dbname (libpq's defaults filled in)."""
    parts = urlsplit(str(getattr(url, "dsn", url)))
    user = unquote(parts.username or "") or os.environ.get("PGUSER") or _login_name()
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    host = parts.hostname or "localhost"
    dbname = unquote(parts.path.lstrip("/")) or user
    return f"{user}@{host}:{port}/{dbname}"


def _login_name() -> str:
    try:
        import getpass
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name: libpq would fail the same way
        return ""


# -- the keyring ---------------------------------------------------------------------------------------------
def get_password(url: str) -> str | None:
    """The remembered password, or None.  KeyringUnavailable (monitor.profiles) when no keyring is usable."""
    from .profiles import KeyringUnavailable, _usable_backend, keyring_backend_label

    backend = _usable_backend()
    try:
        return backend.get_password(SERVICE, keyring_username(url))
    except Exception as exc:  # noqa: BLE001 - keyring/secretstorage/D-Bus errors differ per platform
        raise KeyringUnavailable(f"Could not read the store's password from {keyring_backend_label(backend)}: "
                                 f"{type(exc).__name__}") from None


def set_password(url: str, password: str) -> None:
    """Remember the password for this login.  KeyringUnavailable (its message never holds the password)."""
    from .profiles import KeyringUnavailable, _usable_backend, keyring_backend_label

    backend = _usable_backend()
    try:
        backend.set_password(SERVICE, keyring_username(url), password)
    except Exception as exc:  # noqa: BLE001 - not chained: a backend's error could echo what it was given
        raise KeyringUnavailable(f"Could not keep the store's password in {keyring_backend_label(backend)}: "
                                 f"{type(exc).__name__}") from None


def delete_password(url: str) -> None:
    """Forget the password of this login (nothing to do when none is kept or there is no keyring)."""
    import keyring
    import keyring.errors

    from .profiles import KeyringUnavailable, _no_backend_reason, keyring_backend_label

    backend = keyring.get_keyring()
    if _no_backend_reason(backend):
        return
    try:
        backend.delete_password(SERVICE, keyring_username(url))
    except keyring.errors.PasswordDeleteError:
        pass
    except Exception as exc:  # noqa: BLE001
        raise KeyringUnavailable(f"Could not forget the store's password in {keyring_backend_label(backend)}: "
                                 f"{type(exc).__name__}") from None


def lookup_password(url: str, timeout: float = LOOKUP_TIMEOUT_S) -> str | None:
    """(connecting, after libpq found no password) The keyring's password for this login, or None — without
    raising, and within `timeout` whatever the keyring does."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("0", "no", "false", "off"):
        return None
    try:
        import keyring

        from .profiles import _no_backend_reason
        if _no_backend_reason(keyring.get_keyring()):
            return None                           # no backend: nothing to ask, no I/O
    except Exception:  # noqa: BLE001 - a broken keyring install is no keyring
        return None
    box: list[str | None] = []

    def ask() -> None:
        try:
            box.append(get_password(url))
        except Exception:  # noqa: BLE001 - unreachable or locked keyring: as if it held nothing
            box.append(None)

    thread = threading.Thread(target=ask, name="openai-monitor-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    return box[0] if box else None
