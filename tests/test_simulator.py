"""The built-in simulator, always through the real openai client over HTTP."""
from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

# tiktoken's offline cache lives beside the project: <project root>/../shared/tiktoken-cache
_CACHE = Path(__file__).resolve().parents[2] / "shared" / "tiktoken-cache"
if _CACHE.is_dir():
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_CACHE))

import openai  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from monitor import sim_text  # noqa: E402
from monitor.simulator import Simulator, SimulatorConfig  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
needs_tiktoken = pytest.mark.skipif(sim_text.get_encoding("gpt-4o") is None,
                                    reason="tiktoken's o200k_base file is not in the cache")
USER = [{"role": "user", "content": "What is 2+2?"}]


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


@pytest.fixture(scope="module")
def client(sim):
    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)


def _tiktoken_chat_count(messages, encoding="o200k_base"):
    enc = sim_text.get_encoding("gpt-4o" if encoding == "o200k_base" else "gpt-3.5-turbo")
    return 3 + sum(3 + sum(len(enc.encode(v)) for v in m.values()) for m in messages)


# --- chat completions -----------------------------------------------------------------------------

@needs_tiktoken
def test_chat_non_stream_parses_with_usage(client):
    r = client.chat.completions.create(model="gpt-4o", messages=USER)
    assert isinstance(r, openai.types.chat.ChatCompletion)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o-2024-08-06"
    msg = r.choices[0].message
    assert msg.role == "assistant" and "4" in msg.content
    assert r.choices[0].finish_reason == "stop"
    u = r.usage
    assert u.prompt_tokens == _tiktoken_chat_count(USER)  # the cookbook formula
    assert u.completion_tokens == len(sim_text.get_encoding("gpt-4o").encode(msg.content))
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens == 0
    assert u.completion_tokens_details.reasoning_tokens == 0


@pytest.mark.parametrize("alias, reported", [
    ("gpt-4o", "gpt-4o-2024-08-06"), ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"), ("gpt-4o-2024-11-20", "gpt-4o-2024-11-20"),
    ("llama-3-8b-local", "llama-3-8b-local"),
])
def test_dated_snapshot_model(client, alias, reported):
    assert client.chat.completions.create(model=alias, messages=USER).model == reported


def test_replies_are_plausible_and_varied(client):
    robot = client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "Please speak like a robot"}]).choices[0].message.content
    assert "beep" in robot.lower() and "bloop" in robot.lower()
    bullets = client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "Give me bullet points on testing"}]).choices[0].message.content
    assert bullets.count("\n- ") >= 3
    texts = {client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "Tell me something"}]).choices[0].message.content for _ in range(6)}
    assert len(texts) > 1
    for _ in range(10):
        r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        assert 10 <= r.usage.completion_tokens <= 130


def test_max_tokens_n_seed_and_json(client):
    r = client.chat.completions.create(model="gpt-4o", messages=USER, max_tokens=5, n=3,
                                       extra_headers={"X-Sim-Output": "one two three four five six seven eight"})
    assert [c.finish_reason for c in r.choices] == ["length"] * 3
    assert r.usage.completion_tokens == 15
    r = client.chat.completions.create(model="gpt-4o", messages=USER, max_completion_tokens=4)
    assert r.choices[0].finish_reason in ("length", "stop") and r.usage.completion_tokens <= 4

    prompt = [{"role": "user", "content": "Tell me a story"}]
    a, b = (client.chat.completions.create(model="gpt-4o", messages=prompt, seed=7).choices[0].message.content
            for _ in range(2))
    assert a == b

    r = client.chat.completions.create(model="gpt-4o", messages=USER, response_format={"type": "json_object"})
    assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_json_schema_via_parse(client):
    class Answer(BaseModel):
        answer: str
        score: int
        tags: list[str]

    r = client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Answer)
    parsed = r.choices[0].message.parsed
    assert isinstance(parsed, Answer) and parsed.tags


def test_stream_without_include_usage(client):
    chunks = list(client.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, extra_headers={"X-Sim-Output": "The answer is four."}))
    assert all(c.object == "chat.completion.chunk" and c.usage is None and c.choices for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "The answer is four."
    assert len(chunks) >= 5  # role, several deltas, finish
    assert {c.model for c in chunks} == {"gpt-4o-2024-08-06"}


@needs_tiktoken
def test_stream_with_include_usage(client):
    chunks = list(client.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert all(c.usage is None and c.choices for c in chunks[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert last.usage.completion_tokens == len(sim_text.get_encoding("gpt-4o").encode(text))
    assert last.usage.prompt_tokens == _tiktoken_chat_count(USER)


def test_reasoning_tokens_for_o3_mini(client):
    r = client.chat.completions.create(model="o3-mini", messages=USER)
    d = r.usage.completion_tokens_details
    assert r.model == "o3-mini-2025-01-31"
    assert 0 < d.reasoning_tokens < r.usage.completion_tokens and d.reasoning_tokens % 64 == 0
    low = client.chat.completions.create(model="o3-mini", messages=USER, reasoning_effort="low")
    assert low.usage.completion_tokens_details.reasoning_tokens <= 192


def test_cached_tokens_on_repeated_long_prompt(client):
    system = "You are a meticulous assistant. " + " ".join(f"Rule {i}: {uuid.uuid4()}." for i in range(150))
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": "Summarize the rules."}]
    first = client.chat.completions.create(model="gpt-4o", messages=msgs).usage
    assert first.prompt_tokens >= 1024 and first.prompt_tokens_details.cached_tokens == 0
    second = client.chat.completions.create(model="gpt-4o", messages=msgs).usage
    cached = second.prompt_tokens_details.cached_tokens
    assert 1024 <= cached < second.prompt_tokens and cached % 128 == 0
    # same long prefix, different question: still a hit; a short prompt never is
    other = msgs[:1] + [{"role": "user", "content": "Which rule is first?"}]
    assert client.chat.completions.create(model="gpt-4o", messages=other).usage.prompt_tokens_details.cached_tokens >= 1024
    assert client.chat.completions.create(model="gpt-4o", messages=USER).usage.prompt_tokens_details.cached_tokens == 0


# --- responses, embeddings, completions, models ---------------------------------------------------

def test_responses_non_stream(client):
    r = client.responses.create(model="gpt-4.1", instructions="Be brief.",
                                input=[{"role": "user", "content": "What is 3 * 5?"}])
    assert r.object == "response" and r.status == "completed" and r.model == "gpt-4.1-2025-04-14"
    assert "15" in r.output_text
    assert r.output[0].type == "message" and r.output[0].content[0].type == "output_text"
    u = r.usage
    assert u.total_tokens == u.input_tokens + u.output_tokens > 0
    assert u.input_tokens_details.cached_tokens == 0 and u.output_tokens_details.reasoning_tokens == 0
    o4 = client.responses.create(model="o4-mini", input="hello")
    assert o4.usage.output_tokens_details.reasoning_tokens > 0
    cut = client.responses.create(model="gpt-4o", input="hello", max_output_tokens=3)
    assert cut.status == "incomplete" and cut.usage.output_tokens == 3


def test_responses_stream(client):
    events = list(client.responses.create(model="gpt-4o", input="Tell me something", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas and deltas == events[-4].text
    final = events[-1].response
    assert final.output_text == deltas and final.usage.output_tokens > 0
    assert [e.sequence_number for e in events] == list(range(len(events)))

    with client.responses.stream(model="gpt-4o", input="hi") as stream:
        for _ in stream:
            pass
        assert stream.get_final_response().output_text.startswith("Hello")


def test_embeddings(client):
    default = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])  # SDK asks for base64
    assert [len(d.embedding) for d in default.data] == [1536, 1536]
    assert math.isclose(sum(x * x for x in default.data[0].embedding), 1.0, rel_tol=1e-4)
    assert default.data[0].embedding != default.data[1].embedding
    assert default.usage.prompt_tokens == default.usage.total_tokens >= 2
    floats = client.embeddings.create(model="text-embedding-3-small", input="alpha", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(default.data[0].embedding)  # deterministic
    small = client.embeddings.create(model="text-embedding-3-small", input="alpha", dimensions=64)
    assert len(small.data[0].embedding) == 64


def test_legacy_completions(client):
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello", max_tokens=50)
    assert r.object == "text_completion" and r.choices[0].text and r.usage.total_tokens > 0
    batch = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=["a", "b"], n=2)
    assert [c.index for c in batch.choices] == [0, 1, 2, 3]
    assert len(client.completions.create(model="gpt-3.5-turbo-instruct", prompt=[1, 2, 3]).choices) == 1
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello", stream=True,
                                            stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].text for c in chunks[:-1])


def test_models(client):
    ids = [m.id for m in client.models.list()]
    for expected in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-3.5-turbo", "o3-mini", "gpt-5-mini",
                     "text-embedding-3-small"):
        assert expected in ids
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


# --- errors and fault injection -------------------------------------------------------------------

def test_401_without_key(client):
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="gpt-4o", messages=USER,
                                       extra_headers={"Authorization": openai.Omit()})
    assert err.value.status_code == 401 and "API key" in err.value.message


def test_400_and_404(client, sim):
    req = urllib.request.Request(sim.base_url + "/chat/completions", data=b"{not json", method="POST",
                                 headers={"Authorization": "Bearer sk-test", "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    body = json.loads(err.value.read())
    assert set(body["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[])
    assert e.value.body["param"] == "messages"
    with pytest.raises(openai.BadRequestError) as e:
        client.post("/chat/completions", body={"messages": USER}, cast_to=object)
    assert e.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        client.post("/no/such/path", body={}, cast_to=object)


@pytest.mark.parametrize("status, exc", [(500, openai.InternalServerError), (429, openai.RateLimitError),
                                         (400, openai.BadRequestError), (503, openai.InternalServerError)])
def test_x_sim_status(client, status, exc):
    with pytest.raises(exc) as err:
        client.chat.completions.create(model="gpt-4o", messages=USER, extra_headers={"X-Sim-Status": str(status)})
    assert err.value.status_code == status
    if status == 429:
        assert err.value.response.headers["retry-after"] and err.value.code == "rate_limit_exceeded"


def test_x_sim_latency_and_ttft(client):
    t0 = time.perf_counter()
    client.chat.completions.create(model="gpt-4o", messages=USER, extra_headers={"X-Sim-Latency-Ms": "150"})
    assert time.perf_counter() - t0 >= 0.15
    t0 = time.perf_counter()
    stream = client.chat.completions.create(model="gpt-4o", messages=USER, stream=True,
                                            extra_headers={"X-Sim-TTFT-Ms": "150"})
    next(iter(stream))
    assert time.perf_counter() - t0 >= 0.15
    list(stream)


def test_tokens_per_s_paces_the_stream(client):
    t0 = time.perf_counter()
    list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True, extra_headers={
        "X-Sim-Output": "one two three four five six seven eight nine ten", "X-Sim-Tokens-Per-S": "100"}))
    assert time.perf_counter() - t0 >= 0.08  # ~10 tokens at 100/s


def test_x_sim_break_after_makes_the_client_raise(client):
    got = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(model="gpt-4o", messages=USER, stream=True,
                                                    extra_headers={"X-Sim-Break-After": "3"}):
            got.append(chunk)
    assert len(got) == 3
    with pytest.raises(openai.APIError):
        list(client.responses.create(model="gpt-4o", input="hi", stream=True,
                                     extra_headers={"X-Sim-Break-After": "2"}))
    with pytest.raises(openai.APIConnectionError):  # non-stream: the connection drops, no answer
        client.chat.completions.create(model="gpt-4o", messages=USER, extra_headers={"X-Sim-Break-After": "0"})
    # the connection pool recovers
    assert client.chat.completions.create(model="gpt-4o", messages=USER).choices


def test_x_sim_no_usage(client):
    r = client.chat.completions.create(model="gpt-4o", messages=USER, extra_headers={"X-Sim-No-Usage": "1"})
    assert r.usage is None and r.choices[0].message.content
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True,
                                                 stream_options={"include_usage": True},
                                                 extra_headers={"X-Sim-No-Usage": "1"}))
    assert all(c.usage is None and c.choices for c in chunks)
    events = list(client.responses.create(model="gpt-4o", input="hi", stream=True,
                                          extra_headers={"X-Sim-No-Usage": "1"}))
    assert events[-1].response.usage is None


def test_x_sim_output(client):
    text = "Exactly this — with ünïcode, commas, and\nnew lines."
    r = client.chat.completions.create(model="gpt-4o", messages=USER,
                                       extra_headers={"X-Sim-Output": urllib.parse.quote(text)})
    assert r.choices[0].message.content == text
    assert client.responses.create(model="gpt-4o", input="x", extra_headers={
        "X-Sim-Output": urllib.parse.quote(text)}).output_text == text


# --- server behaviour -----------------------------------------------------------------------------

def test_async_client_and_concurrency(sim):
    async def main():
        # Served concurrently, not one at a time: each stream's first token is a minute away, yet every one of
        # the 20 gets its response started (a server taking them in turn would keep the second waiting for a
        # minute; the client gives up after 30 s). No stopwatch: a loaded machine is only slower.
        aclient = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=30)
        waiting = await asyncio.gather(*(aclient.chat.completions.create(
            model="gpt-4o-mini", messages=USER, stream=True, extra_headers={"X-Sim-TTFT-Ms": "60000"})
            for _ in range(20)))
        for s in waiting:
            await s.close()
        results = await asyncio.gather(*(aclient.chat.completions.create(
            model="gpt-4o-mini", messages=USER, extra_headers={"X-Sim-Latency-Ms": "200"}) for _ in range(20)))
        stream = await aclient.chat.completions.create(model="gpt-4o", messages=USER, stream=True,
                                                       stream_options={"include_usage": True})
        chunks = [c async for c in stream]
        await aclient.close()
        return waiting, results, chunks

    waiting, results, chunks = asyncio.run(main())
    assert len(waiting) == 20 and len(results) == 20
    assert all(r.choices[0].message.content for r in results)
    assert chunks[-1].usage is not None


def test_random_faults_and_live_config():
    cfg = SimulatorConfig(error_rate=1.0, seed=1, retry_after_s=0.05)
    with Simulator(cfg) as s:
        c = openai.OpenAI(base_url=s.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError):
            c.chat.completions.create(model="gpt-4o", messages=USER)
        s.config.error_rate, s.config.rate_limit_rate = 0.0, 1.0  # mutable while running
        with pytest.raises(openai.RateLimitError):
            c.chat.completions.create(model="gpt-4o", messages=USER)
        s.config.rate_limit_rate = 0.0
        s.config.latency_ms = 100
        t0 = time.perf_counter()
        c.chat.completions.create(model="gpt-4o", messages=USER)
        assert time.perf_counter() - t0 >= 0.1
        assert s.request_count == 3
        url = s.base_url
    with pytest.raises(openai.APIConnectionError):  # stopped means stopped
        openai.OpenAI(base_url=url, api_key="k", max_retries=0).models.list()


def test_fallback_token_counts_without_tiktoken(client, monkeypatch):
    from monitor import tokens
    monkeypatch.setattr(tokens, "_get_encoding", lambda name: None)
    text = "x" * 400
    r = client.chat.completions.create(model="gpt-4o", messages=USER, extra_headers={"X-Sim-Output": text})
    assert r.usage.completion_tokens == 100
    assert sim_text.count("abcdefgh", "gpt-3.5-turbo") == 2


def test_run_forever_prints_base_url_and_stops_on_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-c", "from monitor.simulator import run_forever; run_forever(0)"],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert openai.OpenAI(base_url=url, api_key="k", max_retries=0).models.list().data
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
