"""Where things live on disk: the store, the user's config folder, the package's resources."""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import platformdirs

APP_NAME = "openai-monitor"
DB_ENV = "OPENAI_MONITOR_DB"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Settings and the user's price overrides (prices.json) live here. OPENAI_MONITOR_CONFIG_DIR overrides."""
    override = os.environ.get("OPENAI_MONITOR_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_db_path() -> "Path | StoreURL":
    """$OPENAI_MONITOR_DB, else <user data dir>/openai-monitor/monitor.db."""
    env = os.environ.get(DB_ENV)
    if env:
        return store_location(env)
    return user_data_dir() / "monitor.db"


def demo_db_path() -> Path:
    return user_data_dir() / "demo.db"


def resolve_db_path(db_path: str | os.PathLike | None) -> "Path | StoreURL":
    """A SQLite file's Path, or a StoreURL for a postgresql:// store."""
    return store_location(db_path) if db_path else default_db_path()


# -- PostgreSQL stores ----------------------------------------------------------------------------------------
_URL_SCHEMES = ("postgresql://", "postgres://")


def is_store_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(_URL_SCHEMES)


class StoreURL(str):
    """A postgresql:// store.  Its text is the URL with the password replaced by ***, so printing it anywhere
    (messages, settings, exports) can't leak the password; `.dsn` is the URL libpq connects with."""

    dsn: str
    password: str | None      # given apart from the URL (the app's dialog, the keyring): never in any text

    def __new__(cls, url: str, password: str | None = None) -> "StoreURL":
        if isinstance(url, StoreURL):
            if password is None:
                return url
            url = url.dsn                 # the same store, with this password
        self = super().__new__(cls, _scrub_one(str(url)))    # (the whole text is the URL: a space can't end it)
        self.dsn = str(url)
        self.password = password
        return self


def store_location(value: str | os.PathLike) -> "Path | StoreURL":
    if isinstance(value, StoreURL):
        return value
    if is_store_url(value):
        return StoreURL(str(value))
    return Path(value).expanduser()


_URL_IN_TEXT = re.compile(r"postgres(?:ql)?://[^\s'\"]+", re.I)
_PASSWORD_PARAM = re.compile(r"(password=)[^&\s]*", re.I)


def scrub_url(text: str) -> str:
    """Every PostgreSQL URL in `text` with its password shown as ***."""
    return _URL_IN_TEXT.sub(lambda m: _scrub_one(m.group(0)), text)


def _password_span(url: str) -> tuple[int, int] | None:
    """Where a postgresql:// URL holds its password, as libpq reads it: the user part ends at the first '@'
    before any '/' ('#' and '?' are password characters to libpq, where urllib would end the host), and the
    password starts after its first ':'.  The span runs to the last '@' before that '/', so a password that
    holds an unescaped '@' is covered whole."""
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    slash = url.find("/", start)
    end = len(url) if slash < 0 else slash
    first_at, last_at = url.find("@", start, end), url.rfind("@", start, end)
    colon = url.find(":", start, first_at) if first_at >= 0 else -1
    return (colon + 1, last_at) if colon >= 0 else None


def url_password(url: str, *, raw: bool = False) -> str | None:
    """The password written in a URL's user part (percent-escapes decoded unless `raw`), or None."""
    span = _password_span(url)
    if not span:
        return None
    return url[span[0]:span[1]] if raw else unquote(url[span[0]:span[1]])


def _scrub_one(url: str) -> str:
    span = _password_span(url)
    if span:
        url = f"{url[:span[0]]}***{url[span[1]:]}"
    return _PASSWORD_PARAM.sub(r"\1***", url)


def url_without_password(url: str) -> str:
    """The URL with its password left out (not masked): what may be remembered in settings; libpq then
    takes the password from PGPASSWORD or ~/.pgpass."""
    span = _password_span(url)
    if span:
        url = url[:span[0] - 1] + url[span[1]:]             # (the ':' before it goes too)
    base, sep, query = url.partition("?")
    if not sep:
        return url
    query = "&".join(p for p in query.split("&") if p and not p.lower().startswith("password="))
    return f"{base}?{query}" if query else base


def url_to_remember(url: str) -> str:
    """url_without_password, also without `sslpassword` (the client key's passphrase, which libpq reads from a
    URL too): what the app keeps in its settings."""
    base, sep, query = url_without_password(url).partition("?")
    query = "&".join(p for p in query.split("&") if p and not p.lower().startswith("sslpassword="))
    return f"{base}?{query}" if query else base


def resource_path(*parts: str) -> Path:
    """A file under resources/ — the folder beside monitor/ in a checkout and in site-packages alike."""
    return Path(__file__).resolve().parent.parent.joinpath("resources", *parts)
