"""Entry point of the `openai-monitor` command: subcommands run headless; no subcommand opens the app."""
from __future__ import annotations

import sys

from monitor.cli import main as cli_main


def run_app(db=None, stream=None, demo=False) -> int:
    from desktop.app import run_app as _run   # Qt is imported only when the app is wanted

    return _run(db=db, stream=stream, demo=demo)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, run_app=run_app)


if __name__ == "__main__":
    sys.exit(main())
