"""An experiment's results as a matrix: rows = variable combinations (× repeat), columns = prompt × model.

Headless so the page, the CLI and the tests compute the same per-column totals: pass rate, mean score,
cost and p50 latency.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from .runner import CallResult, ExperimentCall


@dataclass(frozen=True)
class Column:
    prompt_index: int
    system_prompt: str
    model: str


@dataclass(frozen=True)
class Row:
    values: tuple[tuple[str, str], ...]     # (variable, value) in template order
    repeat: int

    def label(self, show_repeat: bool) -> str:
        text = " · ".join(f"{k}={v}" for k, v in self.values) or "(no variables)"
        return f"{text} · #{self.repeat + 1}" if show_repeat else text


@dataclass
class ColumnTotals:
    cells: int = 0
    done: int = 0
    passed: int = 0
    errors: int = 0
    mean_score: float | None = None       # mean 1–5 judge score; without 1–5 judges, the share of asserts passed
    cost_usd: float | None = 0.0          # None: some call has no known price
    p50_latency_ms: float | None = None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.done if self.done else None


class Matrix:
    """Where each grid cell sits. Built once per run from the expanded calls; results are looked up by index."""

    def __init__(self, calls: Sequence[ExperimentCall], asserts: Sequence[dict] = ()):
        from .scorers import judge_scale, unique_labels

        self.calls = list(calls)
        self.scaled = {label for label, a in zip(unique_labels(asserts), asserts)
                       if a.get("type") == "judge" and judge_scale(a) == "score"}
        self.columns: list[Column] = []
        self.rows: list[Row] = []
        self.repeats = max((c.repeat for c in self.calls), default=0) + 1
        self._where: dict[int, tuple[int, int]] = {}
        self._at: dict[tuple[int, int], int] = {}
        col_of: dict[tuple, int] = {}
        row_of: dict[Row, int] = {}
        prompts: dict[str, int] = {}
        for call in self.calls:
            system = call.system_prompt or ""
            p = prompts.setdefault(system, len(prompts))
            ckey = (p, call.model)
            if ckey not in col_of:
                col_of[ckey] = len(self.columns)
                self.columns.append(Column(p, system, call.model))
            row = Row(tuple((k, str(v)) for k, v in call.values.items()), call.repeat)
            if row not in row_of:
                row_of[row] = len(self.rows)
                self.rows.append(row)
            where = (row_of[row], col_of[ckey])
            self._where[call.index] = where
            self._at[where] = call.index
        # prompt-major column order (all models of prompt 1, then prompt 2, …), as the grid expands
        order = sorted(range(len(self.columns)), key=lambda i: (self.columns[i].prompt_index, i))
        remap = {old: new for new, old in enumerate(order)}
        self.columns = [self.columns[i] for i in order]
        self._where = {k: (r, remap[c]) for k, (r, c) in self._where.items()}
        self._at = {(r, remap[c]): k for (r, c), k in self._at.items()}

    def position(self, index: int) -> tuple[int, int]:
        return self._where[index]

    def index_at(self, row: int, column: int) -> int | None:
        return self._at.get((row, column))

    def column_label(self, column: int) -> str:
        c = self.columns[column]
        prompt = " ".join(c.system_prompt.split()) or "(no system prompt)"
        return f"P{c.prompt_index + 1}: {prompt}\n{c.model}"

    def totals(self, column: int, results: dict[int, CallResult]) -> ColumnTotals:
        t = ColumnTotals()
        costs, latencies, scaled, binary = [], [], [], []
        for row in range(len(self.rows)):
            index = self.index_at(row, column)
            if index is None:
                continue
            t.cells += 1
            r = results.get(index)
            if r is None:
                continue
            t.done += 1
            t.passed += r.passed
            t.errors += r.status != "success"
            costs.append(r.cost_usd)
            if r.status == "success" and r.latency_ms is not None:
                latencies.append(r.latency_ms)
            for s in r.scores.values():
                if s.value is not None and s.source != "human":
                    (scaled if s.name in self.scaled else binary).append(s.value)
        t.cost_usd = None if any(c is None for c in costs) else sum(costs)
        t.p50_latency_ms = statistics.median(latencies) if latencies else None
        scores = scaled or binary
        t.mean_score = statistics.fmean(scores) if scores else None
        return t
