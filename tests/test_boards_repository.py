"""Board specs and saved boards: validation, list/get/save/rename/duplicate/delete, the template."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from monitor.boards import (BoardExists, BoardNotFound, BoardSpec, delete_board, duplicate_board, get_board,
                            list_boards, new_template_board, rename_board, save_board, template_spec)
from monitor.store import Store


@pytest.fixture
def store(db_path):
    st = Store(db_path)
    yield st
    st.close()


@pytest.mark.parametrize("bad", [
    {"bogus": 1},                                                            # unknown key
    {"name": ""}, {"name": "a\nb"},
    {"time_range": {"kind": "2h"}},
    {"time_range": {"kind": "custom", "start": 10}},                         # custom needs both ends
    {"time_range": {"kind": "custom", "start": 10, "end": 5}},
    {"time_range": {"kind": "1h", "start": 10}},
    {"time_range": {"kind": "custom", "start": 0, "end": float("inf")}},
    {"bucket_s": 0}, {"bucket_s": "60"},
    {"group_by": 'a"b'}, {"group_by": "a..b"},
    {"filters": {"statuses": ["weird"]}}, {"filters": {"attributes": [{"key": "k"}]}},
    {"filters": {"attributes": [{"key": "k", "value": float("nan")}]}},
    {"panels": [{"id": "a", "kind": "timeseries", "measures": [{"metric": "latency_ms", "agg": "sum"}]}]},
    {"panels": [{"id": "a", "kind": "timeseries", "measures": [{"metric": "nope", "agg": "sum"}]}]},
    {"panels": [{"id": "a", "kind": "timeseries", "measures": []}]},
    {"panels": [{"id": "a", "kind": "table"}, {"id": "a", "kind": "table"}]},
    {"panels": [{"id": "a", "kind": "table", "col": 8, "width": 6}]},
    {"panels": [{"id": "a", "kind": "table", "chart": "pie"}]},
])
def test_invalid_specs_are_refused(bad):
    base = {"name": "b", "stream": "s"}
    with pytest.raises(ValidationError):
        BoardSpec.model_validate({**base, **bad})


def test_spec_json_round_trip_and_defaults():
    spec = template_spec("team/proj/s", "my board")
    again = BoardSpec.from_json(spec.to_json())
    assert again == spec and spec.time_range.kind == "all" and spec.bucket_s is None and spec.group_by is None
    assert spec.panel("latency").measures[2].key == "latency_ms.p99"
    assert spec.panel("latency").measures[2].unit == "ms"
    assert spec.panel("throughput_tokens").measures[0].unit == "tokens/s"


def test_template_covers_the_seed_board():
    spec = template_spec("s")
    keys = {(p.kind, m.key) for p in spec.panels for m in p.measures}
    for key in ["requests.count", "cost_usd.sum", "cost_usd.cumulative", "latency_ms.p50", "latency_ms.p95",
                "latency_ms.p99", "ttft_ms.p50", "ttft_ms.p95", "requests.per_min", "completion_tokens.per_s",
                "prompt_tokens.sum", "completion_tokens.sum", "cached_tokens.sum", "reasoning_tokens.sum",
                "errors.count", "errors.ratio"]:
        assert ("timeseries", key) in keys, key
    for key in ["requests.count", "cost_usd.sum", "cost_usd.avg", "total_tokens.avg", "latency_ms.avg",
                "errors.ratio"]:
        assert ("stat", key) in keys, key
    assert any(p.kind == "table" for p in spec.panels)


def test_save_list_get_duplicate_delete(store):
    a = new_template_board(store, "s1")
    b = new_template_board(store, "s1")                    # a free name is found
    assert a.name == "OpenAI Monitor Board · s1" and b.name == "OpenAI Monitor Board · s1 (2)"
    new_template_board(store, "s2", "Mine")
    with pytest.raises(BoardExists):
        new_template_board(store, "s2", "Mine")
    assert [i.name for i in list_boards(store)] == ["Mine", a.name, b.name]
    assert [i.name for i in list_boards(store, stream="s2")] == ["Mine"]
    assert get_board(store, "Mine") == template_spec("s2", "Mine")
    copy = duplicate_board(store, "Mine")
    assert copy.name == "Mine (copy)" and get_board(store, "Mine (copy)").stream == "s2"
    edited = copy.model_copy(update={"group_by": "model"})
    save_board(store, edited)                              # overwrite by name
    assert get_board(store, "Mine (copy)").group_by == "model"
    assert delete_board(store, "Mine (copy)") and not delete_board(store, "Mine (copy)")
    with pytest.raises(BoardNotFound):
        get_board(store, "Mine (copy)")


def test_rename_persists_across_reopening_and_refuses_clashes(db_path):
    st = Store(db_path)
    new_template_board(st, "s", "Old")
    new_template_board(st, "s", "Other")
    with pytest.raises(BoardExists, match="already exists"):
        rename_board(st, "Old", "Other")
    with pytest.raises(BoardNotFound):
        rename_board(st, "Nope", "X")
    renamed = rename_board(st, "Old", "New name")
    assert renamed.name == "New name"
    st.close()
    st = Store(db_path)                       # a restart: a new connection to the same file
    assert [b.name for b in list_boards(st)] == ["New name", "Other"]
    assert get_board(st, "New name").name == "New name"
    row = st.conn.execute("SELECT spec FROM boards WHERE name = 'New name'").fetchone()
    assert json.loads(row[0])["name"] == "New name"
    st.close()


def test_unreadable_stored_board_gives_one_line_error(store):
    new_template_board(store, "s", "B")
    store.conn.execute("UPDATE boards SET spec = '{\"name\": \"B\"}' WHERE name = 'B'")
    with pytest.raises(Exception) as info:
        get_board(store, "B")
    assert "B" in str(info.value) and "\n" not in str(info.value)
