"""What a board computation returns: plain dataclasses and numpy arrays, nothing Qt.

Every array in a BoardData is a fresh copy owned by the caller; a later refresh never mutates it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Series:
    """One curve.  ``y[i]`` is the value of the bucket starting at ``BoardData.x[i]``; NaN = no value
    (e.g. a percentile of a bucket without successful calls).  Counts and sums are 0, not NaN, where a
    bucket has no calls."""
    key: str                 # unique in the panel and stable across refreshes: "latency_ms.p95|gpt-4o"
    label: str               # legend text
    metric: str              # "latency_ms"
    agg: str                 # "p95"
    unit: str                # "ms", "USD", "tokens/s", "requests/min", "ratio", …
    group: str | None        # the group label, or None for "all calls" (grouping off or panel not split)
    y: np.ndarray            # float64, len(BoardData.x)


@dataclass
class StatValue:
    """One number of a stat panel, over the whole time range."""
    key: str                 # "cost_usd.sum"
    label: str
    metric: str
    agg: str
    unit: str
    value: float | None      # None = undefined (no calls, no priced calls, …)
    by_group: dict[str, float | None] = field(default_factory=dict)   # empty without grouping


@dataclass
class TopRow:
    """One line of a top-N panel: a group and its measures over the whole range (exact sums)."""
    key: str                          # the group label ("gpt-4o", "(none)" for calls without the key)
    values: list[float | None]        # one per measure, in the panel's order
    calls: int                        # calls of the group in range


@dataclass
class Points:
    """One point per call (a scatter panel), at most scatter.MAX_POINTS of them, evenly spaced in time."""
    x: np.ndarray            # call start, epoch s
    y: np.ndarray            # the measure's value
    group: np.ndarray        # index into BoardData.groups (-1: not grouped)
    ids: np.ndarray          # call ids
    total: int               # calls that have a value (before sampling)


@dataclass
class PanelData:
    id: str
    title: str
    kind: str                # a kind of monitor.boards.kinds.KINDS: "timeseries", "stat", "table", "top", …
    chart: str               # "line" | "bar" | "area" | "points"
    unit: str                # unit of the first measure ("" for a table)
    series: list[Series] = field(default_factory=list)     # timeseries panels
    stats: list[StatValue] = field(default_factory=list)   # stat panels
    columns: list[str] = field(default_factory=list)       # table panels: RequestRow fields to show
    top: list[TopRow] = field(default_factory=list)        # top-N panels (stats = its columns, over all calls)
    top_by: str | None = None                              # top-N panels: the grouping key ranked
    points: Points | None = None                           # scatter panels
    note: str = ""                                         # what the panel leaves out ("+12 more", "5,000 of …")


@dataclass
class Summary:
    """Whole-range numbers (the definitions of monitor.boards.spec)."""
    requests: int = 0
    successes: int = 0
    errors: int = 0
    cancelled: int = 0
    error_rate: float | None = None          # errors / requests
    cost_usd: float = 0.0                    # over priced calls
    priced_calls: int = 0
    unpriced_calls: int = 0                  # successful calls whose model has no known price: "+N calls"
    avg_cost_per_request: float | None = None    # cost_usd / priced_calls
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    avg_tokens_per_request: float | None = None  # total_tokens / calls reporting total_tokens
    avg_latency_ms: float | None = None          # over successful calls
    latency_ms: dict[str, float | None] = field(default_factory=lambda: {"p50": None, "p95": None, "p99": None})
    avg_ttft_ms: float | None = None
    ttft_ms: dict[str, float | None] = field(default_factory=lambda: {"p50": None, "p95": None})


@dataclass
class BoardData:
    name: str
    stream: str
    group_by: str | None
    start: float             # resolved range: start snapped down to the bucket grid (epoch s)
    end: float               # resolved range end (epoch s): calls with start <= ts <= end count
    bucket_s: int            # bucket length used (auto, or the spec's, coarsened past 5,000 buckets)
    x: np.ndarray            # float64 bucket starts, epoch s: start, start + bucket_s, …
    groups: list[str]        # group labels in legend order ([] without grouping)
    requests: np.ndarray     # float64 calls per bucket, all groups (for a click → requests table)
    panels: list[PanelData]
    summary: Summary
    last_id: int             # highest call id of the stream seen so far
    computed_at: float       # the `now` used
    incremental: bool        # True if this refresh only folded in new calls

    def panel(self, panel_id: str) -> PanelData:
        for p in self.panels:
            if p.id == panel_id:
                return p
        raise KeyError(panel_id)

    def bucket_at(self, t: float) -> float | None:
        """The start of the bucket holding time t (for a click on a chart), or None outside the range."""
        if not len(self.x) or t < self.start or t > self.end:
            return None
        return float(self.x[min(int((t - self.start) // self.bucket_s), len(self.x) - 1)])


@dataclass
class RequestRow:
    """A light row of the requests table; ``Store.record(id)`` gives the full Record."""
    id: int
    ts: float
    api: str
    model: str | None
    status: str
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    ttft_ms: float | None
    group: str | None        # the call's group label (None without grouping)


@dataclass
class RequestsPage:
    total: int               # rows matching (board range, filters, and the bucket/group asked for)
    offset: int
    rows: list[RequestRow]   # newest first
