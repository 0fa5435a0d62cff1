"""Where things live on disk: the store, the user's config folder, the package's resources."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "openai-monitor"
DB_ENV = "OPENAI_MONITOR_DB"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Settings and the user's price overrides (prices.json) live here. OPENAI_MONITOR_CONFIG_DIR overrides."""
    override = os.environ.get("OPENAI_MONITOR_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    """$OPENAI_MONITOR_DB, else <user data dir>/openai-monitor/monitor.db."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return user_data_dir() / "monitor.db"


def demo_db_path() -> Path:
    return user_data_dir() / "demo.db"


def resolve_db_path(db_path: str | os.PathLike | None) -> Path:
    return Path(db_path).expanduser() if db_path else default_db_path()


def resource_path(*parts: str) -> Path:
    """A file under resources/ — the folder beside monitor/ in a checkout and in site-packages alike."""
    return Path(__file__).resolve().parent.parent.joinpath("resources", *parts)
