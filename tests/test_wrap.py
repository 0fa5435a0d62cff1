"""The modern client, instrumented: sync, async, streams, Responses, embeddings, legacy completions."""
from __future__ import annotations

import asyncio
import gc

import openai
import pytest

from monitor import init_monitor

KEY = "sk-test-0123456789abcdef"
MSG = [{"role": "user", "content": "Say something short."}]


@pytest.fixture
def m(db_path):
    monitor = init_monitor("team/proj/wrap", db_path=db_path, quiet=True)
    yield monitor
    monitor.close()


@pytest.fixture
def wrapped(m, client):
    return m.wrap(client)


def test_wrap_returns_same_client_and_logs_chat(m, client):
    assert m.wrap(client) is client
    r = client.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0.2, monitor_attributes={"k": 1})
    [rec] = m.records()
    assert rec.api == "chat.completions" and rec.status == "success" and not rec.streamed
    assert rec.model == "gpt-4o" and rec.response_model == r.model and r.model.startswith("gpt-4o-")
    assert rec.output == r.choices[0].message.content
    assert (rec.prompt_tokens, rec.completion_tokens, rec.total_tokens) == (
        r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens)
    assert rec.request == {"model": "gpt-4o", "messages": MSG, "temperature": 0.2}
    assert rec.attributes == {"k": 1} and rec.ttft_ms is None and rec.latency_ms > 0
    expected = (r.usage.prompt_tokens * 2.5 + r.usage.completion_tokens * 10.0) / 1e6
    assert rec.cost_usd == pytest.approx(expected)


def test_monitor_attributes_never_reach_the_api(m, sim):
    bodies = []
    http = openai.DefaultHttpxClient(event_hooks={"request": [lambda request: bodies.append(request.read())]})
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0, http_client=http))
    client.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"secret_attr": 1})
    assert len(bodies) == 1 and b"gpt-4o-mini" in bodies[0]
    assert b"secret_attr" not in bodies[0] and b"monitor_attributes" not in bodies[0]
    assert m.records()[0].attributes == {"secret_attr": 1}


def test_attributes_context_merges(m, wrapped):
    with m.attributes(user="alice", experiment="v1"):
        with m.attributes(experiment="v2"):
            wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"run": 3})
        wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    a, b, c = (r.attributes for r in m.records())
    assert a == {"user": "alice", "experiment": "v2", "run": 3}
    assert b == {"user": "alice", "experiment": "v1"}
    assert c == {}


def test_stream_usage_exact_and_usage_chunk_hidden(m, wrapped):
    chunks = list(wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True))
    assert chunks and all(c.choices for c in chunks)        # the usage-only chunk was not shown
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    [rec] = m.records()
    assert rec.streamed and rec.status == "success" and rec.output == text
    assert rec.prompt_tokens > 0 and rec.completion_tokens > 0 and not rec.usage_estimated
    assert 0 < rec.ttft_ms <= rec.latency_ms
    assert "stream_options" not in rec.request or rec.request.get("stream_options") is None


def test_stream_caller_asked_for_usage_sees_it(m, wrapped):
    chunks = list(wrapped.chat.completions.create(
        model="gpt-4o-mini", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    [rec] = m.records()
    assert rec.total_tokens == chunks[-1].usage.total_tokens


def test_stream_without_server_usage_is_estimated_with_tiktoken(m, wrapped):
    stream = wrapped.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                             extra_headers={"X-Sim-No-Usage": "1", "X-Sim-Output": "Hello there, friend."})
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello there, friend."
    [rec] = m.records()
    assert rec.usage_estimated
    import tiktoken
    enc = tiktoken.get_encoding("o200k_base")
    assert rec.completion_tokens == len(enc.encode("Hello there, friend."))
    assert rec.prompt_tokens == 3 + len(enc.encode("user")) + len(enc.encode(MSG[0]["content"])) + 3
    assert rec.cost_usd == pytest.approx((rec.prompt_tokens * 2.5 + rec.completion_tokens * 10) / 1e6)


def test_stream_closed_early_is_cancelled_with_partial_output(m, wrapped):
    stream = wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                             extra_headers={"X-Sim-Output": "one two three four five six seven eight"})
    first = next(iter(stream))
    stream.close()
    [rec] = m.records()
    assert rec.status == "cancelled" and rec.output == (first.choices[0].delta.content or "")
    assert rec.usage_estimated and rec.cost_usd is not None


def test_stream_dropped_early_is_cancelled(m, wrapped):
    for chunk in wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True):
        break
    del chunk
    gc.collect()
    [rec] = m.records()
    assert rec.status == "cancelled"


def test_stream_context_manager(m, wrapped):
    with wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True) as s:
        text = "".join(c.choices[0].delta.content or "" for c in s)
    [rec] = m.records()
    assert rec.status == "success" and rec.output == text


def test_broken_stream_is_error_and_reraised(m, wrapped):
    stream = wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                             extra_headers={"X-Sim-Break-After": "2"})
    with pytest.raises(Exception) as info:
        for _ in stream:
            pass
    [rec] = m.records()
    assert rec.status == "error" and type(info.value).__name__ in rec.error


@pytest.mark.parametrize("status,exc", [(500, openai.InternalServerError), (429, openai.RateLimitError),
                                        (400, openai.BadRequestError)])
def test_http_errors_logged_and_reraised_unchanged(m, wrapped, status, exc):
    with pytest.raises(exc) as info:
        wrapped.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"X-Sim-Status": str(status)})
    assert info.type is exc
    [rec] = m.records()
    assert rec.status == "error" and exc.__name__ in rec.error
    assert rec.prompt_tokens is None and rec.cost_usd == 0.0
    assert "extra_headers" not in rec.request


def test_timeout_and_connection_error(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0, timeout=0.2))
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"X-Sim-Latency-Ms": "2000"})
    dead = m.wrap(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key=KEY, max_retries=0))
    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model="gpt-4o", messages=MSG)
    a, b = m.records()
    assert a.status == b.status == "error"
    assert "APITimeoutError" in a.error and "APIConnectionError" in b.error


def test_secret_never_stored(m, sim, db_path):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    client.chat.completions.create(model="gpt-4o", messages=MSG)
    unauth = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    with pytest.raises(openai.APIStatusError):
        unauth.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"X-Sim-Status": "401"})
    m.flush()
    for f in db_path.parent.iterdir():
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f


def test_responses_api(m, wrapped):
    r = wrapped.responses.create(model="gpt-4.1-mini", input="Write a haiku.", instructions="be brief")
    events = list(wrapped.responses.create(model="gpt-4.1-mini", input="Write a haiku.", stream=True))
    a, b = m.records()
    assert a.api == b.api == "responses"
    assert a.output == r.output_text and a.prompt_tokens == r.usage.input_tokens
    assert a.completion_tokens == r.usage.output_tokens
    done = [e for e in events if e.type == "response.completed"][0]
    assert b.streamed and b.output == done.response.output_text and b.total_tokens == done.response.usage.total_tokens
    assert b.ttft_ms is not None and not b.usage_estimated


def test_embeddings_and_legacy_completions(m, wrapped):
    e = wrapped.embeddings.create(model="text-embedding-3-small", input=["a", "b c"])
    c = wrapped.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once upon a time")
    list(wrapped.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once", stream=True))
    emb, comp, comp_stream = m.records()
    assert emb.api == "embeddings" and emb.prompt_tokens == e.usage.prompt_tokens and emb.completion_tokens == 0
    assert emb.cost_usd == pytest.approx(e.usage.prompt_tokens * 0.02 / 1e6)
    assert comp.api == "completions" and comp.output == c.choices[0].text
    assert comp_stream.streamed and comp_stream.completion_tokens > 0 and not comp_stream.usage_estimated


def test_async_client(m, sim):
    async def go():
        client = m.wrap(openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
        r = await client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        s = await client.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in s])
        rr = await client.responses.create(model="gpt-4o-mini", input="hi")
        await client.embeddings.create(model="text-embedding-3-small", input="hi")
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-Status": "500"})
        await client.close()
        return r, text, rr

    r, text, rr = asyncio.run(go())
    recs = m.records()
    assert [x.api for x in recs] == ["chat.completions", "chat.completions", "responses", "embeddings", "chat.completions"]
    assert recs[0].output == r.choices[0].message.content
    assert recs[1].streamed and recs[1].output == text and not recs[1].usage_estimated
    assert recs[2].output == rr.output_text
    assert recs[4].status == "error"


def test_cost_cached_and_reasoning(m, wrapped):
    long = "The quick brown fox jumps over the lazy dog. " * 300     # > 1024 tokens: cacheable
    msgs = [{"role": "user", "content": long}]
    wrapped.chat.completions.create(model="gpt-4o", messages=msgs)
    second = wrapped.chat.completions.create(model="gpt-4o", messages=msgs)
    o3 = wrapped.chat.completions.create(model="o3-mini", messages=MSG)
    _, cached_rec, reasoning_rec = m.records()
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached > 0 and cached_rec.cached_tokens == cached
    p, c = second.usage.prompt_tokens, second.usage.completion_tokens
    assert cached_rec.cost_usd == pytest.approx(((p - cached) * 2.5 + cached * 1.25 + c * 10.0) / 1e6)
    r = o3.usage.completion_tokens_details.reasoning_tokens
    assert r > 0 and reasoning_rec.reasoning_tokens == r
    # reasoning tokens are part of completion tokens: billed once, at the output rate
    assert reasoning_rec.cost_usd == pytest.approx((o3.usage.prompt_tokens * 1.1 + o3.usage.completion_tokens * 4.4) / 1e6)


def test_unknown_model_cost_is_none(m, wrapped):
    wrapped.chat.completions.create(model="my-local-llama", messages=MSG)
    [rec] = m.records()
    assert rec.cost_usd is None and rec.prompt_tokens > 0


def test_structured_output_parse_is_logged(m, wrapped):
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int
        explanation: str

    r = wrapped.chat.completions.parse(model="gpt-4o-mini", messages=MSG, response_format=Answer)
    assert isinstance(r.choices[0].message.parsed, Answer)
    [rec] = m.records()
    assert rec.api == "chat.completions" and rec.status == "success" and rec.prompt_tokens > 0
    assert rec.output == r.choices[0].message.content
    assert rec.request["response_format"] == "Answer"


def test_odd_attribute_values_do_not_lose_calls(m, wrapped):
    circular = []
    circular.append(circular)
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"when": object()})
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"loop": circular})
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, monitor_attributes={"fine": 1})
    recs = m.records()
    assert recs[0].attributes["when"].startswith("<object object")
    assert len(recs) == 3 and recs[2].attributes == {"fine": 1}
    assert recs[1].attributes == {"loop": ["<circular>"]}     # kept; only the loop is a placeholder


def test_request_is_what_was_sent_even_if_the_caller_mutates_messages(m, wrapped):
    messages = [{"role": "user", "content": "turn 1"}]
    for turn in range(3):
        r = wrapped.chat.completions.create(model="gpt-4o-mini", messages=messages)
        messages.append({"role": "assistant", "content": r.choices[0].message.content})
        messages.append({"role": "user", "content": f"turn {turn + 2}"})
        messages[0]["content"] = "edited later"
    assert [len(r.request["messages"]) for r in m.records()] == [1, 3, 5]
    assert m.records()[0].request["messages"][0]["content"] == "turn 1"


def test_copies_and_with_options_stay_monitored(m, wrapped):
    wrapped.with_options(timeout=5).chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                            monitor_attributes={"via": "with_options"})
    wrapped.copy(max_retries=0).embeddings.create(model="text-embedding-3-small", input="x")
    a, b = m.records()
    assert a.attributes == {"via": "with_options"} and b.api == "embeddings"


def test_explicit_stream_options_none_is_respected(m, sim):
    bodies = []
    http = openai.DefaultHttpxClient(event_hooks={"request": [lambda request: bodies.append(request.read())]})
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0, http_client=http))
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True, stream_options=None))
    assert b'"include_usage"' not in bodies[0]
    [rec] = m.records()
    assert rec.usage_estimated and rec.status == "success"


def test_raw_responses_are_logged_once_with_usage(m, wrapped):
    raw = wrapped.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSG)
    assert raw.http_response.status_code == 200
    parsed = raw.parse()
    raw_stream = wrapped.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MSG, stream=True)
    chunks = list(raw_stream.parse())
    with wrapped.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MSG) as resp:
        streamed_parsed = resp.parse()
    a, b, c = m.records()
    assert a.output == parsed.choices[0].message.content and a.completion_tokens == parsed.usage.completion_tokens
    assert not a.usage_estimated
    assert b.streamed and b.status == "success" and b.output == "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert c.output == streamed_parsed.choices[0].message.content


def test_break_at_finish_reason_is_success(m, wrapped):
    text = ""
    for chunk in wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True):
        text += chunk.choices[0].delta.content or ""
        if chunk.choices[0].finish_reason:
            break                       # common pattern: stop at the end of the reply, before the usage chunk
    gc.collect()
    [rec] = m.records()
    assert rec.status == "success" and rec.output == text


def test_streamed_n2_keeps_choice_zero_like_non_stream(m, wrapped):
    chunks = list(wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True, n=2))
    first = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices[0].index == 0)
    [rec] = m.records()
    assert rec.output == first


def test_stream_broken_after_output_is_estimated_not_free(m, wrapped):
    with pytest.raises(openai.APIConnectionError):
        for _ in wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG, stream=True,
                                                 extra_headers={"X-Sim-Break-After": "6"}):
            pass
    [rec] = m.records()
    assert rec.status == "error" and rec.output and rec.usage_estimated
    assert rec.completion_tokens > 0 and rec.cost_usd > 0


def test_credentials_in_extra_body_are_not_stored(m, wrapped, db_path):
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                    extra_body={"api_key": "gw-secret-0123456789", "user_tag": "ok"})
    [rec] = m.records()
    assert rec.request["extra_body"] == {"user_tag": "ok"}
    for f in db_path.parent.iterdir():
        if f.is_file():
            assert b"gw-secret-0123456789" not in f.read_bytes()


def test_half_an_emoji_does_not_lose_calls(m, wrapped):
    from monitor.capture import PendingCall

    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    odd = PendingCall(m.stream, 1.0, "chat.completions", {"model": "gpt-4o-mini"}, {})
    odd.output, odd.latency_ms = "half an emoji \ud83d", 1.0     # a lone surrogate, as a broken server may send
    m._submit(odd)
    wrapped.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    recs = m.records()
    assert len(recs) == 3 and recs[1].output == "half an emoji \ufffd"


def test_sdk_stream_helpers_are_logged(m, wrapped):
    with wrapped.chat.completions.stream(model="gpt-4o-mini", messages=MSG) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    with wrapped.responses.stream(model="gpt-4o-mini", input="hi") as s:
        for _ in s:
            pass
        final_response = s.get_final_response()
    chat, resp = m.records()
    assert chat.streamed and chat.status == "success" and not chat.usage_estimated
    assert chat.output == final.choices[0].message.content
    assert resp.api == "responses" and resp.output == final_response.output_text and not resp.usage_estimated
