"""Startup (issue 10) and a Qt-free install (issue 9): what `import monitor`, the CLI and the app load, and
when.  Nothing here is timed: benchmarks/startup.py measures; these check the laziness that makes it fast."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from tests.app_helpers import insert, make_record, temp_settings
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_record, temp_settings

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "openai")
STREAM = "team/app/openai_logs"


def run_python(code: str, *args: str, tmp_path: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OPENAI_MONITOR_CONFIG_DIR=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               **(extra_env or {}))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


# A prologue that reports, when the process ends, which heavy packages it had imported.
REPORT_AT_EXIT = (
    "import atexit, json, sys\n"
    f"atexit.register(lambda: print('LOADED ' + json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr))\n"
)


def loaded(result: subprocess.CompletedProcess) -> list[str]:
    return next(json.loads(line[7:]) for line in result.stderr.splitlines() if line.startswith("LOADED "))


@pytest.fixture
def small_store(tmp_path):
    db = tmp_path / "small.db"
    insert(db, [make_record(STREAM, i) for i in range(3)])
    return db


def test_import_monitor_loads_neither_qt_nor_the_openai_sdk(tmp_path):
    result = run_python(REPORT_AT_EXIT + "import monitor\nfrom monitor import init_monitor, Monitor, Record\n",
                        tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert loaded(result) == []


def test_the_seed_facade_still_imports_from_monitor(tmp_path):
    code = REPORT_AT_EXIT + (
        "from monitor import openai\nimport monitor\n"
        "assert openai is monitor.openai and openai.ChatCompletion.create and openai.message_from_stream\n")
    result = run_python(code, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert loaded(result) == ["openai"]              # the facade is where the SDK is needed


@pytest.mark.parametrize("entry", ["monitor.cli", "desktop.launch"])   # python -m monitor.cli; the console script
def test_cli_streams_loads_neither_qt_nor_the_openai_sdk(tmp_path, small_store, entry):
    code = REPORT_AT_EXIT + f"import runpy\nsys.argv[0] = 'openai-monitor'\nrunpy.run_module({entry!r}, run_name='__main__')\n"
    result = run_python(code, "streams", "--db", str(small_store), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert STREAM in result.stdout and "3 calls" in result.stdout
    assert loaded(result) == []


# Simulates an install without the `app` extra: a None entry in sys.modules is how Python marks a module
# as not importable (import raises ModuleNotFoundError, importlib.util.find_spec returns None).  This tests
# our message path; a real Qt-free venv is measured for the README, not rebuilt by the suite.
WITHOUT_APP_EXTRA = "import sys\nfor name in ('PySide6', 'pyqtgraph', 'superqt'): sys.modules[name] = None\n"


@pytest.mark.parametrize("argv", [[], ["--demo"]])
def test_without_the_app_extra_the_app_command_says_how_to_add_it(tmp_path, argv):
    code = WITHOUT_APP_EXTRA + "from desktop.launch import main\nsys.exit(main())\n"
    result = run_python(code, *argv, tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'openai-monitor[app]'" in lines[0], result.stderr
    assert result.stdout == ""


def test_without_the_app_extra_subcommands_still_work(tmp_path, small_store):
    code = WITHOUT_APP_EXTRA + "from desktop.launch import main\nsys.exit(main())\n"
    result = run_python(code, "stats", STREAM, "--json", "--db", str(small_store), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 3


def test_first_paint_comes_before_the_pages_and_the_sdk_are_loaded(tmp_path, small_store):
    """The benchmark's hook: the app prints its first paint and quits; by then no page module had to load."""
    code = "import sys\nfrom desktop.launch import main\nsys.exit(main())\n"
    result = run_python(code, "--db", str(small_store), tmp_path=tmp_path,
                        extra_env={"OPENAI_MONITOR_EXIT_AFTER_PAINT": "1", "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    report = json.loads(next(line for line in result.stdout.splitlines() if "first_paint" in line))
    assert report["loaded"] == [] and report["process_age_s"] > 0


# -- the window opens the store after it paints --------------------------------------------------------------
def test_the_window_shows_opening_then_builds_only_the_page_it_shows(qtbot, tmp_path, small_store):
    from desktop.app import AppSession

    session = AppSession(temp_settings(tmp_path), history_calls=0)
    try:
        window = session.open(small_store)
        assert window.stack.currentWidget() is window.opening_label and "Opening store" in window.opening_label.text()
        assert window.built_pages() == {}
        assert window.sidebar.pages.currentItem().text() == "Requests"      # the page to come is marked
        ready = []
        window.ready.connect(lambda: ready.append(window.current_page))
        qtbot.waitUntil(lambda: ready == ["requests"], timeout=10_000)
        qtbot.waitUntil(lambda: window.requests_page.model.rowCount() == 3, timeout=10_000)
        assert set(window.built_pages()) == {"requests"}
        window.show_page("boards")
        assert set(window.built_pages()) == {"requests", "boards"}
        assert window.open_board_file_action in window.file_menu.actions()
    finally:
        session.window.close()
        session.close()


def test_a_page_asked_for_before_it_is_shown_is_built_and_wired(qtbot, tmp_path, small_store):
    from desktop.app import AppSession

    session = AppSession(temp_settings(tmp_path), history_calls=0)
    try:
        window = session.open(small_store)
        qtbot.waitUntil(lambda: window.current_page == "requests", timeout=10_000)
        assert "playground" not in window.built_pages()
        window.file_menu.aboutToShow.emit()                 # the Boards page's file actions join the File menu
        assert "Open board file…" in [a.text() for a in window.file_menu.actions()]
        playground = window.page("playground")
        assert window.built_pages()["playground"] is playground and window.current_page == "requests"
    finally:
        session.window.close()
        session.close()


def test_a_store_that_cannot_be_opened_at_launch_is_one_message_and_exit_2(qtbot, tmp_path, monkeypatch):
    from desktop import app as desktop_app

    bad = tmp_path / "not-a-store.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    shown = []
    monkeypatch.setattr(desktop_app.QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    code = desktop_app.run_app(db=str(bad), settings=temp_settings(tmp_path))
    assert code == 2
    assert len(shown) == 1 and f"{bad} could not be opened as a store" in shown[0]
    assert bad.read_bytes() == b"this is not sqlite" * 100          # nothing changed
