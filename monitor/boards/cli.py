"""`openai-monitor board list | new | export | import` (registered by monitor.cli)."""
from __future__ import annotations

import argparse
import datetime as _dt
import sys


def add_board_parser(sub, add_db) -> None:
    board = sub.add_parser("board", help="boards: list, new (from the OpenAI Monitor template), export, import")
    bsub = board.add_subparsers(dest="board_command", metavar="ACTION", required=True)

    p = bsub.add_parser("list", help="saved boards with their streams")
    add_db(p)
    p.set_defaults(handler=_list)

    p = bsub.add_parser("new", help="a board from the OpenAI Monitor template over STREAM")
    p.add_argument("stream")
    p.add_argument("--name", help="board name (default: 'OpenAI Monitor Board · STREAM')")
    add_db(p)
    p.set_defaults(handler=_new)

    p = bsub.add_parser("export", help="board NAME as a board file (.json), a web page report (.html) or its "
                                      "records (.csv), chosen by FILE's extension")
    p.add_argument("name")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="FILE.json: board file; FILE.html: self-contained report; FILE.csv: records; "
                        "a device such as /dev/stdout is written through")
    p.add_argument("--format", choices=EXPORT_FORMATS, help="override the format chosen by the extension")
    p.add_argument("--no-content", action="store_true", help="leave out prompt and completion text")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists (never the store itself)")
    add_db(p)
    p.set_defaults(handler=_export)

    p = bsub.add_parser("import", help="import a board file as a new board over an imported copy of its stream")
    p.add_argument("file")
    add_db(p)
    p.set_defaults(handler=_import)


EXPORT_FORMATS = ("json", "html", "csv")


def export_format(path: str) -> str:
    """'html' for .html/.htm, 'csv' for .csv, else 'json' (a board file)."""
    suffix = path.lower().rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
    return {"html": "html", "htm": "html", "csv": "csv"}.get(suffix, "json")


def _fmt_time(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _list(args: argparse.Namespace) -> int:
    from ..cli import open_store
    from .repository import list_boards

    store = open_store(args.db)
    boards = list_boards(store)
    if not boards:
        print(f"no boards in {store.path} (create one with: openai-monitor board new STREAM)")
        return 0
    width = max(len(b.name) for b in boards)
    for b in boards:
        print(f"{b.name:<{width}}  stream {b.stream!r}  updated {_fmt_time(b.updated)}")
    return 0


def _new(args: argparse.Namespace) -> int:
    from ..cli import CliError, open_store
    from .repository import BoardError, new_template_board

    if args.name is not None and not args.name.strip():
        raise CliError("--name can't be empty (leave it out for the default name)")
    store = open_store(args.db)
    if store.stream_id(args.stream, create=False) is None:
        raise CliError(f"no stream named {args.stream!r} in {store.path} (see: openai-monitor streams)")
    try:
        spec = new_template_board(store, args.stream, args.name)
    except BoardError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:          # pydantic: a name that isn't valid
        raise CliError(f"invalid board name {args.name!r}: {_one_line(exc)}") from None
    print(f"created board {spec.name!r} over stream {spec.stream!r} ({len(spec.panels)} panels)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..cli import CliError, open_store
    from ..files import OutputPathError, check_output_path
    from .export import export_board, export_csv
    from .html_report import export_html
    from .repository import BoardError, get_board

    store = open_store(args.db)
    fmt = args.format or export_format(args.output)
    content = not args.no_content
    try:
        through = check_output_path(args.output, protect=store.path, force=args.force)
        if fmt == "html":
            n = export_html(store, args.name, args.output, include_content=content, force=args.force)
        elif fmt == "csv":
            n = export_csv(store, get_board(store, args.name), args.output, include_content=content, force=args.force)
        else:
            n = export_board(store, args.name, args.output, include_content=content, force=args.force)
    except (BoardError, OutputPathError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"can't write {args.output}: {exc.strerror or exc}") from None
    what = "numbers only, no prompt or completion text" if args.no_content else "with prompts and completions"
    kind = {"json": "board", "html": "report of board", "csv": "records of board"}[fmt]
    # Written through to a device (e.g. /dev/stdout): the confirmation must not mix into the data.
    print(f"exported {kind} {args.name!r} with {n:,} records ({what}) to {args.output}",
          file=sys.stderr if through else sys.stdout)
    return 0


def _import(args: argparse.Namespace) -> int:
    from ..cli import CliError
    from ..paths import resolve_db_path
    from ..store import Store
    from .export import BoardFileError, import_board

    store = Store(resolve_db_path(args.db))       # a teammate's fresh machine: create it (StoreError: cli.main)
    try:
        board, stream = import_board(store, args.file)
    except BoardFileError as exc:
        raise CliError(str(exc)) from None
    print(f"imported board {board!r} over stream {stream!r} into {store.path}")
    return 0


def _one_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from .repository import first_error
        return first_error(exc)
    return str(exc).splitlines()[0]
