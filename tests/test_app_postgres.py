"""The desktop app on a team store (postgresql://): calls and boards from other processes show up live, and
the URL's password never reaches the app's settings."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from types import SimpleNamespace

from PySide6.QtCore import QSettings

from desktop import formatting as fmt
from desktop.app import AppSession
from desktop.main_window import LAST_TEAM_URL_KEY, MainWindow
from monitor.boards.budgets import group_spend
from monitor.paths import StoreURL
from monitor.store import Store

try:
    from tests.pg_server import WRITER
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from pg_server import WRITER
try:
    from tests.app_helpers import make_context, temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import make_context, temp_settings

STREAM = "team/app"


def _env(url: str) -> dict:
    return {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()), "OPENAI_MONITOR_DB": url}


def test_window_on_a_team_store_shows_other_processes_calls_and_boards(qtbot, tmp_path, pg_url, sim, monkeypatch):
    # "Today" starts at a fixed midnight long before the calls: the count doesn't depend on the wall clock
    monkeypatch.setattr(fmt, "time", SimpleNamespace(time=lambda: datetime(2020, 1, 1, 12).timestamp()))
    ctx = make_context(tmp_path, store=pg_url)
    assert isinstance(ctx.db_path, StoreURL) and ctx.store_file is None
    window = MainWindow(ctx, open_store=True)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.ready, timeout=30000):
            window.show()
        assert window.status.store_label.full_text == f"Store: {pg_url}"

        subprocess.run([sys.executable, "-c", WRITER, sim.base_url, STREAM, "3"], env=_env(pg_url), check=True,
                       timeout=120)
        qtbot.waitUntil(lambda: window.sidebar.stream_count(STREAM) == 3, timeout=15000)
        qtbot.waitUntil(lambda: window.current_stream == STREAM, timeout=15000)
        qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 3, timeout=15000)

        board = subprocess.run([sys.executable, "-m", "monitor.cli", "board", "new", STREAM, "--name", "Team Ops",
                                "--db", pg_url], env=_env(pg_url), capture_output=True, text=True, timeout=120)
        assert board.returncode == 0, board.stderr
        subprocess.run([sys.executable, "-c", WRITER, sim.base_url, STREAM, "1"], env=_env(pg_url), check=True,
                       timeout=120)
        qtbot.waitUntil(lambda: window.sidebar.stream_count(STREAM) == 4, timeout=15000)
        qtbot.waitUntil(lambda: "Team Ops" in [window.sidebar.boards.item(i).text()
                                               for i in range(window.sidebar.boards.count())], timeout=15000)
        assert pg_url in window.about_html("ok")
        qtbot.waitUntil(lambda: window.status.today_label.text().startswith("Today: 4 calls"), timeout=15000)
        assert group_spend(Store(pg_url), STREAM, None, None, 0, 4e9).calls == 4      # what budget alerts sum
    finally:
        window.close()
        ctx.shutdown()


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"      # the test cluster trusts postgres: any password works


def test_the_urls_password_never_reaches_the_settings(qtbot, tmp_path, pg_url, monkeypatch):
    secret = "s3cret-Pa55"
    settings = temp_settings(tmp_path)
    session = AppSession(settings)
    window = session.open(_with_password(pg_url, secret))          # as from --db or $OPENAI_MONITOR_DB
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._started, timeout=30000)
        assert secret not in window.status.store_label.full_text and secret not in window.about_html("ok")

        second = _with_password(pg_url, secret + "2") + "?application_name=app"
        assert window.open_team_store(second)          # File ▸ Open team store…, after its dialog
        qtbot.waitUntil(lambda: session.window is not window, timeout=30000)
        qtbot.addWidget(session.window)
        qtbot.waitUntil(lambda: session.window._started, timeout=30000)
        assert session.ctx.db_path.dsn == second
        assert not session.window.open_team_store("not a url")
    finally:
        session.window.close()
        session.close()
    settings.sync()
    remembered = QSettings(str(tmp_path / "app.ini"), QSettings.IniFormat).value(LAST_TEAM_URL_KEY)
    assert remembered == pg_url + "?application_name=app"            # the URL, without its password
    text = (tmp_path / "app.ini").read_text()
    assert secret not in text and "***" not in text


def test_the_app_command_opens_a_url_from_db_and_from_the_environment(tmp_path, pg_url):
    """`openai-monitor --db postgresql://…` and $OPENAI_MONITOR_DB: the app paints its first page on the team
    store and exits 0 (OPENAI_MONITOR_EXIT_AFTER_PAINT), making no SQLite file named after the URL."""
    code = "import sys\nfrom desktop.launch import main\nsys.exit(main())\n"
    base = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()), "QT_QPA_PLATFORM": "offscreen",
            "OPENAI_MONITOR_EXIT_AFTER_PAINT": "1", "XDG_DATA_HOME": str(tmp_path / "data")}
    for args, env in ((["--db", pg_url], base), ([], {**base, "OPENAI_MONITOR_DB": pg_url})):
        result = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tmp_path, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "first_paint" in result.stdout
    assert not any(p.name.startswith("postgres") for p in tmp_path.rglob("*"))
    assert not (tmp_path / "data").exists()           # no default SQLite store was made instead
