"""Entry point of the `openai-monitor` command: subcommands run headless; no subcommand opens the app.

The library and CLI install without Qt (`pip install openai-monitor`); the app's packages come with the
`app` extra, and without them the command says in one line how to add them."""
from __future__ import annotations

import importlib.util
import sys

from monitor.cli import main as cli_main

APP_PACKAGES = ("PySide6", "pyqtgraph")      # what the `app` extra installs
APP_INSTALL = "pip install 'openai-monitor[app]'"


def missing_app_packages() -> list[str]:
    """The app's packages that cannot be imported (looked up, not imported: that costs nothing)."""
    return [name for name in APP_PACKAGES if importlib.util.find_spec(name) is None]


def run_app(db=None, stream=None, demo=False) -> int:
    missing = missing_app_packages()
    if missing:
        print(f"openai-monitor: the desktop app is not installed (no {', '.join(missing)}); add it with: "
              f"{APP_INSTALL}", file=sys.stderr)
        return 2
    from desktop.app import run_app as _run   # Qt is imported only when the app is wanted

    return _run(db=db, stream=stream, demo=demo)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, run_app=run_app)


if __name__ == "__main__":
    sys.exit(main())
