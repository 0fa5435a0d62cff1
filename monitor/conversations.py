"""Conversations: the calls that belong together, and what they add up to.

Calls are linked when
- a Responses call continues an earlier one: its request's `previous_response_id` is that call's `response_id`;
- they name the same Responses `conversation` (a string or {"id": ...}) in their requests;
- they carry the same `session` attribute in the same stream;
- a chat call sends the result of another call's tool call (a `tool` message / `function_call_output`
  with that call id), found among the next few calls of the same stream.

Every lookup is an index search (store.py's migration 5 indexes response_id, previous_response_id,
conversation and session) or a bounded walk of the stream's (stream_id, ts) index, so a thread costs a
few queries per call in it, also on a store of a million calls.  A thread is capped at MAX_THREAD calls.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from .record import Record
from .store import Store

MAX_THREAD = 500
TOOL_LOOKAROUND = 200            # calls of the same stream searched for a tool call's follow-up

# The indexed expressions and their partial-index guards (store.py, migration 5): SQLite uses such an
# index only for a query with the same expression and the same guard.
PREVIOUS_EXPR = "json_extract(request, '$.previous_response_id')"
PREVIOUS_GUARD = "instr(request, '\"previous_response_id\"') > 0"
CONVERSATION_EXPR = "coalesce(json_extract(request, '$.conversation.id'), json_extract(request, '$.conversation'))"
CONVERSATION_GUARD = "instr(request, '\"conversation\"') > 0"
SESSION_EXPR = "json_extract(attributes, '$.session')"
SESSION_GUARD = "instr(attributes, '\"session\"') > 0"


def conversation_id(request: dict[str, Any] | None) -> str | None:
    conv = (request or {}).get("conversation")
    if isinstance(conv, dict):
        conv = conv.get("id")
    return conv if isinstance(conv, str) and conv else None


def previous_response_id(request: dict[str, Any] | None) -> str | None:
    prev = (request or {}).get("previous_response_id")
    return prev if isinstance(prev, str) and prev else None


def session_of(record: Record) -> Any:
    session = (record.attributes or {}).get("session")
    return session if isinstance(session, (str, int)) and not isinstance(session, bool) and session != "" else None


def reply_tool_call_ids(record: Record) -> list[str]:
    """The ids of the tool calls the reply asked for (chat tool_calls, Responses function_call items)."""
    response = record.response or {}
    ids = []
    for choice in response.get("choices") or []:
        message = (choice or {}).get("message") or {}
        ids += [c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, dict)]
    ids += [item.get("call_id") for item in response.get("output") or []
            if isinstance(item, dict) and item.get("type") == "function_call"]
    return [i for i in ids if isinstance(i, str) and i]


def sent_tool_results(request: dict[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """(call id, output) for each tool result a request sends: chat `tool` messages, Responses
    `function_call_output` items."""
    request = request or {}
    for message in request.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "tool" and isinstance(message.get("tool_call_id"), str):
            yield message["tool_call_id"], message.get("content")
    items = request.get("input")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("type") == "function_call_output" and isinstance(item.get("call_id"), str):
            yield item["call_id"], item.get("output")


def has_links(record: Record) -> bool:
    """Whether the record could belong to a thread at all (cheap: no query)."""
    return bool(previous_response_id(record.request) or conversation_id(record.request) or session_of(record)
                or record.response_id or reply_tool_call_ids(record) or any(sent_tool_results(record.request)))


def _ids(store: Store, sql: str, params: tuple) -> list[int]:
    return [row[0] for row in store.conn.execute(sql, params).fetchall()]


def _linked_ids(store: Store, record: Record, asked: set) -> list[int]:
    """Ids of the calls directly linked to `record`; `asked` remembers keys already searched."""
    found: list[int] = []

    def ask(key: tuple, sql: str, params: tuple) -> None:
        if key not in asked:
            asked.add(key)
            found.extend(_ids(store, sql, params))

    if prev := previous_response_id(record.request):
        ask(("response", prev), "SELECT id FROM calls WHERE response_id = ? AND api = 'responses' LIMIT 5",
            (prev,))
    if record.response_id and record.api == "responses":
        ask(("previous", record.response_id), f"SELECT id FROM calls WHERE {PREVIOUS_EXPR} = ? "
            f"AND {PREVIOUS_GUARD} LIMIT {MAX_THREAD}", (record.response_id,))
    if conv := conversation_id(record.request):
        ask(("conversation", conv), f"SELECT id FROM calls WHERE {CONVERSATION_EXPR} = ? "
            f"AND {CONVERSATION_GUARD} LIMIT {MAX_THREAD}", (conv,))
    sid = store.stream_id(record.stream, create=False)
    if sid is None:
        return found
    if (session := session_of(record)) is not None:
        ask(("session", sid, session), f"SELECT id FROM calls WHERE stream_id = ? AND {SESSION_EXPR} = ? "
            f"AND {SESSION_GUARD} LIMIT {MAX_THREAD}", (sid, session))
    # Tool follow-ups: bounded walks of the stream's (stream_id, ts) index, the text matched with instr().
    for call_id in reply_tool_call_ids(record):
        ask(("result", call_id), "SELECT id FROM (SELECT id, request FROM calls WHERE stream_id = ? AND ts >= ? "
            f"AND id != ? ORDER BY ts LIMIT {TOOL_LOOKAROUND}) AS near WHERE instr(request, ?) > 0",
            (sid, record.timestamp, record.id, json.dumps(call_id)))
    for call_id, _ in sent_tool_results(record.request):
        ask(("caller", call_id), "SELECT id FROM (SELECT id, response FROM calls WHERE stream_id = ? AND ts <= ? "
            f"AND id != ? ORDER BY ts DESC LIMIT {TOOL_LOOKAROUND}) AS near WHERE instr(response, ?) > 0",
            (sid, record.timestamp, record.id, json.dumps(call_id)))
    return found


def thread_for(store: Store, record_id: int) -> list[Record]:
    """The record's conversation, oldest first (just the record when it has no links; [] when unknown)."""
    first = store.record(record_id)
    if first is None:
        return []
    found: dict[int, Record] = {first.id: first}
    todo, asked = [first], set()
    while todo and len(found) < MAX_THREAD:
        for linked in _linked_ids(store, todo.pop(), asked):
            if linked not in found and len(found) < MAX_THREAD:
                record = store.record(linked)
                if record is not None:
                    found[linked] = record
                    todo.append(record)
    return sorted(found.values(), key=lambda r: (r.timestamp, r.id or 0))


@dataclass(frozen=True)
class ThreadSummary:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float | None          # None when no call in it has a known price (unknown is never 0)
    unpriced: int                   # calls whose cost is unknown (the cost is then a lower bound)
    latency_ms: float               # the calls' latencies added up
    start: float                    # first call's start, unix seconds
    end: float                      # last call's end (its start + latency)
    estimated: bool                 # some token counts were estimated

    @property
    def span_s(self) -> float:
        return max(0.0, self.end - self.start)


def summarize(records: list[Record]) -> ThreadSummary | None:
    if not records:
        return None
    costs = [r.cost_usd for r in records if r.cost_usd is not None]
    return ThreadSummary(
        calls=len(records),
        prompt_tokens=sum(r.prompt_tokens or 0 for r in records),
        completion_tokens=sum(r.completion_tokens or 0 for r in records),
        total_tokens=sum(r.total_tokens or (r.prompt_tokens or 0) + (r.completion_tokens or 0) for r in records),
        cost_usd=sum(costs) if costs else None,
        unpriced=len(records) - len(costs),
        latency_ms=sum(r.latency_ms or 0.0 for r in records),
        start=min(r.timestamp for r in records),
        end=max(r.timestamp + (r.latency_ms or 0.0) / 1000 for r in records),
        estimated=any(r.usage_estimated for r in records),
    )


def tool_results(records: list[Record]) -> dict[str, Any]:
    """Every tool result sent in these calls' requests, by tool call id."""
    return {call_id: output for r in records for call_id, output in sent_tool_results(r.request)}
