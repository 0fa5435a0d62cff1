"""The monitor never breaks the caller, never loses a paid call to an odd value, never stores a secret.

Everything runs through the real openai client over HTTP against the simulator; a monitored call is
compared with the same call unmonitored."""
from __future__ import annotations

import asyncio
import csv
import json
import sqlite3

import openai
import pytest

from monitor import init_monitor, instrument
from monitor.boards import export_board, export_csv, new_template_board
from monitor.record import Record
from monitor.simulator import Simulator, SimulatorConfig
from monitor.store import Store

KEY = "sk-test-0123456789abcdef"
MSG = [{"role": "user", "content": "Say something short."}]
TEXT = "alpha beta gamma"


@pytest.fixture
def m(db_path):
    monitor = init_monitor("hardening", db_path=db_path, quiet=True)
    yield monitor
    monitor.close()


@pytest.fixture
def fresh_stream_options_memory():
    instrument.NO_STREAM_OPTIONS.clear()
    yield
    instrument.NO_STREAM_OPTIONS.clear()


def _canon(chunk) -> dict:
    """A chunk without what differs between two requests (ids, timestamps)."""
    d = chunk.model_dump(warnings=False)
    d.pop("id", None)
    d.pop("created", None)
    return d


def _consume(stream) -> tuple[list[dict], str | None]:
    """What the caller's loop sees: the chunks, and the exception type if the loop raised."""
    seen = []
    try:
        for chunk in stream:
            seen.append(_canon(chunk))
    except Exception as exc:
        return seen, type(exc).__name__
    return seen, None


async def _aconsume(stream) -> tuple[list[dict], str | None]:
    seen = []
    try:
        async for chunk in stream:
            seen.append(_canon(chunk))
    except Exception as exc:
        return seen, type(exc).__name__
    return seen, None


# -- 7.4: a monitored stream is the unmonitored stream ----------------------------------------------------
@pytest.mark.parametrize("shape", ["number", "parts", "object-arguments"])
def test_odd_delta_shapes_reach_the_caller_unchanged_and_are_recorded(m, sim, shape):
    headers = {"X-Sim-Delta-Shape": shape, "X-Sim-Output": TEXT}
    plain = openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0)
    monitored = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    expected = _consume(plain.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    got = _consume(monitored.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    assert expected[1] is None and len(expected[0]) > 3
    assert got == expected
    [rec] = m.records()
    assert rec.status == "success" and rec.error is None and not rec.usage_estimated
    if shape == "parts":
        assert rec.output == TEXT
    elif shape == "number":
        assert rec.output == "".join(str(len(p)) for p in ("alpha", " beta", " gamma"))
    else:
        assert rec.output == TEXT                            # text and the tool call both streamed
    assert rec.completion_tokens > 0


def test_odd_delta_shapes_async(m, sim):
    async def go():
        headers = {"X-Sim-Delta-Shape": "object-arguments", "X-Sim-Output": TEXT}
        plain = openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0)
        monitored = m.wrap(openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
        out = []
        for shape in ("object-arguments", "parts"):
            headers["X-Sim-Delta-Shape"] = shape
            out.append((await _aconsume(await plain.chat.completions.create(
                model="gpt-4o", messages=MSG, stream=True, extra_headers=headers)),
                        await _aconsume(await monitored.chat.completions.create(
                            model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))))
        await plain.close()
        await monitored.close()
        return out

    for expected, got in asyncio.run(go()):
        assert expected[1] is None and got == expected
    assert [r.status for r in m.records()] == ["success", "success"]
    assert all(r.output == TEXT for r in m.records())


def test_tool_call_arguments_as_object_are_recorded_as_json(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    stream = client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                            extra_headers={"X-Sim-Delta-Shape": "object-arguments", "X-Sim-Output": ""})
    chunks = list(stream)
    assert any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    [rec] = m.records()
    assert rec.status == "success" and json.loads(rec.output) == [{"name": "lookup", "arguments": '{"query": ""}'}]


def test_a_chunk_the_monitor_cannot_read_is_noted_not_raised(m, sim):
    headers = {"X-Sim-Delta-Shape": "list-index", "X-Sim-Output": TEXT}
    plain = openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0)
    monitored = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    expected = _consume(plain.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    got = _consume(monitored.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    assert expected[1] is None and got == expected
    [rec] = m.records()
    assert rec.status == "success" and rec.output == TEXT and not rec.usage_estimated
    assert rec.error.startswith("monitor: could not read part of the stream (TypeError")


def test_non_stream_content_parts_keep_the_record(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    r = client.chat.completions.create(model="gpt-4o", messages=MSG,
                                       extra_headers={"X-Sim-Delta-Shape": "parts", "X-Sim-Output": TEXT})
    assert r.choices[0].message.content == [{"type": "text", "text": TEXT}]
    client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"X-Sim-Delta-Shape": "number"})
    a, b = m.records()
    assert a.output == TEXT and a.status == "success"
    assert b.output.isdigit()


def test_responses_text_as_a_number_keeps_the_record(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    r = client.responses.create(model="gpt-4o", input="hi", extra_headers={"X-Sim-Delta-Shape": "number",
                                                                            "X-Sim-Output": TEXT})
    with pytest.raises(TypeError):
        r.output_text                                     # the SDK's own join: the caller's business
    [rec] = m.records()
    assert rec.status == "success" and rec.output == str(len(TEXT)) and rec.prompt_tokens > 0


@pytest.fixture
def rejecting_sim():
    with Simulator(SimulatorConfig(reject_stream_options=True)) as s:
        yield s


def test_server_rejecting_stream_options_is_retried_once_then_remembered(m, rejecting_sim, fresh_stream_options_memory):
    url = rejecting_sim.base_url
    plain = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    monitored = m.wrap(openai.OpenAI(base_url=url, api_key=KEY, max_retries=0))
    headers = {"X-Sim-Output": TEXT}
    expected = _consume(plain.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    before = rejecting_sim.request_count
    first = _consume(monitored.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    after_first = rejecting_sim.request_count
    second = _consume(monitored.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=headers))
    assert expected[1] is None and first == expected and second == expected
    assert after_first - before == 2                     # one refused request, one retry
    assert rejecting_sim.request_count - after_first == 1   # remembered: no refused request any more
    recs = m.records()
    assert [r.status for r in recs] == ["success", "success"]
    assert all(r.usage_estimated and r.output == TEXT and r.completion_tokens > 0 for r in recs)
    # the caller's own stream_options are the caller's: the same 400 as unmonitored
    with pytest.raises(openai.BadRequestError) as mine:
        monitored.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True})
    with pytest.raises(openai.BadRequestError) as theirs:
        plain.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, stream_options={"include_usage": True})
    assert str(mine.value) == str(theirs.value)


def test_server_rejecting_stream_options_async(m, rejecting_sim, fresh_stream_options_memory):
    async def go():
        client = m.wrap(openai.AsyncOpenAI(base_url=rejecting_sim.base_url, api_key=KEY, max_retries=0))
        got = await _aconsume(await client.chat.completions.create(
            model="gpt-4o", messages=MSG, stream=True, extra_headers={"X-Sim-Output": TEXT}))
        await client.close()
        return got

    chunks, error = asyncio.run(go())
    assert error is None and "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks) == TEXT
    [rec] = m.records()
    assert rec.status == "success" and rec.usage_estimated


def test_other_bad_requests_are_not_retried(m, sim, fresh_stream_options_memory):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    before = sim.request_count
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o", messages=[], stream=True)
    assert info.value.param == "messages" and sim.request_count - before == 1
    assert not instrument.NO_STREAM_OPTIONS


# -- never breaks the caller: the monitor's own kwarg ------------------------------------------------------
def test_monitor_attributes_that_are_not_a_dict_do_not_break_the_call(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes="run-7")
    [rec] = m.records()
    assert rec.output == r.choices[0].message.content and rec.attributes == {"monitor_attributes": "run-7"}


# -- 7.7: secrets never reach the store or the files meant for sharing ------------------------------------
AZURE_KEY = "azure-0123456789abcdef"
DEFAULT_TOKEN = "gwdefault-7f3a9c2e51b8"
CALL_TOKEN = "percall-tok-55aa77bb99cc"
CALL_API_KEY = "vllm-key-0a1b2c3d4e5f"
SECRETS = (AZURE_KEY, DEFAULT_TOKEN, CALL_TOKEN, CALL_API_KEY)


@pytest.fixture
def hostile_sim():
    with Simulator(SimulatorConfig(echo_credentials=True)) as s:
        yield s


def _assert_no_secret(data: bytes, where) -> None:
    for secret in SECRETS:
        assert secret.encode() not in data, (secret, where)


def test_echoed_credentials_never_reach_the_store_or_exports(m, hostile_sim, db_path, tmp_path):
    azure_like = m.wrap(openai.OpenAI(base_url=hostile_sim.base_url, api_key=AZURE_KEY, max_retries=0))
    gateway = m.wrap(openai.OpenAI(base_url=hostile_sim.base_url, api_key=AZURE_KEY, max_retries=0,
                                   default_headers={"X-Gateway-Token": DEFAULT_TOKEN}))
    r = azure_like.chat.completions.create(model="gpt-4o", messages=MSG)
    assert AZURE_KEY in r.choices[0].message.content and AZURE_KEY in r.model     # the server is hostile
    list(azure_like.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    with pytest.raises(openai.AuthenticationError) as info:
        azure_like.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"X-Sim-Status": "401"})
    assert AZURE_KEY in str(info.value)
    per_call = {"Authorization": f"Bearer {CALL_TOKEN}", "api-key": CALL_API_KEY}
    gateway.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=per_call)
    with pytest.raises(openai.InternalServerError):
        gateway.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={**per_call, "X-Sim-Status": "500"})
    m.flush()
    recs = m.records()
    assert len(recs) == 5
    for f in db_path.parent.iterdir():
        if f.is_file():
            _assert_no_secret(f.read_bytes(), f)
    assert recs[0].output.startswith("You sent") and "[redacted]" in recs[0].output
    assert recs[0].response_model.startswith("gpt-4o-2024-08-06") and recs[2].error.startswith("AuthenticationError")
    store = Store(db_path)
    spec = new_template_board(store, "hardening")
    export_csv(store, spec, tmp_path / "records.csv")
    export_board(store, spec.name, tmp_path / "numbers.json", include_content=False)
    export_board(store, spec.name, tmp_path / "full.json")
    for name in ("records.csv", "numbers.json", "full.json"):
        _assert_no_secret((tmp_path / name).read_bytes(), name)
    store.close()


def test_exports_scrub_credentials_a_store_already_holds(tmp_path):
    """A store written before the fix (or by another tool) may hold a leaked key: the export scrubs
    what is shaped like a credential even though it cannot know the key."""
    store = Store(tmp_path / "old.db")
    leaked = Record(id=None, stream="old", timestamp=1_700_000_000.0, latency_ms=10.0, ttft_ms=None,
                    api="chat.completions", model="gpt-4o", response_model=f"gpt-4o Authorization: Bearer {CALL_TOKEN}",
                    status="error", error=f"AuthenticationError: bad key {{'api-key': '{AZURE_KEY}'}}",
                    prompt_tokens=1, completion_tokens=1, total_tokens=2, cached_tokens=0, reasoning_tokens=0,
                    usage_estimated=False, cost_usd=0.0, streamed=False,
                    request={"model": "gpt-4o", "note": f"x-api-key: {CALL_API_KEY}"},
                    output=f"token: Bearer {DEFAULT_TOKEN}", attributes={"who": f"api_key={CALL_API_KEY}"})
    store.insert_records([leaked])
    spec = new_template_board(store, "old")
    export_csv(store, spec, tmp_path / "records.csv", now=1_700_000_100.0)
    export_board(store, spec.name, tmp_path / "numbers.json", include_content=False, now=1_700_000_100.0)
    rows = list(csv.reader((tmp_path / "records.csv").open()))
    assert len(rows) == 2
    for name in ("records.csv", "numbers.json"):
        _assert_no_secret((tmp_path / name).read_bytes(), name)
    store.close()


# -- 7.9: odd attribute values keep the record, and stored JSON is always valid -----------------------------
class _BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr for you")


def _deep(n: int) -> dict:
    root = cur = {}
    for _ in range(n):
        cur["a"] = {}
        cur = cur["a"]
    return root


def test_odd_attribute_values_keep_the_paid_call_and_store_valid_json(m, sim, db_path):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    circular: list = []
    circular.append(circular)
    odd = [{"deep": _deep(100_000)}, {"bad": _BadRepr()}, {"big": 10**5000},
           {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}, {"loop": circular},
           {(1, 2): "tuple key", _BadRepr(): "key without repr"}, {"fine": 1}]
    for attributes in odd:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes=attributes)
    with pytest.raises(ValueError):          # the client itself refuses NaN in a body; the record stays
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_body={"x_score": float("nan")})
    *recs, refused = m.records()
    assert len(recs) == len(odd) and all(r.status == "success" and r.prompt_tokens for r in recs)
    deep, bad, big, nan, loop, keys, fine = (r.attributes for r in recs)
    text = str(deep)
    assert "<too deep>" in text and len(text) < 1000
    assert bad == {"bad": "<unserialisable: _BadRepr>"}
    assert big["big"].startswith("<int too large")
    assert nan == {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"}
    assert loop == {"loop": ["<circular>"]} and fine == {"fine": 1}
    assert keys == {"(1, 2)": "tuple key", "<unserialisable: _BadRepr>": "key without repr"}
    assert refused.status == "error" and refused.request["extra_body"] == {"x_score": "NaN"}
    conn = sqlite3.connect(db_path)
    valid = conn.execute("SELECT count(*), sum(json_valid(attributes)), sum(json_valid(request)) FROM calls").fetchone()
    conn.close()
    assert valid == (len(odd) + 1, len(odd), len(odd) + 1)     # the NaN call has no attributes (NULL)


def test_facade_message_from_stream_yields_text_for_content_parts(sim_env, db_path):
    import monitor

    init_monitor("facade-parts", db_path=db_path, quiet=True)
    stream = monitor.openai.ChatCompletion.create(model="gpt-4o", messages=MSG, stream=True,
                                                  extra_headers={"X-Sim-Delta-Shape": "parts", "X-Sim-Output": TEXT})
    assert "".join(monitor.openai.message_from_stream(stream)) == TEXT


def test_a_writer_that_cannot_take_the_call_costs_the_record_not_the_call(m, sim, monkeypatch, caplog):
    """E.g. a forked child whose store cannot be opened: the caller's response and stream are untouched."""
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))

    def refuse(call):
        raise RuntimeError("store unavailable")

    monkeypatch.setattr(m, "_submit", refuse)
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-Output": TEXT})
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, extra_headers={"X-Sim-Output": TEXT}))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-Status": "500"})
    assert r.choices[0].message.content == TEXT and text == TEXT
    assert sum("could not be recorded" in rec.getMessage() for rec in caplog.records) == 3
