"""Prompt experiments (the seed's Example 4 as a feature), headless: the grid and its run.

An ExperimentSpec — system prompts × values of each template variable × models × repeats — expands to
its cartesian product of ExperimentCall; `run_calls` runs them with a concurrency limit and yields each
result as it lands; `run_cell` makes one call and scores it (asserts, judge); `write_csv` exports them.
Every call carries the attributes boards group by: experiment, system_prompt, prompt_template, params
(the variable values), model and repeat.
"""
from __future__ import annotations

import csv
import itertools
import math
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .. import pricing, tokens
from ..csv_safe import spreadsheet_cell
from ..templates import find_variables, render

REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def max_tokens_param(model: str) -> str:
    """Reasoning models reject max_tokens; older compatible servers only know it."""
    name = (model or "").lower().rsplit("/", 1)[-1]
    return "max_completion_tokens" if name.startswith(REASONING_PREFIXES) else "max_tokens"


@dataclass
class ExperimentSpec:
    name: str
    template: str                                   # the user message, with {variables}
    system_prompts: list[str] = field(default_factory=list)   # [] = no system message
    values: dict[str, list[str]] = field(default_factory=dict)  # variable -> its values
    models: list[str] = field(default_factory=list)
    repeats: int = 1
    params: dict[str, Any] = field(default_factory=dict)       # temperature, max_tokens, ...
    asserts: list[dict] = field(default_factory=list)          # scored on every cell (see scorers.py)
    concurrency: int = 4
    stream: str = "experiments"
    # system prompt -> (saved prompt name, version) when that variant came unchanged from the prompt library;
    # its calls then carry the attributes `prompt` and `prompt_version` (not part of the experiment file)
    prompt_refs: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def variables(self) -> list[str]:
        return find_variables(self.template)

    def problems(self) -> list[str]:
        """Why it can't run yet, in words for the user ([] = ready)."""
        out = []
        if not self.template.strip():
            out.append("Write a user prompt template.")
        if not self.models:
            out.append("Pick at least one model.")
        for name in self.variables:
            if not self.values.get(name):
                out.append(f"Give at least one value for {{{name}}}.")
        if self.repeats < 1:
            out.append("Repeats must be at least 1.")
        return out

    def factors(self) -> list[tuple[str, int]]:
        """(label, count) of each axis of the grid, in expansion order."""
        out = [("system prompts", max(1, len(self.system_prompts)))]
        out += [(name, len(self.values.get(name) or [])) for name in self.variables]
        out += [("models", len(self.models)), ("repeats", self.repeats)]
        return out

    @property
    def size(self) -> int:
        return math.prod(n for _, n in self.factors())


@dataclass(frozen=True)
class ExperimentCall:
    index: int
    system_prompt: str | None
    values: dict[str, str]
    model: str
    repeat: int
    messages: list[dict]
    attributes: dict[str, Any]


def expand(spec: ExperimentSpec) -> list[ExperimentCall]:
    """The grid, system prompt outermost and repeat innermost (the seed's loop order)."""
    names = spec.variables
    systems: Sequence[str | None] = spec.system_prompts or [None]
    value_lists = [spec.values.get(n) or [] for n in names]
    calls = []
    combos = itertools.product(systems, itertools.product(*value_lists), spec.models, range(spec.repeats))
    for index, (system, combo, model, repeat) in enumerate(combos):
        values = dict(zip(names, combo))
        messages = ([{"role": "system", "content": system}] if system else [])     # "" = no system message
        messages.append({"role": "user", "content": render(spec.template, values)})
        attributes = {"system_prompt": system or "", "prompt_template": spec.template, "params": values,
                      "experiment": spec.name, "model": model, "repeat": repeat}
        ref = spec.prompt_refs.get(system or "")
        if ref:
            attributes.update(prompt=ref[0], prompt_version=ref[1])
        calls.append(ExperimentCall(index, system, values, model, repeat, messages, attributes))
    return calls


@dataclass(frozen=True)
class Estimate:
    """Tokens and cost before sending; for a grid, summed over its calls."""
    prompt_tokens: int
    exact: bool
    cost_usd: float | None          # None: some model has no known price
    includes_output: bool           # True: worst case with max_tokens output per call
    unpriced: tuple[str, ...] = ()


def estimate_prompt(model: str, messages: list[dict], max_output_tokens: int = 0) -> Estimate:
    """One chat prompt: its tokens and its cost (worst case with max_output_tokens when given)."""
    count = tokens.count_chat_prompt(model, messages)
    price = pricing.default_table().price_for(model)
    if price is None:
        return Estimate(count.tokens, count.exact, None, max_output_tokens > 0, (model,))
    cost = (count.tokens * price.input + max_output_tokens * (price.output or 0.0)) / 1e6
    return Estimate(count.tokens, count.exact, cost, max_output_tokens > 0)


def estimate(spec: ExperimentSpec) -> Estimate:
    """Prompt tokens of the whole grid and its cost (+ max output tokens per call when a limit is set)."""
    max_out = int(spec.params.get("max_tokens") or spec.params.get("max_completion_tokens") or 0)
    table = pricing.default_table()
    total_tokens, exact, cost, unpriced = 0, True, 0.0, []
    counted: dict[tuple, tokens.TokenCount] = {}
    for call in expand(spec):
        key = (call.model, tuple(m["content"] for m in call.messages))
        count = counted.get(key) or counted.setdefault(key, tokens.count_chat_prompt(call.model, call.messages))
        total_tokens += count.tokens
        exact = exact and count.exact
        price = table.price_for(call.model)
        if price is None:
            if call.model not in unpriced:
                unpriced.append(call.model)
            continue
        cost += count.tokens * price.input / 1e6 + max_out * (price.output or 0.0) / 1e6
    return Estimate(total_tokens, exact, None if unpriced else cost, max_out > 0, tuple(unpriced))


@dataclass
class CallResult:
    index: int
    status: str                     # "success" | "error"
    output: str = ""
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    record_id: int | None = None    # set once the stored record is matched
    scores: dict[str, Any] = field(default_factory=dict)   # assert label -> scorers.Score
    judge_cost_usd: float = 0.0     # what judging this cell cost (its judge calls are logged too)

    @property
    def passed(self) -> bool:
        """A cell passes when its call succeeded and every assert passed (a person's rating is shown, not tested)."""
        return self.status == "success" and all(s.passed for s in self.scores.values() if s.source != "human")


def call_once(client: Any, call: ExperimentCall, params: dict, extra: dict | None = None,
              describe_error: Callable[[BaseException], str] = str) -> CallResult:
    """One chat completion through an instrumented client; never raises (the error is in the result)."""
    kwargs = dict(params)
    limit = kwargs.pop("max_tokens", None) or kwargs.pop("max_completion_tokens", None)
    if limit:
        kwargs[max_tokens_param(call.model)] = limit
    started = time.perf_counter()
    try:
        response = client.chat.completions.create(model=call.model, messages=call.messages,
                                                  monitor_attributes=call.attributes, **kwargs, **(extra or {}))
    except Exception as exc:  # noqa: BLE001 - reported in the grid; the monitor logged it
        return CallResult(call.index, "error", error=describe_error(exc),
                          latency_ms=(time.perf_counter() - started) * 1000)
    latency = (time.perf_counter() - started) * 1000
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0
    cost = pricing.cost_usd(getattr(response, "model", None) or call.model, prompt, completion, cached)
    if cost is None:
        cost = pricing.cost_usd(call.model, prompt, completion, cached)
    text = response.choices[0].message.content if response.choices else ""
    return CallResult(call.index, "success", text or "", None, prompt, completion, cost, latency)


def run_cell(client: Any, call: ExperimentCall, params: dict, asserts: Sequence[dict] = (),
             extra: dict | None = None, describe_error: Callable[[BaseException], str] = str) -> CallResult:
    """One grid cell: the call, then its asserts and judges (judge calls go through the same client)."""
    from .scorers import score_all

    result = call_once(client, call, params, extra, describe_error)
    if asserts:
        result.scores, result.judge_cost_usd = score_all(client, call, result, asserts, extra, describe_error)
    return result


def run_calls(calls: Sequence[ExperimentCall], run_one: Callable[[ExperimentCall], CallResult], *,
              concurrency: int = 4, stop: threading.Event | None = None) -> Iterator[CallResult]:
    """Run `calls` at most `concurrency` at a time, yielding results as they finish.

    Calls are handed to the pool only when a slot is free, so setting `stop` leaves nothing queued:
    the in-flight calls finish (and are yielded), the rest never start.
    """
    stop = stop or threading.Event()
    pending: set[Future] = set()
    upcoming = iter(calls)
    exhausted = False
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="experiment") as pool:
        while True:
            while not exhausted and not stop.is_set() and len(pending) < concurrency:
                call = next(upcoming, None)
                if call is None:
                    exhausted = True
                else:
                    pending.add(pool.submit(run_one, call))
            if not pending:
                return
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


def result_key(model: str | None, attributes: dict) -> tuple:
    """What identifies a grid cell in a stored record (to match records back to rows)."""
    params = attributes.get("params") or {}
    return (attributes.get("system_prompt") or "", tuple(sorted((str(k), str(v)) for k, v in params.items())),
            model or "", attributes.get("repeat"))


def call_key(call: ExperimentCall) -> tuple:
    return result_key(call.model, call.attributes)


def match_records(calls: Sequence[ExperimentCall], records: Sequence[Any], experiment: str) -> dict[int, Any]:
    """Grid index -> its stored record, matched on the experiment's attributes. Newest record first: a cell
    run again (a re-run of failed cells a moment later) pairs with its latest call, not the earlier one."""
    by_key: dict[tuple, list] = {}
    for record in sorted(records, key=lambda r: -(r.id or 0)):
        attrs = record.attributes or {}
        if attrs.get("experiment") == experiment and not attrs.get("judge"):
            by_key.setdefault(result_key(record.model, attrs), []).append(record)
    out = {}
    for call in calls:
        found = by_key.get(call_key(call))
        if found:
            out[call.index] = found.pop(0)
    return out


CSV_COLUMNS = ("index", "system_prompt", "model", "repeat", "status", "output", "error", "prompt_tokens",
               "completion_tokens", "cost_usd", "latency_ms", "record_id")


def write_csv(path: str | Path, spec: ExperimentSpec, calls: Sequence[ExperimentCall],
              results: dict[int, CallResult]) -> int:
    """One row per grid cell (cells never run are marked "not run"); returns the row count."""
    names = spec.variables
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_COLUMNS[:2], *names, *CSV_COLUMNS[2:]])
        for call in calls:
            r = results.get(call.index)
            writer.writerow([spreadsheet_cell(v) for v in (
                call.index + 1, call.system_prompt or "", *(call.values.get(n, "") for n in names),
                call.model, call.repeat, r.status if r else "not run", r.output if r else "",
                (r.error or "") if r else "", _blank(r and r.prompt_tokens), _blank(r and r.completion_tokens),
                _blank(r and r.cost_usd), _blank(r and r.latency_ms and round(r.latency_ms, 1)),
                _blank(r and r.record_id),
            )])
    return len(calls)


def _blank(value: Any) -> Any:
    return "" if value is None or value is False else value


def stored_matches(store: Any, stream: str, since_ts: float, calls: Sequence[ExperimentCall],
                   experiment: str) -> dict[int, Any]:
    """Grid index -> the stored record of that cell, among the stream's calls since `since_ts`."""
    sid = store.stream_id(stream, create=False)
    if sid is None:
        return {}
    rows = store.conn.execute("SELECT id FROM calls WHERE stream_id = ? AND ts >= ? ORDER BY id",
                              (sid, since_ts - 1.0)).fetchall()
    return match_records(calls, [store.record(r[0]) for r in rows], experiment)


def cell_signature(call: ExperimentCall, spec: ExperimentSpec) -> tuple:
    """What makes two runs of a cell the same: its messages, model, repeat, parameters and asserts."""
    import json

    return (json.dumps(call.messages, sort_keys=True), call.model, call.repeat,
            json.dumps(spec.params, sort_keys=True, default=str), json.dumps(spec.asserts, sort_keys=True, default=str))


def cells_to_rerun(calls: Sequence[ExperimentCall], spec: ExperimentSpec, previous: dict[tuple, CallResult],
                   mode: str) -> list[ExperimentCall]:
    """The cells a partial re-run sends: mode "failed" = cells whose last result failed (or never ran);
    "changed" = cells whose signature has no previous result (new prompts, values, models, params)."""
    out = []
    for call in calls:
        before = previous.get(cell_signature(call, spec))
        if before is None or (mode == "failed" and not before.passed):
            out.append(call)
    return out
