"""The queries the app's pages ask the store (so desktop/ holds no SQL).

Requests page: one page of a stream's calls, newest first, with keyset pagination on (ts, id) — the order
of the store's (stream_id, ts) index, so a page is an index walk, never a sort.  Playground: the record
a call it just made produced.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .record import Record
from .store import Store


@dataclass(frozen=True)
class CallFilter:
    stream: str = ""
    model: str = ""            # "" = any
    status: str = ""           # "" = any
    text: str = ""             # substring of model, request, output, attributes or error


# The columns of a CallRow tuple, in order.
ROW_FIELDS = ("id", "ts", "model", "api", "status", "error", "prompt_tokens", "completion_tokens",
              "cached_tokens", "reasoning_tokens", "usage_estimated", "cost_usd", "latency_ms", "ttft_ms",
              "attributes")
_SELECT = ("SELECT id, ts, model, api, status, substr(error, 1, 400), prompt_tokens, completion_tokens, "
           "cached_tokens, reasoning_tokens, usage_estimated, cost_usd, latency_ms, ttft_ms, attributes "
           "FROM calls WHERE ")


def _where(store: Store, flt: CallFilter, *, by_id: bool = False) -> tuple[list[str], list[Any]] | None:
    sid = store.stream_id(flt.stream, create=False) if flt.stream else None
    if sid is None:
        return None
    # by_id: new calls are found by the rowid range; "+" keeps SQLite off the stream index for that.
    clauses, params = ["+stream_id = ?" if by_id else "stream_id = ?"], [sid]
    if flt.model:
        clauses.append("model = ?")
        params.append(flt.model)
    if flt.status:
        clauses.append("status = ?")
        params.append(flt.status)
    if flt.text:
        # request and attributes are JSON with non-ASCII escaped ("zoë" is stored as "zo\\u00eb").
        escaped = json.dumps(flt.text)[1:-1]
        searches = [("model", flt.text), ("output", flt.text), ("error", flt.text),
                    ("request", escaped), ("attributes", escaped)]
        clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c, _ in searches) + ")")
        params += [_like(text) for _, text in searches]
    return clauses, params


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_calls(store: Store, flt: CallFilter, *, before: tuple[float, int] | None = None,
               after_id: int | None = None, limit: int = 200) -> list[tuple]:
    """One page of rows (tuples in ROW_FIELDS order), newest first.

    before=(ts, id): the page after that row; after_id: calls logged after that id (live updates).
    """
    where = _where(store, flt, by_id=after_id is not None)
    if where is None:
        return []
    clauses, params = where
    if before is not None:
        clauses.append("(ts, id) < (?, ?)")
        params += list(before)
    if after_id is not None:
        clauses.append("id > ?")
        params.append(after_id)
    sql = _SELECT + " AND ".join(clauses) + " ORDER BY ts DESC, id DESC LIMIT ?"
    return store.conn.execute(sql, params + [limit]).fetchall()


def count_calls(store: Store, flt: CallFilter) -> int:
    where = _where(store, flt)
    if where is None:
        return 0
    clauses, params = where
    return store.conn.execute("SELECT COUNT(*) FROM calls WHERE " + " AND ".join(clauses), params).fetchone()[0]


def stream_models(store: Store, stream: str) -> list[str]:
    sid = store.stream_id(stream, create=False) if stream else None
    if sid is None:
        return []
    rows = store.conn.execute("SELECT DISTINCT model FROM calls WHERE stream_id = ? AND model IS NOT NULL", (sid,))
    return sorted(r[0] for r in rows)


def find_logged_call(store: Store, stream: str, since_ts: float, model: str, messages: list[dict],
                     attributes: dict) -> Record | None:
    """The record a call produced: newest in its stream, started no earlier than it was sent, with its
    model, messages and attributes (other processes may log to the same stream meanwhile)."""
    rows = store.conn.execute(
        "SELECT c.id FROM calls c JOIN streams s ON s.id = c.stream_id "
        "WHERE s.name = ? AND c.ts >= ? ORDER BY c.id DESC LIMIT 200",
        (stream, since_ts - 1.0)).fetchall()
    for (record_id,) in rows:
        record = store.record(record_id)
        if (record is not None and record.model == model and record.request.get("messages") == messages
                and record.attributes == attributes):
            return record
    return None


def today_summary(store: Store, since: float) -> tuple[int, float, int]:
    """(calls, cost, calls without a known price) since `since`, over local streams only (not imports).

    `stream_id IN (...) AND ts >= ?` lets SQLite walk the (stream_id, ts) index once per stream.
    """
    row = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(CASE WHEN cost_usd IS NULL AND status = 'success' THEN 1 ELSE 0 END), 0) "
        "FROM calls WHERE stream_id IN (SELECT id FROM streams WHERE origin = 'local') AND ts >= ?",
        (since,)).fetchone()
    return row[0], row[1], row[2]
