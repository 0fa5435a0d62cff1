"""Board files: export → import gives the same numbers; hostile files are refused and change nothing."""
from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest

from monitor.boards import (MAX_DEPTH, BoardFileError, Filters, compute_board, export_board, export_csv, get_board,
                            import_board, list_boards, new_template_board, save_board)
from monitor.boards import export as export_mod
from monitor.boards.columns import forget_caches
from monitor.record import RECORD_FIELDS
from monitor.store import Store
from test_boards_compute import T0, _assert_same_data, make_records

SECRET = "sk-proj-SECRETSECRET0123456789"


@pytest.fixture(autouse=True)
def _fresh_caches():
    forget_caches()
    yield
    forget_caches()


@pytest.fixture
def store(db_path):
    st = Store(db_path)
    yield st
    st.close()


def _board(store, **update):
    records = make_records(400, stream="team/s")
    # a record whose request carries what must never leave the machine
    records[0].request = {**records[0].request, "extra_headers": {"Authorization": f"Bearer {SECRET}"},
                          "api_key": SECRET}
    records[1].error = f"Incorrect API key provided: {SECRET}"
    store.insert_records(records)
    spec = new_template_board(store, "team/s", "Shared")
    spec = spec.model_copy(update={"time_range": spec.time_range.model_copy(update={"kind": "24h"}), **update})
    save_board(store, spec)
    return spec


def _dump_hash(path) -> str:
    conn = Store(path).conn
    text = "\n".join(conn.iterdump())
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("include_content", [True, False])
@pytest.mark.parametrize("group_by", [None, "team", "model"])
def test_export_import_round_trip_same_numbers(store, tmp_path, include_content, group_by):
    spec = _board(store, group_by=group_by)
    now = T0 + 3600 + 5
    original = compute_board(store, spec, now=now)
    path = tmp_path / "board.json"
    n = export_board(store, "Shared", path, include_content=include_content, now=now)
    assert n == original.summary.requests == 400
    doc = json.loads(path.read_text())
    assert doc["format"] == "openai-monitor.board" and doc["version"] == 1
    assert doc["board"]["time_range"] == {"kind": "custom", "start": original.start, "end": original.end}
    assert doc["board"]["bucket_s"] == original.bucket_s and len(doc["records"]) == 400
    assert set(doc["records"][0]) == set(RECORD_FIELDS)

    # a teammate's machine: another store file
    other = Store(tmp_path / "teammate.db")
    board_name, stream_name = import_board(other, path)
    assert (board_name, stream_name) == ("Shared", "team/s (imported)")
    assert [s.origin for s in other.streams()] == ["imported"]
    imported = compute_board(other, get_board(other, board_name), now=now + 86400 * 30)   # later: same numbers
    _assert_same_data(original, imported)
    assert imported.summary.cost_usd == original.summary.cost_usd            # bit for bit
    for pa in original.panels:
        for sa, sb in zip(pa.series, imported.panel(pa.id).series):
            np.testing.assert_array_equal(sa.y, sb.y)
    # importing into the same store again: unique names, nothing overwritten
    assert import_board(store, path) == ("Shared (imported)", "team/s (imported)")
    assert import_board(store, path) == ("Shared (imported 2)", "team/s (imported 2)")
    other.close()


def test_files_never_hold_keys_and_numbers_only_files_hold_no_text(store, tmp_path):
    _board(store)
    records = store.records("team/s")
    full, numbers = tmp_path / "full.json", tmp_path / "numbers.json"
    export_board(store, "Shared", full, include_content=True, now=T0 + 3601)
    export_board(store, "Shared", numbers, include_content=False, now=T0 + 3601)
    for path in (full, numbers):
        text = path.read_text()
        assert SECRET not in text and "SECRETSECRET" not in text and "Authorization" not in text
        assert "api_key" not in text and "extra_headers" not in text
    full_text, numbers_text = full.read_text(), numbers.read_text()
    assert "question 17" in full_text and "answer 17" in full_text
    for r in records:
        for m in r.request.get("messages", []):
            assert json.dumps(m["content"])[1:-1] not in numbers_text
        if r.output:
            assert json.dumps(r.output) not in numbers_text
    doc = json.loads(numbers_text)
    assert doc["content"] == "numbers"
    rec = doc["records"][5]
    assert rec["output"] is None and "messages" not in rec["request"] and rec["request"]["model"]
    assert rec["total_tokens"] is not None or rec["status"] == "error"


def test_numbers_only_export_drops_text_filter_but_keeps_the_numbers(store, tmp_path):
    spec = _board(store, filters=Filters(text="question 1"))
    spec = get_board(store, "Shared")
    now = T0 + 3601
    original = compute_board(store, spec, now=now)
    assert 0 < original.summary.requests < 400
    path = tmp_path / "b.json"
    export_board(store, "Shared", path, include_content=False, now=now)
    other = Store(tmp_path / "o.db")
    name, _ = import_board(other, path)
    assert get_board(other, name).filters.text is None
    _assert_same_data(original, compute_board(other, get_board(other, name)))


def test_export_csv(store, tmp_path):
    spec = _board(store, group_by="team")
    path = tmp_path / "records.csv"
    n = export_csv(store, spec, path, now=T0 + 3601)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert n == len(rows) == 400
    by_id = {r.id: r for r in store.records("team/s")}
    first = rows[0]
    rec = by_id[int(first["id"])]
    assert first["model"] == rec.model and first["group"] == rec.attributes["team"]
    assert float(first["timestamp"]) == rec.timestamp and first["time_utc"].endswith("+00:00")
    assert SECRET not in path.read_text()
    assert "request" not in rows[0] or json.loads(rows[0]["request"])
    export_csv(store, spec, tmp_path / "n.csv", include_content=False, now=T0 + 3601)
    assert "answer" not in (tmp_path / "n.csv").read_text()


def test_csv_cells_cannot_become_spreadsheet_formulas(store, tmp_path):
    r = make_records(1, stream="f")[0]
    r.output = "=HYPERLINK(\"http://evil\")"
    store.insert_records([r])
    spec = new_template_board(store, "f", "F")
    export_csv(store, spec, tmp_path / "f.csv", now=T0 + 3601)
    [row] = list(csv.DictReader((tmp_path / "f.csv").open(encoding="utf-8")))
    assert row["output"].startswith("'=")


# -- hostile files -----------------------------------------------------------------------------------------------
def _valid_doc(store, tmp_path) -> dict:
    _board(store)
    path = tmp_path / "valid.json"
    export_board(store, "Shared", path, now=T0 + 3601)
    return json.loads(path.read_text())


def _hostile_files(doc: dict, tmp_path) -> dict[str, bytes]:
    valid = json.dumps(doc).encode()

    def edit(fn):
        d = json.loads(valid)
        fn(d)
        return json.dumps(d).encode()

    deep_ok_json = '{"format": "openai-monitor.board", "version": 1, "board": ' + "[" * 100_000 + "]" * 100_000 + "}"
    nested_request = edit(lambda d: d["records"][0].__setitem__("request", json.loads("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))))
    deep_attrs = edit(lambda d: d["records"][0].__setitem__(
        "attributes", json.loads('{"a":' * (MAX_DEPTH + 5) + "1" + "}" * (MAX_DEPTH + 5))))
    return {
        "truncated": valid[: len(valid) // 2],
        "truncated at the end": valid[:-2],
        "not json": b"this is not a board file at all",
        "binary": bytes(range(256)) * 10,
        "empty": b"",
        "not utf-8": valid.replace(b"question", b"qu\xff\xfestion"),
        "json array": b"[1, 2, 3]",
        "deeply nested (recursion)": deep_ok_json.encode(),
        "deeply nested request": nested_request,
        "deeply nested attributes": deep_attrs,
        "NaN": valid.replace(b'"latency_ms": ', b'"latency_ms": NaN, "x": ', 1),
        "NaN clean": edit(lambda d: d["records"][3].__setitem__("latency_ms", 0.5)).replace(b"0.5", b"NaN", 1),
        "Infinity": edit(lambda d: d["records"][3].__setitem__("cost_usd", 0.5)).replace(b"0.5", b"Infinity", 1),
        "-Infinity in attributes": edit(lambda d: d["records"][3]["attributes"].__setitem__("x", 0.25)).replace(
            b"0.25", b"-Infinity", 1),
        "huge float": edit(lambda d: d["records"][3].__setitem__("ttft_ms", 0.75)).replace(b"0.75", b"1e999", 1),
        "huge float in request": edit(lambda d: d["records"][3]["request"].__setitem__("t", 0.75)).replace(
            b"0.75", b"1e999", 1),
        "huge int": edit(lambda d: d["records"][3].__setitem__("prompt_tokens", 7)).replace(
            b'"prompt_tokens": 7', b'"prompt_tokens": ' + b"9" * 5000, 1),
        "wrong format": edit(lambda d: d.__setitem__("format", "weave.board")),
        "no format": edit(lambda d: d.pop("format")),
        "future version": edit(lambda d: d.__setitem__("version", 2)),
        "version as string": edit(lambda d: d.__setitem__("version", "1")),
        "version zero": edit(lambda d: d.__setitem__("version", 0)),
        "records not a list": edit(lambda d: d.__setitem__("records", {"a": 1})),
        "record with wrong type": edit(lambda d: d["records"][7].__setitem__("latency_ms", "fast")),
        "tokens as string": edit(lambda d: d["records"][7].__setitem__("prompt_tokens", "5")),
        "negative tokens": edit(lambda d: d["records"][7].__setitem__("prompt_tokens", -5)),
        "status unknown": edit(lambda d: d["records"][7].__setitem__("status", "ok")),
        "bool as int": edit(lambda d: d["records"][7].__setitem__("streamed", 1)),
        "unknown record key": edit(lambda d: d["records"][7].__setitem__("api_key", "x")),
        "missing record field": edit(lambda d: d["records"][7].pop("timestamp")),
        "unknown top-level key": edit(lambda d: d.__setitem__("extra", 1)),
        "board missing": edit(lambda d: d.pop("board")),
        "board invalid": edit(lambda d: d["board"]["panels"][1]["measures"][0].__setitem__("agg", "median")),
        "board unknown key": edit(lambda d: d["board"].__setitem__("color", "red")),
        "count mismatch": edit(lambda d: d["stream"].__setitem__("records", 3)),
        "last record broken": edit(lambda d: d["records"].append({"stream": "x"})),
    }


def test_hostile_files_are_refused_and_change_nothing(store, tmp_path, db_path):
    doc = _valid_doc(store, tmp_path)
    before = _dump_hash(db_path)
    boards_before = list_boards(store)
    for label, content in _hostile_files(doc, tmp_path).items():
        path = tmp_path / "hostile.json"
        path.write_bytes(content)
        with pytest.raises(BoardFileError) as info:
            import_board(store, path)
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 300, (label, message)
        assert _dump_hash(db_path) == before, label
    assert list_boards(store) == boards_before
    # the valid document itself imports (so the refusals above are about what was broken)
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    assert import_board(store, tmp_path / "ok.json")[1] == "team/s (imported)"


def test_specific_reasons(store, tmp_path):
    doc = _valid_doc(store, tmp_path)
    files = _hostile_files(doc, tmp_path)
    expect = {"truncated": "truncated", "not json": "not a board file", "deeply nested (recursion)": "nested",
              "deeply nested request": "nested", "NaN clean": "NaN", "Infinity": "Infinity",
              "huge float": "too large", "wrong format": "not an OpenAI Monitor board file",
              "future version": "newer OpenAI Monitor", "record with wrong type": "latency_ms",
              "not utf-8": "UTF-8", "empty": "empty"}
    for label, fragment in expect.items():
        path = tmp_path / "h.json"
        path.write_bytes(files[label])
        with pytest.raises(BoardFileError, match=fragment):
            import_board(store, path)


def test_size_limits(store, tmp_path, db_path, monkeypatch):
    doc = _valid_doc(store, tmp_path)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    before = _dump_hash(db_path)
    monkeypatch.setattr(export_mod, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(BoardFileError, match="limited to"):
        import_board(store, path)
    monkeypatch.setattr(export_mod, "MAX_FILE_BYTES", 200 * 2**20)
    monkeypatch.setattr(export_mod, "MAX_RECORDS", 399)
    with pytest.raises(BoardFileError, match="limited to 399"):
        import_board(store, path)
    assert _dump_hash(db_path) == before
    with pytest.raises(BoardFileError, match="can't read"):
        import_board(store, tmp_path / "missing.json")


def test_failed_write_rolls_back_everything(store, tmp_path, db_path, monkeypatch):
    """Even a failure inside the write transaction (after validation) leaves the store as it was."""
    doc = _valid_doc(store, tmp_path)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    before = _dump_hash(db_path)

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_mod, "_save", boom)
    with pytest.raises(RuntimeError):
        import_board(store, path)
    assert _dump_hash(db_path) == before


def test_numbers_only_export_hides_prompt_text_in_attributes_but_keeps_the_groups(tmp_path):
    from monitor.record import Record

    prompts = ["you're extremely flowery and poetic", "you're very direct and precise", "balance brevity with insight"]
    src = Store(tmp_path / "src.db")
    src.insert_records([
        Record(None, "ex4", T0 + i, 100.0 + i, None, "chat.completions", "gpt-3.5-turbo", None, "success", None,
               10, 5, 15, 0, 0, False, 0.001, False, {"model": "gpt-3.5-turbo"}, "out",
               {"system_prompt": prompts[i % 3], "prompt_template": "explain {equation}",
                "params": {"equation": f"x^{i % 2}", "audience": "new student"}})
        for i in range(12)])
    spec = new_template_board(src, "ex4").updated(group_by="system_prompt")
    save_board(src, spec)
    original = compute_board(src, spec, now=T0 + 60)
    path = tmp_path / "numbers.json"
    export_board(src, spec.name, path, include_content=False, now=T0 + 60)
    text = path.read_text()
    for secret in prompts + ["explain {equation}", "x^0", "new student"]:
        assert secret not in text
    other = Store(tmp_path / "o.db")
    name, _ = import_board(other, path)
    imported = compute_board(other, get_board(other, name))
    assert len(imported.groups) == len(original.groups) == 3
    assert all(g.startswith("text#") for g in imported.groups)
    assert imported.summary.requests == 12 and imported.summary.cost_usd == pytest.approx(original.summary.cost_usd)


# -- boards that would import and then break (issue 7.8), duplicate keys (7.10) ------------------------------------
def _edited(doc: dict, fn) -> dict:
    d = json.loads(json.dumps(doc))
    fn(d)
    return d


def _breaking_files(doc: dict) -> dict[str, bytes]:
    def board(**changes):
        return json.dumps(_edited(doc, lambda d: d["board"].update(changes))).encode()

    valid = json.dumps(doc)
    return {
        "range ±1.5e308": board(time_range={"kind": "custom", "start": -1.5e308, "end": 1.5e308}),
        "range 0..1e18, 1 s buckets": board(time_range={"kind": "custom", "start": 0, "end": 1e18}, bucket_s=1),
        "range before 1970": board(time_range={"kind": "custom", "start": -86400.0, "end": T0}),
        "31 million buckets": board(time_range={"kind": "custom", "start": T0, "end": T0 + 366 * 86400}, bucket_s=1),
        "record from year 10^292": json.dumps(_edited(doc, lambda d: d["records"][5].__setitem__("timestamp", 1e300))).encode(),
        "duplicate top-level key": (valid[:-1] + ', "format": "openai-monitor.board"}').encode(),
        "duplicate key in a record": valid.replace('"latency_ms": ', '"latency_ms": 1.0, "latency_ms": ', 1).encode(),
        "duplicate key in the board": valid.replace('"bucket_s": ', '"bucket_s": 60, "bucket_s": ', 1).encode(),
    }


def test_files_that_would_break_later_commands_are_refused(store, tmp_path, db_path):
    doc = _valid_doc(store, tmp_path)
    before = _dump_hash(db_path)
    for label, content in _breaking_files(doc).items():
        path = tmp_path / "breaking.json"
        path.write_bytes(content)
        with pytest.raises(BoardFileError) as info:
            import_board(store, path)
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 300, (label, message)
        assert _dump_hash(db_path) == before, label
    path.write_bytes(_breaking_files(doc)["duplicate key in a record"])
    with pytest.raises(BoardFileError, match="duplicate key 'latency_ms'"):
        import_board(store, path)


def test_what_is_accepted_never_breaks_a_later_command(store, tmp_path):
    """The widest range a board may hold, with the smallest bucket, imports and then exports every way."""
    from monitor.boards.html_report import export_html
    from monitor.boards.spec import EPOCH_MAX, EPOCH_MIN

    doc = _valid_doc(store, tmp_path)
    wide = _edited(doc, lambda d: d["board"].update(time_range={"kind": "custom", "start": EPOCH_MIN,
                                                                "end": EPOCH_MAX}, bucket_s=None))
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(wide))
    name, stream = import_board(store, path)
    spec = get_board(store, name)
    assert export_board(store, name, tmp_path / "again.json") == 400
    assert export_csv(store, spec, tmp_path / "again.csv") == 400
    assert export_html(store, name, tmp_path / "again.html") == 400
    import_board(store, tmp_path / "again.json")                          # and its export imports again
    save_board(store, spec.updated(bucket_s=1))                           # a 1 s bucket is coarsened, not fatal
    assert export_board(store, name, tmp_path / "third.json") == 400


@pytest.mark.parametrize("time_range", [{"kind": "custom", "start": -1.5e308, "end": 1.5e308},
                                        {"kind": "custom", "start": 0, "end": 1e18}])
def test_saving_a_board_validates_its_range(store, time_range):
    from pydantic import ValidationError

    spec = new_template_board(store, "s")
    with pytest.raises(ValidationError, match="1970-01-01 and 2100-01-01"):
        spec.updated(time_range=time_range)


def test_import_streams_records_in_chunks_in_any_member_order(store, tmp_path, monkeypatch):
    doc = _valid_doc(store, tmp_path)
    reordered = {"records": doc["records"], **{k: v for k, v in doc.items() if k != "records"}}
    path = tmp_path / "reordered.json"
    path.write_text(json.dumps(reordered, indent=1))          # records first, and spread over many lines
    monkeypatch.setattr(export_mod, "IMPORT_CHUNK", 7)
    from monitor.boards import json_stream
    monkeypatch.setattr(json_stream, "CHUNK_CHARS", 512)      # values straddle read boundaries
    name, stream = import_board(store, path)
    assert store.count(stream) == 400
    got = compute_board(store, get_board(store, name))
    want = compute_board(store, get_board(store, "Shared"), now=T0 + 3601)
    assert got.summary == want.summary
    assert [s.name for s in store.streams() if "importing" in s.name] == []


def test_csv_numbers_are_plain_decimals(store, tmp_path):
    from monitor.record import Record

    store.insert_records([Record(None, "c", T0 + i, 123.45600000000002, None, "chat.completions", "gpt-4o-mini",
                                 None, "success", None, 10, 5, 15, 0, 0, False, cost, False, {}, "out", {})
                          for i, cost in enumerate([5.909999999999999e-05, 2e-05, 1.5e-11, 0.1 + 0.2])])
    spec = new_template_board(store, "c")
    export_csv(store, spec, tmp_path / "c.csv", now=T0 + 60)
    rows = list(csv.DictReader(open(tmp_path / "c.csv", newline="")))
    assert [r["cost_usd"] for r in rows] == ["0.0000591", "0.00002", "0", "0.3"]
    assert {r["latency_ms"] for r in rows} == {"123.456"}
    assert rows[0]["timestamp"] == f"{T0:.0f}"
    text = (tmp_path / "c.csv").read_text()
    assert "e-0" not in text and "e+" not in text
