"""The API key lives in the OS keyring only: after the app saves a profile, calls through it from the
Playground and an experiment, and exports a board, no file anywhere under the app's folders holds it —
not the store, its WAL, the settings, profiles.json, logs or the export."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from desktop import tasks
from desktop.context import AppContext
from desktop.playground import PlaygroundPage
from keyring_service import real_keyring, secret_service  # noqa: F401 - fixtures
from monitor.boards import export_board, export_csv, new_template_board
from monitor.profiles import Profile, ProfileStore
from monitor.store import Store

SECRET = "sk-proj-NeverOnDisk-3f9c1a7e5b2d4c6e8a0b"


def _files(root: Path):
    return [p for p in root.rglob("*") if p.is_file()]


def test_secret_is_absent_from_every_file_the_app_wrote(qtbot, tmp_path, sim, real_keyring, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path / "config"))
    profiles = ProfileStore(tmp_path / "config" / "profiles.json")
    profiles.save(Profile("work", kind="compatible", base_url=sim.base_url), api_key=SECRET)
    assert profiles.api_key("work") == SECRET                         # it is in the keyring
    settings = QSettings(str(tmp_path / "config" / "app.ini"), QSettings.Format.IniFormat)
    ctx = AppContext(tmp_path / "data" / "monitor.db", profiles=profiles, settings=settings)
    ctx.current_profile = "work"
    page = PlaygroundPage(ctx)
    qtbot.addWidget(page)
    page.set_stream("secret-test")
    page.messages.editors[-1].text.setPlainText("Say hello")
    with qtbot.waitSignal(page.callFinished, timeout=15_000) as blocker:
        page.run()
    assert blocker.args[0]["status"] == "success"
    # a refused call: the server's error text must not carry the key into the store either
    client = ctx.client("work", "secret-test")
    try:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                       extra_headers={"X-Sim-Status": "401"})
    except Exception:
        pass
    page.save_state()
    tasks.wait_for_network(15_000)
    ctx.monitor("secret-test").flush()
    store = Store(ctx.db_path)
    spec = new_template_board(store, "secret-test")
    export_board(store, spec.name, tmp_path / "exports" / "board.json")
    export_csv(store, spec, tmp_path / "exports" / "records.csv")
    settings.sync()
    ctx.shutdown()

    written = _files(tmp_path)
    assert any(p.name == "monitor.db" for p in written) and any(p.name == "app.ini" for p in written)
    assert any(p.name == "profiles.json" for p in written) and any(p.name == "board.json" for p in written)
    for path in written:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert SECRET[-12:].encode() not in data, path                # not even the tail OpenAI's 401 echoes
    assert len(store.records("secret-test")) == 2
