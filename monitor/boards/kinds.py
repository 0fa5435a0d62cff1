"""Panel kinds in one registry: what each kind of panel takes from its spec, what the engine computes for
it, and how the HTML report draws it.  The app's side (widget, editor rows) is desktop/boards/panel_kinds.py.

Adding a kind = one module with its computation and drawing (e.g. topn.py, score_panel.py, scatter.py),
one `PanelKind` here and one entry in desktop/boards/panel_kinds.py; tests/test_panel_kinds.py checks that
every kind has all four.

``compute(state, panel, pd)`` fills a PanelData from the engine's state (the board's covered calls, its
grid, groups and sums: engine._State); ``html(pd, data, report)`` returns the panel's HTML (ReportContext
holds what the report's table needs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from . import scatter, score_panel, topn
from .data import StatValue

if TYPE_CHECKING:
    from .data import BoardData, PanelData
    from .spec import Panel

# The spec fields a kind uses beyond id/title/place (the editor shows these rows, see panel_kinds.py).
OPTIONS = ("measures", "chart", "split_by_group", "columns", "top_by", "top_n", "score")


@dataclass
class ReportContext:
    """What a report panel may need beyond its PanelData: the newest calls as exported dicts with their group."""
    rows: list
    total: int
    include_content: bool
    group_by: str | None


@dataclass(frozen=True)
class PanelKind:
    name: str
    label: str                                   # the editor's "Kind" choice
    options: tuple[str, ...]                     # spec fields it uses (of OPTIONS)
    compute: Callable[[Any, "Panel", "PanelData"], None]
    html: Callable[["PanelData", "BoardData", ReportContext], str]
    min_measures: int = 1
    max_measures: int = 12                       # 0: no measures are used (none are checked)
    bucket_dists: bool = False                   # needs per-bucket percentiles of its measures (engine)
    range_dists: bool = False                    # needs whole-range percentiles per group (engine)
    stays_last: bool = False                     # kept at the board's end when panels are added (layout)
    report_full_width: bool = False
    check: Callable[["Panel"], None] | None = None   # extra validation (ValueError, one line)
    unit: str | None = None                      # the kind's own unit (else its first measure's)
    same_calls_same_result: bool = False         # computed from the counted calls alone: kept between ticks


def _html(name: str) -> Callable:
    """A drawing function of html_report, imported when first drawn (html_report imports the engine,
    which dispatches through this registry)."""
    def draw(pd, data, report):
        from . import html_report
        return getattr(html_report, name)(pd, data, report)
    draw.__name__ = f"html_report.{name}"
    return draw


def _timeseries(state, panel, pd) -> None:
    several = len(panel.measures) > 1
    for m in panel.measures:
        pd.series.extend(state._series(m, panel.split_by_group, several))


def _stat(state, panel, pd) -> None:
    for m in panel.measures:
        by_group = {lbl: state._stat(m, k) for k, lbl in enumerate(state.groups)} if state.grouped else {}
        pd.stats.append(StatValue(key=m.key, label=m.display_label(), metric=m.metric, agg=m.agg, unit=m.unit,
                                  value=state._stat(m, None), by_group=by_group))


def _table(state, panel, pd) -> None:
    pd.columns = list(panel.columns)


KINDS: dict[str, PanelKind] = {}


def register(kind: PanelKind) -> PanelKind:
    KINDS[kind.name] = kind
    return kind


register(PanelKind("timeseries", "Chart over time", ("measures", "chart", "split_by_group"), _timeseries,
                   _html("draw_chart"), bucket_dists=True))
register(PanelKind("stat", "Numbers over the range", ("measures",), _stat, _html("draw_stats"), range_dists=True))
register(PanelKind("table", "Requests table", ("columns",), _table, _html("draw_table"), min_measures=0,
                   max_measures=0, stays_last=True, report_full_width=True))
register(PanelKind("scatter", "Calls as points (scatter)", ("measures",), scatter.compute, scatter.draw_html,
                   max_measures=1, check=scatter.check, same_calls_same_result=True))
register(PanelKind("top", "Top N table (most expensive …)", ("measures", "top_by", "top_n"), topn.compute,
                   topn.draw_html, max_measures=4, check=topn.check, same_calls_same_result=True))
register(PanelKind("score", "Score over time (mean per bucket)", ("score", "chart", "split_by_group"),
                   score_panel.compute, _html("draw_chart"), min_measures=0, max_measures=0,
                   check=score_panel.check, unit=score_panel.UNIT))


def kind_of(name: str) -> PanelKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown panel kind {name!r} (one of {', '.join(KINDS)})") from None


def check_panel(panel: "Panel") -> None:
    """ValueError (one line) if the panel does not suit its kind."""
    kind = kind_of(panel.kind)
    n = len(panel.measures)
    if n < kind.min_measures:
        raise ValueError(f"panel {panel.id!r}: a {panel.kind} panel needs at least {kind.min_measures} measure"
                         + ("s" if kind.min_measures > 1 else ""))
    if n > kind.max_measures and kind.max_measures:
        raise ValueError(f"panel {panel.id!r}: a {panel.kind} panel takes at most {kind.max_measures} "
                         f"measure{'s' if kind.max_measures > 1 else ''}")
    if kind.check is not None:
        kind.check(panel)


def panel_unit(panel: "Panel") -> str:
    """The unit of a panel's values (its first measure's, or the kind's own)."""
    unit = kind_of(panel.kind).unit
    if unit is not None:
        return unit
    return panel.measures[0].unit if panel.measures else ""
