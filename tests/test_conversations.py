"""Conversations (monitor/conversations.py) on a real store: previous_response_id chains, Responses
conversation ids, session attributes, chat tool follow-ups; the thread's totals; the lookups use indexes;
boards group by session."""
from __future__ import annotations

import pytest

from monitor import conversations
from monitor.boards.engine import compute_board
from monitor.boards.template import template_spec
from monitor.store import Store

try:
    from tests.app_helpers import make_record
    from tests.requests_replies import STREAM, T0, responses_tool_thread, tool_conversation
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import make_record
    from requests_replies import STREAM, T0, responses_tool_thread, tool_conversation


@pytest.fixture
def store(db_path):
    s = Store(db_path)
    yield s
    s.close()


def _resp(i: int, response_id: str, previous: str | None = None, **kw):
    request = {"model": "gpt-4.1-mini", "input": f"turn {i}"}
    if previous:
        request["previous_response_id"] = previous
    return make_record(STREAM, i, ts=T0 + i * 60, api="responses", request=request, response_id=response_id,
                       latency_ms=1000.0, prompt_tokens=10 * (i + 1), completion_tokens=5, total_tokens=10 * (i + 1) + 5,
                       **kw)


def test_previous_response_id_chain_is_one_thread_oldest_first(store):
    store.insert_records([
        _resp(0, "resp_a"), _resp(1, "resp_b", "resp_a"), _resp(2, "resp_other"),
        _resp(3, "resp_c", "resp_b", cost_usd=None), _resp(4, "resp_d", "resp_x_unknown"),
    ])
    ids = {r.response_id: r.id for r in store.records(STREAM)}
    for start in ("resp_a", "resp_b", "resp_c"):                  # from any call of the chain
        thread = conversations.thread_for(store, ids[start])
        assert [r.response_id for r in thread] == ["resp_a", "resp_b", "resp_c"]
    assert [r.response_id for r in conversations.thread_for(store, ids["resp_other"])] == ["resp_other"]
    assert conversations.thread_for(store, 999_999) == []

    summary = conversations.summarize(conversations.thread_for(store, ids["resp_b"]))
    assert summary.calls == 3
    assert summary.total_tokens == 15 + 25 + 45
    assert summary.cost_usd == pytest.approx(2 * 0.000021) and summary.unpriced == 1   # unknown is not 0
    assert summary.latency_ms == 3000.0
    assert summary.start == T0 and summary.span_s == pytest.approx(3 * 60 + 1.0)


def test_session_attribute_links_calls_of_one_stream(store):
    store.insert_records([
        make_record(STREAM, 0, ts=T0, attributes={"session": "s-1"}),
        make_record(STREAM, 1, ts=T0 + 5, attributes={"session": "s-2"}),
        make_record(STREAM, 2, ts=T0 + 9, attributes={"session": "s-1", "user": "ada"}),
        make_record("other/stream", 3, ts=T0 + 9, attributes={"session": "s-1"}),
        make_record(STREAM, 4, ts=T0 + 20, attributes={}),
    ])
    records = store.records(STREAM)
    thread = conversations.thread_for(store, records[2].id)
    assert [r.id for r in thread] == [records[0].id, records[2].id]
    assert [r.id for r in conversations.thread_for(store, records[3].id)] == [records[3].id]


def test_conversation_id_as_string_or_object_links_calls(store):
    store.insert_records([
        make_record(STREAM, 0, ts=T0, api="responses", request={"input": "a", "conversation": "conv_9"}),
        make_record(STREAM, 1, ts=T0 + 1, api="responses", request={"input": "b", "conversation": {"id": "conv_9"}}),
        make_record(STREAM, 2, ts=T0 + 2, api="responses", request={"input": "c", "conversation": "conv_8"}),
    ])
    records = store.records(STREAM)
    assert [r.id for r in conversations.thread_for(store, records[1].id)] == [records[0].id, records[1].id]


def test_real_tool_calls_link_to_the_calls_that_send_their_results(client, store):
    chat = tool_conversation(client, 0)                   # no session: linked by the tool call ids
    responses = responses_tool_thread(client, 10)         # linked by previous_response_id
    store.insert_records([*chat, make_record(STREAM, 5, ts=T0 + 55), *responses])
    records = store.records(STREAM)
    first_chat, second_chat, unrelated, first_resp, second_resp = records
    assert [r.id for r in conversations.thread_for(store, first_chat.id)] == [first_chat.id, second_chat.id]
    assert [r.id for r in conversations.thread_for(store, second_chat.id)] == [first_chat.id, second_chat.id]
    assert [r.id for r in conversations.thread_for(store, first_resp.id)] == [first_resp.id, second_resp.id]
    call_ids = conversations.reply_tool_call_ids(first_chat)
    assert len(call_ids) == 2 and set(conversations.tool_results([first_chat, second_chat])) == set(call_ids)
    assert conversations.reply_tool_call_ids(first_resp) == list(conversations.tool_results([second_resp]))


@pytest.mark.parametrize("expr, index", [
    ("response_id = ? AND api = 'responses'", "calls_response_id"),
    (f"{conversations.PREVIOUS_EXPR} = ? AND {conversations.PREVIOUS_GUARD}", "calls_previous_response"),
    (f"{conversations.CONVERSATION_EXPR} = ? AND {conversations.CONVERSATION_GUARD}", "calls_conversation"),
    (f"stream_id = 1 AND {conversations.SESSION_EXPR} = ? AND {conversations.SESSION_GUARD}", "calls_session"),
])
def test_thread_lookups_are_index_searches(store, expr, index):
    """On a million calls a scan would take seconds per selection; each lookup must be an index search."""
    plan = store.conn.execute(f"EXPLAIN QUERY PLAN SELECT id FROM calls WHERE {expr}", ("x",)).fetchall()
    assert any(f"USING INDEX {index}" in row[-1] or f"USING COVERING INDEX {index}" in row[-1] for row in plan), plan


def test_boards_group_by_the_session_attribute(store):
    store.insert_records([make_record(STREAM, i, ts=T0 + i, attributes={"session": f"s-{i % 3}"}) for i in range(9)]
                         + [make_record(STREAM, 9, ts=T0 + 9, attributes={})])
    spec = template_spec(STREAM, "sessions").updated(
        group_by="session", time_range={"kind": "custom", "start": T0 - 60, "end": T0 + 600})
    data = compute_board(store, spec, now=T0 + 600)
    requests = {s.group: s.y.sum() for s in data.panel("requests").series}
    assert {g: n for g, n in requests.items() if g.startswith("s-")} == {"s-0": 3, "s-1": 3, "s-2": 3}
    assert sum(requests.values()) == 10                      # the call without a session is its own group
