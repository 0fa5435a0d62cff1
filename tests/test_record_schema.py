"""One field list (monitor/record.py) makes the store's columns, its codec, CSV columns and board-file records;
old stores and old board files are carried forward."""
from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from monitor.boards import repository
from monitor.boards.export import CSV_COLUMNS, FileRecord, export_board, export_csv, import_board
from monitor.record import CALL_FIELDS, RECORD_FIELDS, Record
from monitor.store import CALL_COLUMNS, MIGRATIONS, SCHEMA_VERSION, Store

REPLY = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
         "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
             "role": "assistant", "content": None, "refusal": None,
             "tool_calls": [{"id": "call_1", "type": "function",
                             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}}]}


def _record(i: int = 0, **over) -> Record:
    values = dict(id=None, stream="team/app/logs", timestamp=1_764_460_800.0 + i, latency_ms=120.5, ttft_ms=None,
                  api="chat.completions", model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                  status="success", error=None, prompt_tokens=12, completion_tokens=7, total_tokens=19,
                  cached_tokens=0, reasoning_tokens=0, usage_estimated=False, cost_usd=0.0000061, streamed=False,
                  request={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Weather in Paris?"}]},
                  output=None, attributes={"user": "alice"}, response_id="chatcmpl-1",
                  finish_reason="tool_calls", response=REPLY)
    values.update(over)
    return Record(**values)


def test_the_calls_table_is_the_field_list(db_path):
    store = Store(db_path)
    info = store.conn.execute("PRAGMA table_info(calls)").fetchall()
    columns = {row[1]: row[2] for row in info}
    assert set(columns) == {"id", *CALL_COLUMNS}
    for f in CALL_FIELDS:
        assert columns[f.column] == f.sql.split()[0], f.name
    assert set(RECORD_FIELDS) == {"id", "stream", *(f.name for f in CALL_FIELDS)}


def test_every_field_round_trips_through_the_store(db_path):
    store = Store(db_path)
    store.insert_records([_record(0), _record(1, response=None, response_id=None, finish_reason=None,
                                               output="hi", request={}, attributes={})])
    first, second = store.records("team/app/logs")
    expected = _record(0).to_dict() | {"id": first.id}
    assert first.to_dict() == expected
    assert (second.response, second.request, second.attributes, second.output) == (None, {}, {}, "hi")


def test_a_schema_2_store_is_carried_forward(db_path):
    conn = sqlite3.connect(db_path)
    for migration in MIGRATIONS[:2]:
        conn.executescript(migration)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO streams (name, created) VALUES ('old/logs', 0)")
    conn.execute("INSERT INTO calls (stream_id, ts, latency_ms, api, model, status, prompt_tokens, completion_tokens, "
                 "usage_estimated, streamed, request, output, attributes) VALUES (1, 1000.0, 50.0, 'chat.completions', "
                 "'gpt-4o', 'success', 5, 3, 0, 0, '{\"model\": \"gpt-4o\"}', 'hello', '{\"a\": 1}')")
    conn.commit()
    conn.close()
    store = Store(db_path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    (old,) = store.records("old/logs")
    assert (old.output, old.request, old.attributes) == ("hello", {"model": "gpt-4o"}, {"a": 1})
    assert (old.response_id, old.finish_reason, old.response) == (None, None, None)


def test_board_files_and_csv_carry_the_reply_fields(db_path, tmp_path):
    store = Store(db_path)
    store.insert_records([_record(i) for i in range(3)])
    board = repository.new_template_board(store, "team/app/logs", name="Replies")
    board = repository.save_board(store, board.updated(time_range={"kind": "all"}))
    full, numbers = tmp_path / "full.board.json", tmp_path / "numbers.board.json"
    export_board(store, board.name, full)
    export_board(store, board.name, numbers, include_content=False)
    assert json.loads(full.read_text())["records"][0]["response"] == REPLY
    saved = json.loads(numbers.read_text())["records"][0]
    assert saved["response"] is None and saved["finish_reason"] == "tool_calls" and saved["response_id"] == "chatcmpl-1"
    other = Store(tmp_path / "teammate.db")
    import_board(other, full)
    copies = [r for s in other.streams() for r in other.records(s.name)]
    assert [r.response for r in copies] == [REPLY] * 3 and {r.finish_reason for r in copies} == {"tool_calls"}
    out = tmp_path / "calls.csv"
    export_csv(store, board, out)
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["finish_reason"] == "tool_calls" and json.loads(rows[0]["response"]) == REPLY


def test_an_older_board_file_record_still_validates():
    old = {k: v for k, v in _record().to_dict().items() if k not in ("response_id", "finish_reason", "response")}
    assert FileRecord.model_validate(old).response is None
    with pytest.raises(Exception):
        FileRecord.model_validate({**old, "status": "weird"})
    with pytest.raises(Exception):
        FileRecord.model_validate({**old, "unknown": 1})
