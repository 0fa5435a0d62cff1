"""Computing a board: `compute_board(store, spec)` once, or `BoardEngine(store, spec).refresh()` live.

The engine keeps, per (bucket, group) cell, the counts and sums every measure needs and the percentiles
the panels show; the sorted values of a cell are kept only for the last LIVE_BUCKETS buckets (the ones
still receiving calls), plus the whole range's sorted values — so percentiles are exact, and a refresh that
brings new calls only touches the cells they fall in (a late call in an older bucket rebuilds that cell
from the counted rows).  A full computation streams through the stream's column cache (`columns.py`) in
blocks: call ids follow time, so each bucket is a contiguous run and its values are sorted in place.

Time: a range's start is snapped down to a multiple of the bucket length; buckets are
[start + i*bucket_s, start + (i+1)*bucket_s); calls with start <= ts <= end count, ts being the call's
start.  A relative range (last 15 min … 7 d) moves with `now`: whole buckets leave at the start, new ones
appear at the end.
"""
from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np

from ..stats import percentile
from ..store import Store
from .columns import TOKEN_COLUMNS, ColumnCache, attribute_label, columns_for
from .data import BoardData, PanelData, RequestRow, RequestsPage, Series, Summary
from .kinds import KINDS, panel_unit
from .spec import (DIST_METRICS, MAX_GROUPS, MISSING_LABEL, OTHER_LABEL, PERCENTILES, RANGE_SECONDS, SUM_METRICS,
                   BoardSpec, Measure, group_field)

NICE_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 366 * 86400)
TARGET_BUCKETS = 120      # auto picks the smallest nice bucket giving at most this many buckets
MAX_BUCKETS = 5000        # a fixed bucket giving more than this is coarsened (BoardData.bucket_s says so)
EMPTY_ALL_SPAN = 3600.0   # range "all" over an empty stream: the last hour
FULL_RECOMPUTE_FRACTION = 0.25   # a refresh bringing more new calls than this share recomputes everything
BLOCK_ROWS = 1 << 20      # a full computation streams through the columns in pieces of this many rows
LIVE_BUCKETS = 2          # the last buckets with calls keep their sorted values for live ticks; older ones only percentiles


# -- the time grid ----------------------------------------------------------------------------------
class Grid:
    __slots__ = ("start", "end", "bucket", "abs0", "nb")

    def __init__(self, start_raw: float, end: float, bucket: int):
        self.bucket = bucket
        self.abs0 = math.floor(start_raw / bucket)
        self.start = float(self.abs0 * bucket)
        self.end = float(end)
        self.nb = max(int((self.end - self.start) // bucket) + 1, 1)


def auto_bucket(span: float, target: int = TARGET_BUCKETS) -> int:
    for b in NICE_BUCKETS:
        if span / b <= target:
            return b
    return NICE_BUCKETS[-1] * math.ceil(span / (NICE_BUCKETS[-1] * target))


def resolve_grid(spec: BoardSpec, min_ts: float | None, now: float, max_ts: float | None = None) -> Grid:
    """The buckets of a board at time `now`; "all" runs from the stream's first call to now (or to its
    last call, if a clock ahead of ours logged it)."""
    tr = spec.time_range
    if tr.kind == "custom":
        start_raw, end = float(tr.start), float(tr.end)
    elif tr.kind == "all":
        end = max(now, max_ts) if max_ts is not None else now
        start_raw = min_ts if min_ts is not None else now - EMPTY_ALL_SPAN
    else:
        end = now
        start_raw = now - RANGE_SECONDS[tr.kind]
    span = max(end - start_raw, 1.0)
    bucket = spec.bucket_s or auto_bucket(span)
    if span / bucket > MAX_BUCKETS:
        bucket = auto_bucket(span, MAX_BUCKETS)
    return Grid(start_raw, end, bucket)


def bucket_index(ts: Any, start: float, bucket_s: int) -> Any:
    """The bucket of timestamp(s) ts on a grid starting at `start` (the engine's own formula)."""
    # floor(d) // b == floor(d / b) exactly for an integer b, and is 4x faster than a float floor_divide
    return np.floor(np.asarray(ts, dtype=np.float64) - start).astype(np.int64) // int(bucket_s)


def percentile_sorted(values: np.ndarray, q: float) -> float | None:
    """monitor.stats.percentile on a sorted numpy array (same arithmetic, same result)."""
    value = percentile(values, q)
    return None if value is None else float(value)


def _flat_percentiles(flat: np.ndarray, starts: np.ndarray, counts: np.ndarray, agg: str) -> np.ndarray:
    """Per-segment min/max/percentile of a flat array sorted within segments; NaN for empty segments."""
    out = np.full(len(counts), np.nan)
    ok = counts > 0
    c, s = counts[ok], starts[ok]
    if agg == "min":
        out[ok] = flat[s]
    elif agg == "max":
        out[ok] = flat[s + c - 1]
    else:
        pos = (c - 1) * PERCENTILES[agg] / 100.0
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, c - 1)
        a, b = flat[s + lo], flat[s + hi]
        out[ok] = a + (b - a) * (pos - lo)
    return out


def _sorted_segments(vals: np.ndarray, keys: np.ndarray, nkeys: int,
                     inplace: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vals sorted by key then value, start and count of each key's segment).  Keys that are already in
    order (a bucket per row, rows following time) need no gather (and with `inplace`, no copy either);
    otherwise a stable counting sort on a small integer key, whose gathers stay within a bucket's run when
    rows (nearly) follow time."""
    if len(keys) < 2 or (keys[1:] >= keys[:-1]).all():
        starts = np.searchsorted(keys, np.arange(nkeys + 1, dtype=keys.dtype))
        counts = np.diff(starts)
        starts = starts[:-1]
        flat = vals if inplace else vals.copy()
    else:
        counts = np.bincount(keys, minlength=nkeys)
        starts = np.cumsum(counts) - counts
        small = keys.astype(np.uint16) if nkeys <= 65535 else keys
        flat = vals[np.argsort(small, kind="stable")]
    for k in np.flatnonzero(counts > 1).tolist():
        flat[starts[k]:starts[k] + counts[k]].sort()
    return flat, starts, counts


def _sorted_stat(values: np.ndarray, agg: str) -> float | None:
    if not len(values):
        return None
    if agg == "min":
        return float(values[0])
    if agg == "max":
        return float(values[-1])
    return percentile_sorted(values, PERCENTILES[agg])


def _ratio(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _scalar(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# -- the engine ----------------------------------------------------------------------------------------
class BoardEngine:
    """Live computation of one board.  `refresh()` returns a BoardData; the first call computes
    everything, later calls fold in only the calls that landed since (from any process).  Not
    thread-safe: use one engine from one thread at a time (the app's DB worker)."""

    def __init__(self, store: Store, spec: BoardSpec):
        self.store = store
        self._spec = spec
        self._cache: ColumnCache = columns_for(store, spec.stream)
        self._st: _State | None = None

    @property
    def spec(self) -> BoardSpec:
        return self._spec

    def set_spec(self, spec: BoardSpec) -> None:
        """Change the board (grouping, filters, panels…); the next refresh recomputes from the cache."""
        if spec.stream != self._spec.stream:
            self._cache = columns_for(self.store, spec.stream)
        self._spec = spec
        self._st = None

    @property
    def last_id(self) -> int:
        return self._cache.last_id

    def refresh(self, now: float | None = None) -> BoardData:
        now = time.time() if now is None else float(now)
        cache = self._cache
        cache.sync(self.store)
        n = cache.n
        grid = resolve_grid(self._spec, cache.min_ts if n else None, now, cache.max_ts if n else None)
        st = self._st
        if (st is not None and st.generation == cache.generation and st.can_advance(grid)
                and n - st.n_seen <= max(FULL_RECOMPUTE_FRACTION * st.n_seen, 10_000)):
            st.advance(grid)
            st.add(n)
            incremental = True
        else:
            st = self._st = _State(self.store, self._spec, cache, grid)
            st.full(n)
            incremental = False
        return st.board_data(now, incremental)

    # -- the requests table ---------------------------------------------------------------------------
    def requests_page(self, offset: int = 0, limit: int = 100, bucket: float | None = None,
                      group: str | None = None) -> RequestsPage:
        """Calls of the board (range + filters), newest first; optionally only those of one bucket (its
        start, as in BoardData.x) and/or one group label.  Uses the state of the last refresh()."""
        st = self._st
        if st is None:
            self.refresh()
            st = self._st
        rows, gis = st.covered()
        v = st.cache.view(st.n_seen)
        ts = v["ts"][rows]
        if bucket is not None or group is not None:
            keep = np.ones(len(rows), dtype=bool)
            if bucket is not None:
                keep &= (ts >= bucket) & (ts < bucket + st.grid.bucket)
            if group is not None:
                keep &= gis == (st.groups.index(group) if group in st.groups else -9)
            rows, gis, ts = rows[keep], gis[keep], ts[keep]
        total = len(rows)
        offset, limit = max(int(offset), 0), max(int(limit), 0)
        k = min(offset + limit, total)
        if k == 0:
            return RequestsPage(total=total, offset=offset, rows=[])
        if k < total // 4:            # only the newest k matter (and any tied with the k-th): sort those
            threshold = -np.partition(-ts, k - 1)[k - 1]
            top = ts >= threshold
            rows, gis, ts = rows[top], gis[top], ts[top]
        order = np.lexsort((-v["id"][rows], -ts))[offset:k]
        return RequestsPage(total=total, offset=offset, rows=st.light_rows(rows[order], gis[order]))

    def covered_ids(self) -> np.ndarray:
        """Ids of the calls the last refresh counted (range + filters), ascending."""
        return self.covered_calls()[0]

    def covered_calls(self) -> tuple[np.ndarray, list[str | None]]:
        """(ids ascending, group label of each — None without grouping) of the calls the last refresh counted."""
        if self._st is None:
            self.refresh()
        st = self._st
        rows, gis = st.covered()
        ids = st.cache.view(st.n_seen)["id"][rows]
        order = np.argsort(ids, kind="stable")
        labels = [st.groups[g] if st.grouped else None for g in gis[order].tolist()]
        return ids[order], labels


def compute_board(store: Store, spec: BoardSpec, now: float | None = None) -> BoardData:
    """Everything a board shows, computed once."""
    return BoardEngine(store, spec).refresh(now)


def requests_page(store: Store, spec: BoardSpec, offset: int = 0, limit: int = 100, bucket: float | None = None,
                  group: str | None = None, now: float | None = None) -> RequestsPage:
    engine = BoardEngine(store, spec)
    engine.refresh(now)
    return engine.requests_page(offset, limit, bucket, group)


# -- state ------------------------------------------------------------------------------------------------
_BASE_SUMS = ("n", "err", "succ", "unpriced", "cost", "cost_n", *TOKEN_COLUMNS, "total_tokens_n",
              "latency_ms_sum", "latency_ms_n", "ttft_ms_sum", "ttft_ms_n")


class _State:
    def __init__(self, store: Store, spec: BoardSpec, cache: ColumnCache, grid: Grid):
        self.store, self.spec, self.cache, self.grid = store, spec, cache, grid
        self.generation = cache.generation
        self.group = group_field(spec.group_by)
        self.grouped = self.group is not None
        self.groups: list[str] = []
        self.gmap = np.full(0, -1, dtype=np.int16)       # raw code -> group index (-1: not seen yet)
        self.other: int | None = None
        self.n_seen = 0
        self.pending = np.zeros(0, dtype=np.int64)       # rows with ts > end, for a range whose end moves
        self.moving_end = spec.time_range.kind != "custom"
        extra = {f"{m.metric}_n" for p in spec.panels for m in p.measures
                 if m.metric in SUM_METRICS and m.agg == "avg" and m.metric != "cost_usd"}
        self.sum_names = list(_BASE_SUMS) + sorted(extra - set(_BASE_SUMS))
        self.sums: dict[str, np.ndarray] = {}
        # per-bucket distribution aggregates shown by timeseries panels: metric -> {agg}
        self.bucket_aggs: dict[str, set[str]] = {m: set() for m in DIST_METRICS}
        for p in spec.panels:
            if KINDS[p.kind].bucket_dists:
                for m in p.measures:
                    if m.metric in DIST_METRICS and m.agg != "avg":
                        self.bucket_aggs[m.metric].add(m.agg)
        self.cells: dict[str, dict[tuple[int, int], np.ndarray]] = {m: {} for m in DIST_METRICS}
        self.live_from: dict[str, int] = {}       # metric -> first absolute bucket whose cells are all kept
        self.pct: dict[str, dict[str, np.ndarray]] = {m: {} for m in DIST_METRICS}      # (nb, G)
        self.pct_all: dict[str, dict[str, np.ndarray]] = {m: {} for m in DIST_METRICS}  # (nb,)
        self.range_sorted: dict[str, dict[int, _Bag]] = {m: {} for m in DIST_METRICS}  # g (-1 = all)
        # whole-range values per group are kept only if a stat panel shows a percentile/min/max
        self.group_ranges = self.grouped and any(
            m.metric in DIST_METRICS and m.agg != "avg" for p in spec.panels if KINDS[p.kind].range_dists
            for m in p.measures)
        # per-bucket values of all groups together only if a panel shows a distribution unsplit
        self.bucket_all = self.grouped and any(
            KINDS[p.kind].bucket_dists and not p.split_by_group and m.metric in DIST_METRICS and m.agg != "avg"
            for p in spec.panels for m in p.measures)
        self.row_parts: list[np.ndarray] = []
        self.g_parts: list[np.ndarray] = []
        self.memo: dict[str, tuple[tuple, PanelData]] = {}     # panel id -> (_calls_key, result): see board_data

    # -- selecting rows ----------------------------------------------------------------------------------
    def _raw_groups(self, n: int) -> tuple[np.ndarray, list[str]]:
        kind, name = self.group
        if kind == "field":
            return self.cache.view(n)[name], self.cache.labels(name)
        return self.cache.attribute_codes(self.store, name)

    def _select(self, rows: np.ndarray | slice, n: int) -> tuple[np.ndarray | slice, np.ndarray]:
        """(kept rows, pending row indices) among `rows` under the range and the filters.  Kept rows are
        a slice when `rows` is one and every row is kept (no index array for the usual board)."""
        v = self.cache.view(n)
        ts = v["ts"][rows]
        is_slice = isinstance(rows, slice)
        g = self.grid
        late = np.flatnonzero(ts > g.end) if self.moving_end else np.zeros(0, dtype=np.int64)
        pending = late + rows.start if is_slice else rows[late]
        mask = (ts >= g.start) & (ts <= g.end)
        f = self.spec.filters
        for column, wanted in (("model", f.models), ("status", f.statuses), ("api", f.apis)):
            if wanted:
                labels = self.cache.labels(column)
                allowed = np.zeros(len(labels) + 1, dtype=bool)
                for lbl in wanted:
                    if lbl in labels:
                        allowed[labels.index(lbl)] = True
                mask &= allowed[v[column][rows]]
        for af in f.attributes:
            codes, labels = self.cache.attribute_codes(self.store, af.key)
            target = attribute_label(af.value)
            allowed = np.array([lbl == target for lbl in labels] + [False], dtype=bool)
            mask &= allowed[codes[:n][rows]]
        if f.text:
            mask &= self.cache.text_mask(self.store, f.text)[:n][rows]
        if is_slice:
            return (rows if mask.all() else np.flatnonzero(mask) + rows.start), pending
        return rows[mask], pending

    def _group_of(self, rows: np.ndarray | slice, n: int, rank: bool) -> np.ndarray:
        """Group index per row; new labels become groups (ranked by count when `rank`)."""
        if not self.grouped:
            k = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
            return np.zeros(k, dtype=np.int8)
        raw_all, labels = self._raw_groups(n)
        raw = raw_all[rows]
        if len(self.gmap) < len(labels):
            self.gmap = np.concatenate([self.gmap, np.full(len(labels) - len(self.gmap), -1, dtype=np.int16)])
        known = self.gmap[:len(labels)] >= 0
        if known.all():
            return self.gmap[raw]
        if not known.any():               # a first computation: every row is new, no gather needed
            everything, new_counts = True, np.bincount(raw, minlength=len(labels))
        else:
            unmapped = self.gmap[raw] < 0
            everything = bool(unmapped.all())
            new_counts = np.bincount(raw if everything else raw[unmapped], minlength=len(labels))
        new = np.flatnonzero(new_counts)
        if len(new):
            if rank:                      # first computation: biggest groups first, the tail as "(other)"
                counts = (new_counts if everything else np.bincount(raw, minlength=len(labels)))[new]
                new = new[sorted(range(len(new)), key=lambda i: (-counts[i], labels[new[i]]))]
                keep = len(new) if len(self.groups) + len(new) <= MAX_GROUPS else MAX_GROUPS - 1 - len(self.groups)
            else:                         # live: new labels join while there is room
                keep = 0 if self.other is not None else max(MAX_GROUPS - len(self.groups), 0)
            for i, code in enumerate(new.tolist()):
                if i < keep:
                    self.gmap[code] = self._add_group(labels[code])
                else:
                    if self.other is None:
                        self.other = self._add_group(OTHER_LABEL)
                    self.gmap[code] = self.other
        return self.gmap[raw]

    def _add_group(self, label: str) -> int:
        self.groups.append(label)
        for name, arr in self.sums.items():
            self.sums[name] = np.hstack([arr, np.zeros((arr.shape[0], 1))])
        for metric in DIST_METRICS:
            for agg, arr in self.pct[metric].items():
                self.pct[metric][agg] = np.hstack([arr, np.full((arr.shape[0], 1), np.nan)])
        return len(self.groups) - 1

    # -- full computation -------------------------------------------------------------------------------
    def full(self, n: int) -> None:
        """Everything from the columns, streaming through them in blocks of BLOCK_ROWS rows: the per-row
        passes (bucket, cell, masks, sums) run on cache-sized pieces, and only the values the distribution
        panels need are collected for the per-cell sorts."""
        grid = self.grid
        rows, self.pending = self._select(slice(0, n), n)
        self.n_seen = n
        self.row_parts = [rows]
        sl = rows if isinstance(rows, slice) else _as_slice(rows)
        v = self.cache.view(n)
        g_all = self._group_of(sl, n, rank=True)
        self.g_parts = [g_all]
        G = len(self.groups) if self.grouped else 1
        cells = grid.nb * G
        total = len(g_all)
        succ_code = self.cache.dicts["status"].index.get("success", -9)
        sums = {name: np.zeros(cells) for name in self.sum_names}
        vals = {m: np.empty(total) for m in DIST_METRICS}           # untouched pages cost nothing
        vcell = {m: np.empty(total, dtype=np.int32) for m in DIST_METRICS}
        filled = dict.fromkeys(DIST_METRICS, 0)
        for a in range(0, total, BLOCK_ROWS):
            b = min(a + BLOCK_ROWS, total)
            bsl = slice(sl.start + a, sl.start + b) if isinstance(sl, slice) else sl[a:b]
            cell = bucket_index(v["ts"][bsl], grid.start, grid.bucket)
            if G > 1:
                cell *= G
                cell += g_all[a:b]
            for name, arr in _cell_sums(self.cache, v, bsl, cell, cells, self.sum_names).items():
                sums[name] += arr
            succ = v["status"][bsl] == succ_code
            for metric in DIST_METRICS:
                x = v[metric][bsl]
                ok = succ & ~np.isnan(x)
                k, pos = int(np.count_nonzero(ok)), filled[metric]
                vals[metric][pos:pos + k] = x[ok]
                vcell[metric][pos:pos + k] = cell[ok]
                filled[metric] = pos + k
        self.sums = {name: arr.reshape(grid.nb, G) for name, arr in sums.items()}
        for metric in DIST_METRICS:
            k = filled[metric]
            self._full_dist(metric, vals.pop(metric)[:k], vcell.pop(metric)[:k], G)

    def _full_dist(self, metric: str, vals: np.ndarray, vcell: np.ndarray, G: int) -> None:
        """Per-cell sorted values (cells = bucket x group), whole-range sorted values, and the percentiles
        the panels show.  `vals` (ours to reorder) come in row order, and rows follow time, so each bucket is
        (nearly) one contiguous run: sorting cell by cell touches memory in order instead of gathering at
        random, and the per-bucket sort happens in place."""
        grid = self.grid
        nb = grid.nb
        cells, rs = self.cells[metric], self.range_sorted[metric]
        cells.clear()
        rs.clear()
        if self.grouped:
            vb, vg = np.divmod(vcell, G)
            if self.group_ranges:
                gflat, gstarts, gcounts = _sorted_segments(vals, vg, G)
                for k in range(G):
                    rs[k] = _Bag(gflat[gstarts[k]:gstarts[k] + gcounts[k]])
            del vg
            if self.bucket_aggs[metric]:            # only what the panels show
                flat, starts, counts = _sorted_segments(vals, vcell, nb * G)
                live = self._live_from(counts.reshape(nb, G).sum(axis=1))
                self._keep_cells(metric, flat, starts, counts, G, live, self.pct[metric], (nb, G))
                del flat
                if self.bucket_all:
                    aflat, astarts, acounts = _sorted_segments(vals, vb, nb, inplace=True)
                    self._keep_cells(metric, aflat, astarts, acounts, 1, live, self.pct_all[metric], (nb,), group=-1)
        elif self.bucket_aggs[metric]:
            flat, starts, counts = _sorted_segments(vals, vcell, nb, inplace=True)
            live = self._live_from(counts)
            self._keep_cells(metric, flat, starts, counts, 1, live, self.pct[metric], (nb, 1))
        vals.sort()                                  # the whole range, in place
        rs[-1] = _Bag(vals)
        if not self.grouped:
            rs[0] = rs[-1]

    def _keep_cells(self, metric: str, flat: np.ndarray, starts: np.ndarray, counts: np.ndarray, G: int, live: int,
                    pct: dict[str, np.ndarray], shape: tuple, group: int | None = None) -> None:
        """The shown percentiles of every cell, and copies of the cells of the live buckets."""
        self.live_from[metric] = self.grid.abs0 + live
        for agg in self.bucket_aggs[metric]:
            pct[agg] = _flat_percentiles(flat, starts, counts, agg).reshape(shape)
        cells = self.cells[metric]
        for k in np.flatnonzero(counts[live * G:]).tolist():
            k += live * G
            cells[(self.grid.abs0 + k // G, k % G if group is None else group)] = flat[starts[k]:starts[k] + counts[k]].copy()

    def _live_from(self, per_bucket: np.ndarray) -> int:
        """The first bucket whose sorted values are kept: the last LIVE_BUCKETS buckets that have calls (and any
        after them).  Older buckets keep only their percentiles; a late call landing in one rebuilds it."""
        used = np.flatnonzero(per_bucket)
        return int(used[-LIVE_BUCKETS]) if len(used) >= LIVE_BUCKETS else 0

    def _cell_values(self, metric: str, bi: int, gi: int) -> np.ndarray:
        """Sorted values of a cell whose sorted array was let go, from the rows counted so far."""
        rows, gis = self.covered()
        v = self.cache.view(self.n_seen)
        sel = bucket_index(v["ts"][rows], self.grid.start, self.grid.bucket) == bi
        if gi >= 0:
            sel &= gis == gi
        rows = rows[sel]
        x = v[metric][rows]
        ok = (v["status"][rows] == self.cache.dicts["status"].index.get("success", -9)) & ~np.isnan(x)
        return np.sort(x[ok])

    # -- incremental ----------------------------------------------------------------------------------------
    def can_advance(self, grid: Grid) -> bool:
        old = self.grid
        return grid.bucket == old.bucket and grid.abs0 >= old.abs0 and grid.end >= old.end

    def advance(self, grid: Grid) -> None:
        old = self.grid
        k = grid.abs0 - old.abs0
        keep = old.nb - k
        grow = grid.nb - max(keep, 0)

        def shift(arr: np.ndarray, fill: float) -> np.ndarray:
            arr = arr[k:] if k < len(arr) else arr[:0]
            if grow > 0:
                pad = np.full((grow,) + arr.shape[1:], fill)
                arr = np.concatenate([arr, pad])
            return arr[:grid.nb]

        if k or grid.nb != old.nb:
            for name in self.sums:
                self.sums[name] = shift(self.sums[name], 0.0)
            for metric in DIST_METRICS:
                for agg in self.pct[metric]:
                    self.pct[metric][agg] = shift(self.pct[metric][agg], np.nan)
                for agg in self.pct_all[metric]:
                    self.pct_all[metric][agg] = shift(self.pct_all[metric][agg], np.nan)
        self.grid = grid
        if k:
            for metric in DIST_METRICS:
                cells = self.cells[metric]
                gone = [key for key in cells if key[0] < grid.abs0]
                if gone:
                    for key in gone:
                        del cells[key]
                    self._rebuild_range(metric)

    def _rebuild_range(self, metric: str) -> None:
        """Whole-range sorted values again, from the rows still in range (buckets left at the start)."""
        rows, gis = self.covered()
        v = self.cache.view(self.n_seen)
        x = v[metric][rows]
        ok = (v["status"][rows] == self.cache.dicts["status"].index.get("success", -9)) & ~np.isnan(x)
        vals, vg = x[ok], gis[ok]
        rs = self.range_sorted[metric]
        rs.clear()
        rs[-1] = _Bag(np.sort(vals))
        if not self.grouped:
            rs[0] = rs[-1]
        elif self.group_ranges:
            for k in np.unique(vg).tolist():
                rs[k] = _Bag(np.sort(vals[vg == k]))

    def add(self, n: int) -> None:
        """Fold in rows [n_seen, n) and the pending rows whose time has come."""
        fresh = np.arange(self.n_seen, n, dtype=np.int64)
        cand = np.concatenate([self.pending, fresh]) if len(self.pending) else fresh
        self.n_seen = n
        if not len(cand):
            return
        rows, self.pending = self._select(cand, n)
        if not len(rows):
            return
        grid = self.grid
        g = self._group_of(rows, n, rank=False)
        v = self.cache.view(n)
        b = bucket_index(v["ts"][rows], grid.start, grid.bucket)
        w = _Weights(self.cache, v, rows)
        for name in self.sum_names:
            weight = w.get(name)
            np.add.at(self.sums[name], (b, g), 1.0 if weight is None else weight.astype(np.float64))
        for metric in DIST_METRICS:
            valid = w.valid(metric)
            if valid.any():
                self._add_dist(metric, v[metric][rows][valid], b[valid], g[valid])
        self.row_parts.append(rows)
        self.g_parts.append(g)

    def _add_dist(self, metric: str, vals: np.ndarray, b: np.ndarray, g: np.ndarray) -> None:
        grid = self.grid
        cells = self.cells[metric]
        targets = [(g, self.pct[metric])] if self.bucket_aggs[metric] else []
        if targets and self.bucket_all:
            targets.append((np.full(len(g), -1), None))
        for gg, pct in targets:
            keys = b * (len(self.groups) + 2) + (gg + 1)
            for key in np.unique(keys).tolist():
                sel = keys == key
                bi, gi = int(b[sel][0]), int(gg[sel][0])
                ckey = (grid.abs0 + bi, gi)
                old = cells.get(ckey)
                if old is None and grid.abs0 + bi < self.live_from.get(metric, 0):
                    old = self._cell_values(metric, bi, gi)      # a late call in a bucket we let go
                new = np.sort(vals[sel])
                merged = new if old is None else np.insert(old, np.searchsorted(old, new), new)
                cells[ckey] = merged
                for agg in self.bucket_aggs[metric]:
                    value = _sorted_stat(merged, agg)
                    if gi >= 0:
                        self.pct[metric][agg][bi, gi] = value
                    else:
                        self.pct_all[metric][agg][bi] = value
        rs = self.range_sorted[metric]
        parts = [(-1, vals)]
        if self.group_ranges:
            parts += [(k, vals[g == k]) for k in np.unique(g).tolist()]
        for k, new in parts:
            rs.setdefault(k, _Bag(np.zeros(0))).add(new)
        if not self.grouped:
            rs[0] = rs[-1]

    # -- output ------------------------------------------------------------------------------------------------
    def covered(self) -> tuple[np.ndarray, np.ndarray]:
        parts = [np.arange(p.start, p.stop, dtype=np.int64) if isinstance(p, slice) else p for p in self.row_parts]
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        gis = np.concatenate(self.g_parts) if self.g_parts else np.zeros(0, dtype=np.int64)
        if len(rows):
            ts = self.cache.view(self.n_seen)["ts"][rows]
            keep = (ts >= self.grid.start) & (ts <= self.grid.end)
            if not keep.all():
                rows, gis = rows[keep], gis[keep]
        self.row_parts, self.g_parts = [rows], [gis]
        return rows, gis

    def light_rows(self, rows: np.ndarray, gis: np.ndarray) -> list[RequestRow]:
        v = self.cache.view(self.n_seen)
        labels = {c: self.cache.labels(c) for c in ("model", "status", "api")}

        def tok(name: str, r: int) -> int | None:
            return None if v["nulls"][r] & (1 << TOKEN_COLUMNS.index(name)) else int(v[name][r])

        def flt(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        out = []
        for r, gi in zip(rows.tolist(), gis.tolist()):
            model = labels["model"][v["model"][r]]
            out.append(RequestRow(
                id=int(v["id"][r]), ts=float(v["ts"][r]), api=labels["api"][v["api"][r]],
                model=None if model == MISSING_LABEL else model, status=labels["status"][v["status"][r]],
                prompt_tokens=tok("prompt_tokens", r), completion_tokens=tok("completion_tokens", r),
                total_tokens=tok("total_tokens", r), cost_usd=flt(v["cost_usd"][r]),
                latency_ms=flt(v["latency_ms"][r]), ttft_ms=flt(v["ttft_ms"][r]),
                group=self.groups[gi] if self.grouped and 0 <= gi < len(self.groups) else None))
        return out

    def board_data(self, now: float, incremental: bool) -> BoardData:
        grid = self.grid
        x = grid.start + grid.bucket * np.arange(grid.nb, dtype=np.float64)
        panels = []
        for p in self.spec.panels:
            kind = KINDS[p.kind]                       # monitor/boards/kinds.py: one entry per kind
            memo = self.memo.get(p.id) if kind.same_calls_same_result else None
            if memo is not None and memo[0] == self._calls_key():
                panels.append(copy.deepcopy(memo[1]))       # an idle tick: the same calls, the same answer
                continue
            pd = PanelData(id=p.id, title=p.title, kind=p.kind, chart=p.chart, unit=panel_unit(p))
            kind.compute(self, p, pd)
            if kind.same_calls_same_result:
                self.memo[p.id] = (self._calls_key(), copy.deepcopy(pd))
            panels.append(pd)
        return BoardData(
            name=self.spec.name, stream=self.spec.stream, group_by=self.spec.group_by, start=grid.start,
            end=grid.end, bucket_s=grid.bucket, x=x, groups=list(self.groups) if self.grouped else [],
            requests=self.sums["n"].sum(axis=1) if self.sums else np.zeros(grid.nb),
            panels=panels, summary=self._summary(), last_id=self.cache.last_id, computed_at=now,
            incremental=incremental)

    def _calls_key(self) -> tuple:
        """Changes whenever the counted calls (or the grid and groups) may have: for kinds that recompute
        from the calls, an unchanged key means an unchanged result."""
        counted = sum(p.stop - p.start if isinstance(p, slice) else len(p) for p in self.row_parts)
        g = self.grid
        return (self.n_seen, len(self.pending), counted, g.abs0, g.nb, g.bucket, len(self.groups))

    def _col(self, name: str, gi: int | None) -> np.ndarray:
        arr = self.sums[name]
        return arr.sum(axis=1) if gi is None else arr[:, gi].copy()

    def _bucket_values(self, m: Measure, gi: int | None) -> np.ndarray:
        bucket = float(self.grid.bucket)
        metric, agg = m.metric, m.agg
        if metric in DIST_METRICS:
            if agg == "avg":
                return _ratio(self._col(f"{metric}_sum", gi), self._col(f"{metric}_n", gi))
            if gi is None and self.grouped:
                return self.pct_all[metric][agg].copy()
            return self.pct[metric][agg][:, 0 if gi is None else gi].copy()
        name = {"requests": "n", "errors": "err", "cost_usd": "cost"}.get(metric, metric)
        base = self._col(name, gi)
        if agg in ("count", "sum"):
            return base
        if agg == "per_min":
            return base / (bucket / 60.0)
        if agg == "per_s":
            return base / bucket
        if agg == "cumulative":
            return np.cumsum(base)
        if agg == "ratio":
            return _ratio(base, self._col("n", gi))
        if agg == "avg":
            return _ratio(base, self._col("cost_n" if metric == "cost_usd" else f"{metric}_n", gi))
        raise ValueError(f"unknown aggregation {agg}")

    def _series(self, m: Measure, split: bool, several: bool) -> list[Series]:
        if self.grouped and split:
            out = []
            for gi, lbl in enumerate(self.groups):
                label = f"{m.display_label()} · {lbl}" if several else lbl
                out.append(Series(key=f"{m.key}|{lbl}", label=label, metric=m.metric, agg=m.agg, unit=m.unit,
                                  group=lbl, y=self._bucket_values(m, gi)))
            return out
        return [Series(key=m.key, label=m.display_label(), metric=m.metric, agg=m.agg, unit=m.unit, group=None,
                       y=self._bucket_values(m, None))]

    def _total(self, name: str, gi: int | None) -> float:
        arr = self.sums.get(name)
        if arr is None or not arr.size:
            return 0.0
        return float(arr.sum() if gi is None else arr[:, gi].sum())

    def _stat(self, m: Measure, gi: int | None) -> float | None:
        metric, agg = m.metric, m.agg
        duration = max(self.grid.end - self.grid.start, 1e-9)
        if metric in DIST_METRICS:
            if agg == "avg":
                n = self._total(f"{metric}_n", gi)
                return self._total(f"{metric}_sum", gi) / n if n else None
            bag = self.range_sorted[metric].get(-1 if gi is None else gi)
            return bag.stat(agg) if bag is not None else None
        name = {"requests": "n", "errors": "err", "cost_usd": "cost"}.get(metric, metric)
        total = self._total(name, gi)
        if agg in ("count", "sum", "cumulative"):
            return total
        if agg == "per_min":
            return total / (duration / 60.0)
        if agg == "per_s":
            return total / duration
        if agg == "ratio":
            n = self._total("n", gi)
            return total / n if n else None
        if agg == "avg":
            n = self._total("cost_n" if metric == "cost_usd" else f"{metric}_n", gi)
            return total / n if n else None
        return None

    def _summary(self) -> Summary:
        t = lambda name: self._total(name, None)   # noqa: E731
        n, err, succ = int(t("n")), int(t("err")), int(t("succ"))
        lat = self.range_sorted["latency_ms"].get(-1) or _Bag(np.zeros(0))
        ttft = self.range_sorted["ttft_ms"].get(-1) or _Bag(np.zeros(0))
        priced = int(t("cost_n"))
        tt_n = t("total_tokens_n")
        return Summary(
            requests=n, successes=succ, errors=err, cancelled=n - err - succ,
            error_rate=err / n if n else None, cost_usd=t("cost"), priced_calls=priced,
            unpriced_calls=int(t("unpriced")), avg_cost_per_request=t("cost") / priced if priced else None,
            prompt_tokens=int(t("prompt_tokens")), completion_tokens=int(t("completion_tokens")),
            total_tokens=int(t("total_tokens")), cached_tokens=int(t("cached_tokens")),
            reasoning_tokens=int(t("reasoning_tokens")),
            avg_tokens_per_request=t("total_tokens") / tt_n if tt_n else None,
            avg_latency_ms=t("latency_ms_sum") / t("latency_ms_n") if t("latency_ms_n") else None,
            latency_ms={q: lat.stat(q) for q in ("p50", "p95", "p99")},
            avg_ttft_ms=t("ttft_ms_sum") / t("ttft_ms_n") if t("ttft_ms_n") else None,
            ttft_ms={q: ttft.stat(q) for q in ("p50", "p95")},
        )


class _Weights:
    """Per-row weights for the bincounts, computed one at a time (a million rows: ~8 MB each)."""

    def __init__(self, cache: ColumnCache, v: dict[str, np.ndarray], rows: np.ndarray):
        self.v, self.rows = v, rows
        index = cache.dicts["status"].index
        status = v["status"][rows]
        self.succ = status == index.get("success", -9)
        self.err_code = index.get("error", -9)
        self.status = status
        self._valid: dict[str, np.ndarray] = {}

    def col(self, name: str) -> np.ndarray:
        return self.v[name][self.rows]

    def valid(self, metric: str) -> np.ndarray:
        if metric not in self._valid:
            self._valid[metric] = self.succ & ~np.isnan(self.col(metric))
        return self._valid[metric]

    def get(self, name: str) -> np.ndarray | None:
        if name == "n":
            return None
        if name == "err":
            return self.status == self.err_code
        if name == "succ":
            return self.succ
        if name == "unpriced":
            return self.succ & np.isnan(self.col("cost_usd"))
        if name == "cost":
            return np.nan_to_num(self.col("cost_usd"), nan=0.0)
        if name == "cost_n":
            return ~np.isnan(self.col("cost_usd"))
        if name in TOKEN_COLUMNS:
            return self.col(name)
        if name.endswith("_sum"):
            metric = name[:-4]
            return np.where(self.valid(metric), self.col(metric), 0.0)
        if name.endswith("_n"):
            base = name[:-2]
            if base in DIST_METRICS:
                return self.valid(base)
            return (self.col("nulls") & (1 << TOKEN_COLUMNS.index(base))) == 0
        raise KeyError(name)


def _as_slice(rows: np.ndarray) -> np.ndarray | slice:
    """A slice when the rows are contiguous (the usual case: ids follow time), so columns need no gather."""
    if len(rows) and int(rows[-1]) - int(rows[0]) + 1 == len(rows):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


_F_COST, _F_LAT, _F_TTFT, _F_TT = 1, 2, 4, 8


def _cell_sums(cache: ColumnCache, v: dict[str, np.ndarray], sl: Any, cell: np.ndarray, cells: int,
               names: list[str]) -> dict[str, np.ndarray]:
    """Every sum of `names` per cell, with as few passes as possible: one unweighted bincount over
    (cell, status, which-values-are-present) gives all the counts, and a weighted bincount over the same
    key gives each float sum without masking (a NaN only lands in bins whose flag says "absent")."""
    labels = cache.dicts["status"].labels
    index = cache.dicts["status"].index
    S = max(len(labels), 1)
    status = v["status"][sl]
    cost, lat, ttft = v["cost_usd"][sl], v["latency_ms"][sl], v["ttft_ms"][sl]
    flags = (~np.isnan(cost)).view(np.uint8)            # one byte per row: 8x less traffic than int64 flags
    flags |= (~np.isnan(lat)).view(np.uint8) << 1
    flags |= (~np.isnan(ttft)).view(np.uint8) << 2
    flags |= ((v["nulls"][sl] & (1 << TOKEN_COLUMNS.index("total_tokens"))) == 0).view(np.uint8) << 3
    flags += (status.astype(np.uint8) * 16) if S * 16 <= 256 else 0
    cell = cell.astype(np.int64)          # bincount wants intp: convert once
    key = cell * (S * 16)
    if S * 16 > 256:
        key += status.astype(np.int64) * 16
    key += flags
    del flags
    size = cells * S * 16
    f = np.arange(16)
    counts = np.bincount(key, minlength=size).reshape(cells, S, 16)
    succ, err = index.get("success"), index.get("error")
    zero = np.zeros(cells)
    out: dict[str, np.ndarray] = {
        "n": counts.sum(axis=(1, 2)).astype(np.float64),
        "err": counts[:, err].sum(axis=1).astype(np.float64) if err is not None else zero.copy(),
        "succ": counts[:, succ].sum(axis=1).astype(np.float64) if succ is not None else zero.copy(),
        "unpriced": counts[:, succ][:, (f & _F_COST) == 0].sum(axis=1).astype(np.float64)
        if succ is not None else zero.copy(),
        "cost_n": counts[:, :, (f & _F_COST) != 0].sum(axis=(1, 2)).astype(np.float64),
        "total_tokens_n": counts[:, :, (f & _F_TT) != 0].sum(axis=(1, 2)).astype(np.float64),
        "latency_ms_n": counts[:, succ][:, (f & _F_LAT) != 0].sum(axis=1).astype(np.float64)
        if succ is not None else zero.copy(),
        "ttft_ms_n": counts[:, succ][:, (f & _F_TTFT) != 0].sum(axis=1).astype(np.float64)
        if succ is not None else zero.copy(),
    }
    del counts
    w = np.bincount(key, weights=cost, minlength=size).reshape(cells, S, 16)
    out["cost"] = w[:, :, (f & _F_COST) != 0].sum(axis=(1, 2))
    for metric, flag in (("latency_ms", _F_LAT), ("ttft_ms", _F_TTFT)):
        if succ is None:
            out[f"{metric}_sum"] = zero.copy()
            continue
        w = np.bincount(key, weights=v[metric][sl], minlength=size).reshape(cells, S, 16)
        out[f"{metric}_sum"] = w[:, succ][:, (f & flag) != 0].sum(axis=1)
    del w, key
    for name in TOKEN_COLUMNS:
        out[name] = np.bincount(cell, weights=v[name][sl], minlength=cells).astype(np.float64)
    for name in names:
        if name not in out:        # <token>_n for an "avg" of a token metric other than total
            base = name[:-2]
            present = (v["nulls"][sl] & (1 << TOKEN_COLUMNS.index(base))) == 0
            out[name] = np.bincount(cell, weights=present, minlength=cells).astype(np.float64)
    return {name: out[name] for name in names}


class _Bag:
    """A sorted multiset of floats: a big sorted array plus a small sorted array of recent additions, so a
    live tick costs O(recent) instead of an O(n) insert; merged when the recent part outgrows 1/32."""
    __slots__ = ("base", "extra", "_pos")

    def __init__(self, base: np.ndarray):
        self.base = base
        self.extra = np.zeros(0)
        self._pos: np.ndarray | None = None      # where each extra sits in the merged order (computed once per add)

    def __len__(self) -> int:
        return len(self.base) + len(self.extra)

    def __bool__(self) -> bool:      # a bag is an object, even when empty (`get(k) or default` semantics)
        return True

    def add(self, values: np.ndarray) -> None:
        new = np.sort(values)
        self._pos = None
        self.extra = np.insert(self.extra, np.searchsorted(self.extra, new), new) if len(self.extra) else new
        if len(self.extra) > max(4096, len(self.base) // 32):
            self.base = np.insert(self.base, np.searchsorted(self.base, self.extra), self.extra)
            self.extra = np.zeros(0)

    def at(self, k: int) -> float:
        """The k-th smallest value (0-based)."""
        if not len(self.extra):
            return float(self.base[k])
        merged_pos = self._pos
        if merged_pos is None:
            merged_pos = self._pos = np.searchsorted(self.base, self.extra, side="right") + np.arange(len(self.extra))
        j = int(np.searchsorted(merged_pos, k))          # extras placed before position k
        if j < len(merged_pos) and merged_pos[j] == k:
            return float(self.extra[j])
        return float(self.base[k - j])

    def stat(self, agg: str) -> float | None:
        n = len(self)
        if n == 0:
            return None
        if agg == "min":
            return self.at(0)
        if agg == "max":
            return self.at(n - 1)
        pos = (n - 1) * PERCENTILES[agg] / 100.0          # monitor.stats.percentile's arithmetic
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        a, b = self.at(lo), self.at(hi)
        return a + (b - a) * (pos - lo)
