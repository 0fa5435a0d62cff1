"""The `openai-monitor` command: the desktop app, the simulator, and store/board queries."""
from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys

from .paths import StoreURL, resolve_db_path
from .store import StoreError


def _add_db(parser: argparse.ArgumentParser, *, command: bool = True) -> None:
    # A command's own --db is SUPPRESSed when absent: otherwise argparse lets the command's default (None)
    # overwrite a --db given before the command, and `openai-monitor --db URL stats S` read the default store.
    parser.add_argument("--db", metavar="STORE", default=argparse.SUPPRESS if command else None,
                        help="store file or postgresql:// URL (default: $OPENAI_MONITOR_DB or the user data dir)")


# argparse type functions: a bad value is one usage line and exit 2, never a traceback or a silent oddity.
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def fraction(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1 (e.g. 0.05 for 5 %)")
    return value


def non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (0-65535)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openai-monitor", description="Local monitoring of OpenAI API calls.")
    parser.add_argument("--demo", action="store_true", help="start the app on the built-in simulator with live demo traffic")
    parser.add_argument("--stream", help="open the app on this stream")
    _add_db(parser, command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("simulate", help="run the OpenAI-compatible simulator alone; prints its base URL")
    p.add_argument("--port", type=port_number, default=8765, help="TCP port (0 = any free port)")
    p.add_argument("--latency-ms", type=non_negative, default=300.0, help="mean latency of a non-stream reply")
    p.add_argument("--ttft-ms", type=non_negative, default=250.0, help="time to first token of a stream")
    p.add_argument("--tokens-per-s", type=positive, default=60.0)
    p.add_argument("--error-rate", type=fraction, default=0.0, help="fraction (0-1) of requests answered with HTTP 500")
    p.add_argument("--rate-limit-rate", type=fraction, default=0.0, help="fraction (0-1) answered with HTTP 429")

    p = sub.add_parser("streams", help="list streams with their call counts")
    _add_db(p)

    p = sub.add_parser("stats", help="summary numbers of a stream")
    p.add_argument("stream")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_db(p)

    try:
        from .boards.cli import add_board_parser
    except ImportError:            # boards not built yet
        add_board_parser = None
    if add_board_parser is not None:
        add_board_parser(sub, _add_db)
    from .experiments.cli import add_experiment_parser
    add_experiment_parser(sub, _add_db)

    p = sub.add_parser("migrate", help="copy a store (calls, boards, scores, prompts) into another, e.g. a local "
                                       "file into a team's PostgreSQL store; run again, it copies only what is new")
    p.add_argument("--from", dest="source", required=True, metavar="STORE", help="the store to copy (file or URL)")
    p.add_argument("--to", dest="target", required=True, metavar="STORE", help="the store to copy into (file or URL)")
    return parser


def main(argv: list[str] | None = None, run_app=None) -> int:
    """`run_app(db=, stream=, demo=)` starts the desktop app; desktop/launch.py passes it in, because
    monitor/ never imports the Qt side."""
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            if run_app is None:
                raise CliError("the desktop app is started by the `openai-monitor` command (desktop.launch)")
            return run_app(db=args.db, stream=args.stream, demo=args.demo)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "streams":
            return _streams(args)
        if args.command == "stats":
            return _stats(args)
        if args.command == "migrate":
            return _migrate(args)
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:                    # `openai-monitor stats S | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # and none from the exit's own flush
        return 141
    except (CliError, StoreError) as exc:      # the one place a bad store or bad input becomes exit 2
        print(f"openai-monitor: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:       # damage found in the middle of a read
        print(f"openai-monitor: could not read the store {resolve_db_path(getattr(args, 'db', None))} ({exc}): "
              "if it is damaged, move it aside (a new store starts empty)", file=sys.stderr)
        return 2


class CliError(Exception):
    """A one-line reason printed to stderr with a non-zero exit."""


def open_store(db: str | None):
    from .store import Store

    path = resolve_db_path(db)
    if isinstance(path, StoreURL):
        return Store(path)                # a server that does not answer: StoreError, said by main()
    if not path.exists():
        raise CliError(f"no store at {path} (log a call with init_monitor first, or pass --db)")
    return Store(path)                   # a StoreError is reported by main()


def _streams(args) -> int:
    store = open_store(args.db)
    streams = store.streams()
    if not streams:
        print(f"no streams in {store.path}")
    width = max([len(s.name) for s in streams] + [6])
    for s in streams:
        origin = "" if s.origin == "local" else f"  ({s.origin})"
        print(f"{s.name:<{width}}  {s.calls:>9} calls{origin}")
    return 0


def _stats(args) -> int:
    from .stats import stream_stats

    store = open_store(args.db)
    try:
        stats = stream_stats(store, args.stream)
    except KeyError:
        raise CliError(f"no stream named {args.stream!r} in {store.path} (see: openai-monitor streams)") from None
    if args.json:
        print(json.dumps(stats))
        return 0
    lat = stats["latency_ms"]
    fmt = lambda v: "–" if v is None else f"{v:,.0f} ms"
    cost = f"${stats['cost_usd']:.6f}" + (f" (+{stats['unpriced_calls']} calls with unknown price)" if stats["unpriced_calls"] else "")
    print(f"stream      {stats['stream']}\nrequests    {stats['requests']:,} ({stats['errors']:,} errors)\n"
          f"tokens      {stats['prompt_tokens']:,} prompt + {stats['completion_tokens']:,} completion = {stats['total_tokens']:,}\n"
          f"cost        {cost}\nlatency     p50 {fmt(lat['p50'])}  p95 {fmt(lat['p95'])}  p99 {fmt(lat['p99'])}")
    return 0


def _migrate(args) -> int:
    from .store import Store
    from .transfer import copy_store

    source = open_store(args.source)
    target = Store(resolve_db_path(args.target))       # a new team store is created (migrated) here
    if str(source.path) == str(target.path):
        raise CliError("--from and --to are the same store")
    done = copy_store(source, target)
    print(f"copied {done.calls:,} calls, {done.scores:,} scores, {done.boards:,} boards and {done.prompts:,} "
          f"prompts from {source.path} to {target.path}"
          + (f" ({done.already:,} calls were copied before)" if done.already else ""))
    return 0


def _simulate(args) -> int:
    from .simulator import SimulatorConfig, run_forever

    config = SimulatorConfig(latency_ms=args.latency_ms, ttft_ms=args.ttft_ms, tokens_per_s=args.tokens_per_s,
                             error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate)
    try:
        run_forever(args.port, config)
    except OSError as exc:            # the port is taken, or not ours to bind
        raise CliError(f"can't listen on port {args.port}: {exc.strerror or exc} "
                       "(pick another with --port, or --port 0 for any free one)") from None
    return 0


if __name__ == "__main__":
    # Run as `python -m monitor.cli`: use the module's canonical copy so its CliError is the one raised.
    from monitor.cli import main as _main

    sys.exit(_main())
