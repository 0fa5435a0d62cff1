"""What a board is: a validated, JSON-serialisable spec (pydantic v2, unknown keys refused).

A board = name + stream + time range + bucket size + filters + grouping + panels.  Every panel lists the
measures it shows; a measure is a metric with an aggregation, e.g. ``latency_ms`` / ``p95``.

Definitions (the same as ``monitor.stats``):

* ``requests`` counts every call in range; ``errors`` those with status "error".
* ``cost_usd`` sums the calls with a known price; calls without one add nothing but are counted in
  ``Summary.unpriced_calls`` (successful calls with ``cost_usd`` None).  ``avg`` of cost divides by the
  number of priced calls.
* token metrics sum the calls that report them (None counts as absent); ``avg`` divides by the calls
  that report that metric.
* ``latency_ms`` and ``ttft_ms`` are taken over successful calls that have the value; percentiles are
  exact, linear interpolation between closest ranks (numpy's default, ``monitor.stats.percentile``).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

from ..record import APIS, STATUSES

# -- the metric catalogue ---------------------------------------------------------------------------
COUNT_METRICS = ("requests", "errors")
SUM_METRICS = ("cost_usd", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
DIST_METRICS = ("latency_ms", "ttft_ms")
METRICS = COUNT_METRICS + SUM_METRICS + DIST_METRICS

PERCENTILES = {"p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
AGGREGATIONS: dict[str, tuple[str, ...]] = {
    # count: per bucket; per_min / per_s: per bucket divided by the bucket's length; cumulative: running
    # total from the range start; ratio: errors / requests.
    **{m: ("count", "per_min", "per_s", "cumulative") for m in COUNT_METRICS},
    **{m: ("sum", "avg", "per_min", "per_s", "cumulative") for m in SUM_METRICS},
    **{m: ("avg", "min", "max", *PERCENTILES) for m in DIST_METRICS},
}
AGGREGATIONS["errors"] = AGGREGATIONS["errors"] + ("ratio",)

METRIC_LABELS = {
    "requests": "requests", "errors": "errors", "cost_usd": "cost", "prompt_tokens": "prompt tokens",
    "completion_tokens": "completion tokens", "total_tokens": "total tokens", "cached_tokens": "cached tokens",
    "reasoning_tokens": "reasoning tokens", "latency_ms": "latency", "ttft_ms": "time to first token",
}
_BASE_UNITS = {"requests": "requests", "errors": "errors", "cost_usd": "USD", "latency_ms": "ms", "ttft_ms": "ms"}


def measure_unit(metric: str, agg: str) -> str:
    """'USD', 'ms', 'tokens', 'requests/min', 'tokens/s', 'ratio' … for axis labels and read-outs."""
    if agg == "ratio":
        return "ratio"
    base = _BASE_UNITS.get(metric, "tokens")
    if agg == "per_min":
        return f"{base}/min"
    if agg == "per_s":
        return f"{base}/s"
    return base


# -- grouping ---------------------------------------------------------------------------------------
CALL_FIELDS = ("model", "status", "api")
MISSING_LABEL = "(none)"      # the group of calls that lack the grouping attribute
OTHER_LABEL = "(other)"       # groups beyond MAX_GROUPS, merged
MAX_GROUPS = 20
_ATTR_PREFIX = "attributes."
_KEY_RE = re.compile(r'^[^"\x00-\x1f\x7f]{1,200}$')


def group_field(group_by: str | None) -> tuple[str, str] | None:
    """None, ('field', 'model'|'status'|'api') or ('attribute', key).  'attributes.model' = the attribute
    named model; any other string is an attribute key, dots reaching into nested dicts (params.audience)."""
    if group_by is None:
        return None
    if group_by in CALL_FIELDS:
        return ("field", group_by)
    if group_by.startswith(_ATTR_PREFIX):
        return ("attribute", group_by[len(_ATTR_PREFIX):])
    return ("attribute", group_by)


def _check_key(key: str) -> str:
    check_visible_name(key)
    if not _KEY_RE.match(key) or not key.strip(".") or ".." in key:
        raise ValueError(f"attribute key {key!r} must be 1-200 printable characters without '\"' or empty parts")
    return key


# -- spec models --------------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")]
StreamName = Annotated[str, Field(min_length=1, max_length=400, pattern=r"^[^\x00-\x1f\x7f]+$")]
RangeKind = Literal["15m", "1h", "24h", "7d", "all", "custom"]
RANGE_SECONDS = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400}
MAX_BUCKET_S = 4 * 366 * 86400          # the auto bucket of the widest range (EPOCH_MIN..EPOCH_MAX) fits
# Custom ranges and imported timestamps lie in 1970-01-01 .. 2100-01-01 UTC: beyond that no call was
# made (±1.5e308 imported, then broke every export).
EPOCH_MIN = 0.0
EPOCH_MAX = 4_102_444_800.0
# Unicode "format" characters (bidi overrides like U+202E, zero-width spaces/joiners, BOM) and line/paragraph
# separators: invisible in `board list` and the sidebar, so a name holding one can pass for another.
# Control characters (Cc: C0 and the 8-bit C1 range, e.g. U+009B, a terminal's CSI) too.
_INVISIBLE_CATEGORIES = ("Cf", "Zl", "Zp", "Co", "Cs", "Cc")


def check_visible_name(value: str, *, allow: str = "") -> str:
    """ValueError (one line) if a name holds a character that displays as nothing or reorders the text
    (`allow`: control characters that are fine here, e.g. line breaks in a description)."""
    for ch in value:
        if ch not in allow and unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            raise ValueError(f"must not contain the invisible or text-reordering character U+{ord(ch):04X} "
                             f"({unicodedata.name(ch, 'unnamed')})")
    return value


class TimeRange(_Model):
    """Last 15 min / 1 h / 24 h / 7 d, all of the stream, or custom [start, end] in epoch seconds."""
    kind: RangeKind = "all"
    start: FiniteFloat | None = None
    end: FiniteFloat | None = None

    @model_validator(mode="after")
    def _check(self) -> "TimeRange":
        if self.kind == "custom":
            if self.start is None or self.end is None:
                raise ValueError("a custom time range needs start and end (epoch seconds)")
            if not self.start < self.end:
                raise ValueError("a custom time range needs start < end")
            if self.start < EPOCH_MIN or self.end > EPOCH_MAX:
                raise ValueError("a custom time range must lie between 1970-01-01 and 2100-01-01 "
                                 f"(epoch seconds {EPOCH_MIN:.0f} to {EPOCH_MAX:.0f})")
        elif self.start is not None or self.end is not None:
            raise ValueError(f"start/end are only for a custom time range, not {self.kind!r}")
        return self


AttrValue = Union[bool, int, FiniteFloat, str, None]


class AttributeFilter(_Model):
    """Keep calls whose attribute ``key`` (dots reach into nested dicts) equals ``value``."""
    key: str
    value: AttrValue

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        return _check_key(v)


class Filters(_Model):
    """All given conditions must hold; an empty list means no condition on that field."""
    models: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=100)
    statuses: list[Literal[STATUSES]] = Field(default_factory=list)     # type: ignore[valid-type]
    apis: list[Literal[APIS]] = Field(default_factory=list)             # type: ignore[valid-type]
    attributes: list[AttributeFilter] = Field(default_factory=list, max_length=20)
    text: Annotated[str, Field(max_length=500)] | None = None   # case-insensitive, in the prompt or the output

    @field_validator("text")
    @classmethod
    def _empty_text(cls, v: str | None) -> str | None:
        return v or None

    def is_empty(self) -> bool:
        return not (self.models or self.statuses or self.apis or self.attributes or self.text)


class Measure(_Model):
    metric: Literal[METRICS]  # type: ignore[valid-type]
    agg: str
    label: Annotated[str, Field(max_length=80)] | None = None   # legend text; default e.g. "p95 latency"

    @model_validator(mode="after")
    def _check(self) -> "Measure":
        allowed = AGGREGATIONS[self.metric]
        if self.agg not in allowed:
            raise ValueError(f"{self.metric} takes aggregations {', '.join(allowed)}, not {self.agg!r}")
        return self

    @property
    def key(self) -> str:
        return f"{self.metric}.{self.agg}"

    @property
    def unit(self) -> str:
        return measure_unit(self.metric, self.agg)

    def display_label(self) -> str:
        if self.label:
            return self.label
        name = METRIC_LABELS[self.metric]
        if self.agg in PERCENTILES:
            return f"{self.agg} {name}"
        return {"count": name, "sum": name, "avg": f"avg {name}", "min": f"min {name}", "max": f"max {name}",
                "per_min": f"{name}/min", "per_s": f"{name}/s", "cumulative": f"cumulative {name}",
                "ratio": f"{name} rate"}[self.agg]


TABLE_COLUMNS = ("ts", "model", "status", "api", "prompt_tokens", "completion_tokens", "total_tokens",
                 "cost_usd", "latency_ms", "ttft_ms", "group")


class Panel(_Model):
    """A chart ('timeseries'), a row of numbers ('stat'), the requests table ('table'), calls as points
    ('scatter'), the top groups by a measure ('top') or a score's mean per bucket ('score'): the kinds of
    monitor.boards.kinds, which say which fields each uses.  Placed on a 12-column grid: col 0-11, row >= 0,
    width 1-12 columns, height in rows."""
    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]
    title: Annotated[str, Field(max_length=120)] = ""
    kind: Annotated[str, Field(min_length=1, max_length=40)] = "timeseries"
    measures: list[Measure] = Field(default_factory=list, max_length=12)
    chart: Literal["line", "bar", "area", "points"] = "line"
    split_by_group: bool = True
    columns: list[Literal[TABLE_COLUMNS]] = Field(default_factory=lambda: list(TABLE_COLUMNS))  # type: ignore[valid-type]
    col: Annotated[int, Field(ge=0, le=11)] = 0
    row: Annotated[int, Field(ge=0, le=1000)] = 0
    width: Annotated[int, Field(ge=1, le=12)] = 6
    height: Annotated[int, Field(ge=1, le=20)] = 4
    top_by: Annotated[str, Field(min_length=1, max_length=220)] | None = None   # top: key ranked (None = grouping)
    top_n: Annotated[int, Field(ge=1, le=100)] = 10                              # top: rows shown
    score: Annotated[str, Field(min_length=1, max_length=200)] | None = None     # score: the score's name

    @field_validator("top_by")
    @classmethod
    def _top_by(cls, v: str | None) -> str | None:
        g = group_field(v)
        if g is not None and g[0] == "attribute":
            _check_key(g[1])
        return v

    @field_validator("title")
    @classmethod
    def _visible_title(cls, v: str) -> str:
        return check_visible_name(v)

    @model_validator(mode="after")
    def _check(self) -> "Panel":
        from .kinds import check_panel      # the registry imports the kinds' modules, which import this one
        check_panel(self)
        if self.col + self.width > 12:
            raise ValueError(f"panel {self.id!r}: col + width must be <= 12")
        return self


from .budget_spec import MAX_BUDGETS, Budget  # noqa: E402  (a board's budgets; budget_spec.py)


class BoardSpec(_Model):
    name: Name
    stream: StreamName
    time_range: TimeRange = Field(default_factory=TimeRange)
    bucket_s: Annotated[int, Field(ge=1, le=MAX_BUCKET_S)] | None = None   # None = auto
    filters: Filters = Field(default_factory=Filters)
    group_by: Annotated[str, Field(min_length=1, max_length=220)] | None = None
    panels: list[Panel] = Field(default_factory=list, max_length=60)
    description: Annotated[str, Field(max_length=2000)] = ""
    budgets: list[Budget] = Field(default_factory=list, max_length=MAX_BUDGETS)   # see budget_spec.py

    @field_validator("name", "stream")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be blank")
        return v

    @field_validator("name")
    @classmethod
    def _visible(cls, v: str) -> str:
        return check_visible_name(v)

    @field_validator("description")
    @classmethod
    def _visible_description(cls, v: str) -> str:
        return check_visible_name(v, allow="\n\t")

    @field_validator("group_by")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        g = group_field(v)
        if g is not None and g[0] == "attribute":
            _check_key(g[1])
        return v

    @model_validator(mode="after")
    def _unique_panels(self) -> "BoardSpec":
        ids = [p.id for p in self.panels]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"panel ids must be unique: {', '.join(sorted(dup))}")
        return self

    def updated(self, **changes) -> "BoardSpec":
        """A validated copy with some fields replaced (values may be models or plain dicts/lists):
        ``spec.updated(group_by="model")``, ``spec.updated(panels=[*spec.panels, new_panel])``.
        (pydantic's model_copy(update=) does not validate; use this.)"""
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, BaseModel):
                value = value.model_dump()
            elif isinstance(value, list):
                value = [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
            data[key] = value
        return BoardSpec.model_validate(data)

    def panel(self, panel_id: str) -> Panel:
        for p in self.panels:
            if p.id == panel_id:
                return p
        raise KeyError(panel_id)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> "BoardSpec":
        return cls.model_validate_json(text)
