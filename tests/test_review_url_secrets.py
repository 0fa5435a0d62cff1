"""Review findings: a PostgreSQL password that libpq reads from a URL must never show in the URL's text (StoreURL
str, scrub_url: messages, the status bar), in what settings remember (url_without_password), nor be cut short
by the team-store dialog.  libpq ends the user:password part at the first '@' before any '/', so '#' and '?'
are ordinary password characters to it (urllib.parse would end the netloc there)."""
from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from desktop.team_store.dialog import split_password
from monitor.paths import StoreURL, scrub_url, url_without_password

URLS = ["postgresql://u:pa#ss-w0rd@db.example:5432/team",
        "postgresql://u:pa?ss-w0rd@db.example/team",
        "postgres://u:pa#s?s-w0rd@db.example/team?sslmode=disable",
        "postgresql://u:pass-w0rd@db.example/team"]


@pytest.mark.parametrize("url", URLS)
def test_libpq_reads_that_password(url):
    password = url.split("://", 1)[1].split(":", 1)[1].split("@db.example")[0]
    assert password.endswith("-w0rd") and conninfo_to_dict(url)["password"] == password


@pytest.mark.parametrize("url", URLS)
def test_the_password_never_shows_in_text(url):
    password = conninfo_to_dict(url)["password"]
    for text in (str(StoreURL(url)), scrub_url(f"could not open {url}: refused"), url_without_password(url)):
        assert password not in text
        assert "w0rd" not in text
    assert conninfo_to_dict(url_without_password(url)).get("password") is None
    assert conninfo_to_dict(url_without_password(url))["host"] == "db.example"
    assert str(StoreURL(url)).startswith("postgres")


@pytest.mark.parametrize("url", URLS)
def test_the_dialog_takes_the_whole_password(url):
    without, password = split_password(url)
    assert password == conninfo_to_dict(url)["password"]
    assert "w0rd" not in without and conninfo_to_dict(without)["dbname"] == "team"


def test_ordinary_urls_keep_their_shape():
    assert scrub_url("postgresql://u:secret-pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert scrub_url("postgresql://u@h/db?password=x1&sslmode=require") == "postgresql://u@h/db?password=***&sslmode=require"
    assert scrub_url("postgresql://u@h?application_name=a@b") == "postgresql://u@h?application_name=a@b"
    assert url_without_password("postgresql://u:secret-pw@h:5432/db?password=x&sslmode=require") == \
        "postgresql://u@h:5432/db?sslmode=require"
    assert url_without_password("postgresql://u@h/db") == "postgresql://u@h/db"


def test_the_url_the_app_remembers_has_no_key_passphrase(qtbot, tmp_path):
    """libpq reads `sslpassword` (the client key's passphrase) from a URL: the settings must not keep it."""
    from desktop.main_window import LAST_TEAM_URL_KEY, MainWindow
    from tests.app_helpers import make_context

    ctx = make_context(tmp_path)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    url = "postgresql://u@db.example/team?sslmode=verify-full&sslpassword=k3y-pass-phrase&sslkey=/k.pem"
    assert conninfo_to_dict(url)["sslpassword"] == "k3y-pass-phrase"
    window.openStoreRequested.connect(lambda _location: None)
    assert window.open_team_store(url)
    remembered = ctx.settings.value(LAST_TEAM_URL_KEY)
    assert "k3y-pass-phrase" not in remembered
    assert conninfo_to_dict(remembered) == {"user": "u", "host": "db.example", "dbname": "team",
                                            "sslmode": "verify-full", "sslkey": "/k.pem"}
    ctx.shutdown()


@pytest.mark.parametrize("url", ["postgresql://u:ab%zzcd-w0rd@127.0.0.1:1/db",      # an unescaped '%'
                                 "postgresql://u:pa ss-w0rd@127.0.0.1:1/db"])      # an unescaped space
def test_a_url_libpq_cannot_parse_is_refused_without_its_password(url):
    """libpq quotes the part it can't parse — here the password — in its error."""
    from monitor import pg
    from monitor.store import StoreError

    with pytest.raises(StoreError) as refused:
        pg.connect(url, timeout=1)
    assert "w0rd" not in str(refused.value) and "not a usable PostgreSQL URL" in str(refused.value)
    assert "w0rd" not in str(StoreURL(url))


@pytest.mark.parametrize("url", ["postgresql://u:S3cret-w0rd@127.0.0.1:1/db",
                                 "postgresql://u:S3#cret-w0rd@127.0.0.1:1/db"])
def test_the_listener_says_why_it_is_down_without_the_password(url):
    """CallsListener's reconnect line (the app's status bar tooltip) for a server that does not answer."""
    import threading

    from monitor.pg import CallsListener

    said: list[str] = []
    down = threading.Event()
    listener = CallsListener(url, lambda _streams: None,
                             lambda listening, reason: (said.append(reason or ""), down.set()))
    try:
        assert down.wait(30)
    finally:
        listener.close()
    assert said and "reconnecting in" in said[0]
    assert "w0rd" not in said[0] and "127.0.0.1" in said[0]
