"""`openai-monitor experiment run FILE [--db F] [--stream S] [--profile NAME] [--json]`.

Runs an experiment file headless (a progress bar on a terminal, nothing but one JSON object with --json).
Exit 0 when every cell passes every assert, 1 when any fails (a failed call fails its cell), 2 for a bad
file or usage.  The server: a saved profile with --profile, else OPENAI_API_KEY / OPENAI_BASE_URL as the
seed's facade reads them.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, Callable

from . import files
from .matrix import Matrix
from .runner import CallResult, ExperimentSpec, expand, run_calls, run_cell, stored_matches


def add_experiment_parser(sub: Any, add_db: Callable) -> None:
    p = sub.add_parser("experiment", help="run experiment files (YAML/JSON) headless")
    inner = p.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    run = inner.add_parser("run", help="run every cell of an experiment file, score it, log every call")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--stream", help="log to this stream (default: the file's `stream`, else 'experiments')")
    run.add_argument("--profile", metavar="NAME", help="a saved connection profile of the app (default: "
                     "OPENAI_API_KEY / OPENAI_BASE_URL)")
    run.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    add_db(run)
    run.set_defaults(handler=run_command)


def run_command(args: Any) -> int:
    from ..cli import CliError
    from ..monitor import Monitor, normalize_stream_name

    try:
        spec = files.load(args.file)
    except files.ExperimentFileError as exc:
        raise CliError(str(exc)) from None
    try:
        stream = normalize_stream_name(args.stream or spec.stream)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    spec.stream = stream
    raw_client, secret = _client(args.profile)
    monitor = Monitor(stream, args.db)
    client = monitor.wrap(raw_client)
    try:
        results, started = _run(spec, client, secret, quiet=args.json)
        monitor.flush()
        _store_scores(monitor.store, spec, results, started)
    finally:
        monitor.close()
        raw_client.close()
    summary = summarize(spec, results)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_table(spec, results, summary)
    return 0 if summary["failed"] == 0 and summary["errors"] == 0 else 1


def _client(profile: str | None) -> tuple[Any, str | None]:
    """An openai client for --profile, else from the environment; CliError (exit 2) when there is none."""
    import openai

    from ..cli import CliError
    from ..profiles import KeyringUnavailable, ProfileStore, make_client

    if profile:
        profiles = ProfileStore()
        try:
            kwargs = profiles.client_kwargs(profile)
        except KeyError:
            names = ", ".join(p.name for p in profiles.list()) or "none saved"
            raise CliError(f"no profile named {profile!r} (profiles: {names})") from None
        except (KeyringUnavailable, ValueError) as exc:
            raise CliError(str(exc).splitlines()[0]) from None
        return make_client(profiles, profile), kwargs.get("api_key")
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise CliError("no API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for another server) or pass --profile NAME")
    return openai.OpenAI(), key


def _describe(secret: str | None) -> Callable[[BaseException], str]:
    from ..profiles import scrub

    def describe(exc: BaseException) -> str:
        status = getattr(exc, "status_code", None)
        text = f"HTTP {status}: {getattr(exc, 'message', exc)}" if status else f"{type(exc).__name__}: {exc}"
        return scrub(" ".join(text.split()), secret)[:500]
    return describe


def _run(spec: ExperimentSpec, client: Any, secret: str | None, *, quiet: bool) -> tuple[dict[int, CallResult], float]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    calls = expand(spec)
    describe = _describe(secret)
    started = time.time()
    results: dict[int, CallResult] = {}
    stop = threading.Event()
    console = Console(stderr=True)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[failed]} failed"), console=console, transient=True,
                        disable=quiet or not console.is_terminal)
    with progress:
        task = progress.add_task(spec.name, total=len(calls), failed=0)
        try:
            for result in run_calls(calls, lambda c: run_cell(client, c, spec.params, spec.asserts, None, describe),
                                    concurrency=spec.concurrency, stop=stop):
                results[result.index] = result
                progress.update(task, advance=1, failed=sum(not r.passed for r in results.values()))
        except KeyboardInterrupt:
            stop.set()
            raise
    return results, started


def _store_scores(store: Any, spec: ExperimentSpec, results: dict[int, CallResult], started: float) -> None:
    from ..scores import add_scores

    calls = [c for c in expand(spec) if c.index in results]
    matched = stored_matches(store, spec.stream, started, calls, spec.name)
    pairs = []
    for index, record in matched.items():
        results[index].record_id = record.id
        pairs += [(record.id, s) for s in results[index].scores.values()]
    add_scores(store, pairs)


def summarize(spec: ExperimentSpec, results: dict[int, CallResult]) -> dict[str, Any]:
    """The --json object of the contract."""
    cells = []
    for call in expand(spec):
        r = results.get(call.index) or CallResult(call.index, "not run")
        cells.append({"prompt": call.system_prompt or "", "vars": dict(call.values), "model": call.model,
                      "repeat": call.repeat, "output": r.output if r.status == "success" else (r.error or ""),
                      "cost_usd": r.cost_usd, "latency_ms": r.latency_ms, "status": r.status,
                      "scores": {label: s.to_json() for label, s in r.scores.items()}, "pass": r.passed,
                      "record_id": r.record_id})
    costs = [r.cost_usd for r in results.values() if r.cost_usd is not None]
    judged = sum(r.judge_cost_usd for r in results.values())
    errors = sum(c["status"] != "success" for c in cells)
    return {"name": spec.name, "calls": len(results), "passed": sum(c["pass"] for c in cells),
            "failed": sum(not c["pass"] and c["status"] == "success" for c in cells), "errors": errors,
            "cost_usd": round(sum(costs) + judged, 10), "judge_cost_usd": round(judged, 10),
            "stream": spec.stream, "cells": cells}


def _print_table(spec: ExperimentSpec, results: dict[int, CallResult], summary: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    matrix = Matrix(expand(spec), spec.asserts)
    table = Table(title=f"{spec.name} — {summary['calls']} calls logged to “{spec.stream}”")
    for name in ("prompt × model", "pass rate", "mean score", "cost", "p50 latency"):
        table.add_column(name, justify="left" if name == "prompt × model" else "right", overflow="fold")
    for i in range(len(matrix.columns)):
        t = matrix.totals(i, results)
        table.add_row(matrix.column_label(i).replace("\n", " · "),
                      "–" if t.pass_rate is None else f"{t.passed}/{t.done} ({t.pass_rate:.0%})",
                      "–" if t.mean_score is None else f"{t.mean_score:.2f}",
                      "unknown" if t.cost_usd is None else f"${t.cost_usd:.6f}",
                      "–" if t.p50_latency_ms is None else f"{t.p50_latency_ms:,.0f} ms")
    console = Console()
    console.print(table)
    console.print(f"{summary['passed']} passed, {summary['failed']} failed, {summary['errors']} errors; "
                  f"cost ${summary['cost_usd']:.6f} (judges ${summary['judge_cost_usd']:.6f})", highlight=False)
    for cell in summary["cells"]:
        if not cell["pass"]:
            why = "; ".join(f"{k}: {v['reason']}" for k, v in cell["scores"].items() if not v["pass"])
            console.print(f"[red]FAIL[/red] {escape(cell['model'])} {escape(str(cell['vars']))} — "
                          f"{escape(why or cell['output'][:200])}", highlight=False)
    sys.stdout.flush()
