"""monitor/ is the headless core: it must never import Qt, pyqtgraph, superqt or desktop/."""
from __future__ import annotations

import ast
import re
import pkgutil
import subprocess
import sys
from pathlib import Path

import monitor

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "desktop", "shiboken6")


def test_no_qt_import_statement_in_monitor():
    offenders = []
    for path in Path(monitor.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_monitor_module_loads_no_qt():
    modules = [m.name for m in pkgutil.walk_packages(monitor.__path__, "monitor.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# desktop/ only draws: the store's queries live in monitor/ (monitor/queries.py and friends).
SQL_MARKERS = (re.compile(r"\.execute\("), re.compile(r"\.conn\b"))
DESKTOP = Path(monitor.__file__).parent.parent / "desktop"


def test_desktop_holds_no_sql():
    offenders = []
    for path in sorted(DESKTOP.rglob("*.py")):
        name = path.relative_to(DESKTOP).as_posix()
        offenders += [f"{name}: {m.pattern}" for m in SQL_MARKERS if m.search(path.read_text())]
    assert offenders == []


# One background-task API (issue 12): work leaves the GUI thread through desktop/tasks.py only.
THREAD_STARTERS = {"Thread", "ThreadPoolExecutor", "ProcessPoolExecutor", "QThread", "QThreadPool",
                   "start_new_thread", "create_worker", "thread_worker", "new_worker_qthread"}
MAY_START_THREADS = {
    "tasks.py": "the API itself: the DB lanes' threads and the network lane's pool",
    "demo.py": "the demo's traffic generator stands in for another app logging calls: a loop that runs until "
               "the app quits and hands nothing back to the GUI (on the network lane it would hold a pool "
               "thread for the whole session)",
}


def _thread_starters(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [a.name for a in node.names if a.name in THREAD_STARTERS]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in THREAD_STARTERS:
                found.append(name)
    return found


def test_only_tasks_py_starts_threads_in_desktop():
    offenders = []
    for path in sorted(DESKTOP.rglob("*.py")):
        name = path.relative_to(DESKTOP).as_posix()
        if name not in MAY_START_THREADS:
            offenders += [f"{name}: {what}" for what in _thread_starters(ast.parse(path.read_text()))]
    assert offenders == []


def test_the_thread_check_sees_each_way_of_starting_one():
    code = ("import threading\nfrom superqt.utils import thread_worker, create_worker\n"
            "from concurrent.futures import ThreadPoolExecutor\nfrom PySide6.QtCore import QThread\n"
            "threading.Thread(target=print).start()\nQThread()\nThreadPoolExecutor(2)\n")
    assert sorted(_thread_starters(ast.parse(code))) == sorted(
        ["thread_worker", "create_worker", "ThreadPoolExecutor", "QThread", "Thread", "QThread", "ThreadPoolExecutor"])
