"""Every API through its adapter (monitor/apis), over real HTTP to the simulator: the caller's result is
what an unmonitored client gets, and the stored record holds the reply's structure, billing and price."""
from __future__ import annotations

import array
import asyncio
import base64
import hashlib
import json
import os
import sqlite3

import openai
import pytest

from monitor import apis, init_monitor, instrument, pricing, record, sim_media

KEY = "sk-test-0123456789abcdef"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
RESP_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


@pytest.fixture
def m(db_path):
    monitor = init_monitor("apis", db_path=db_path, quiet=True)
    yield monitor
    monitor.close()


@pytest.fixture
def pair(m, sim):
    """(an unmonitored client, a monitored one) on the simulator."""
    plain = openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0)
    monitored = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    yield plain, monitored
    plain.close()
    monitored.close()


def _records(m):
    m.flush()
    return m.records()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the registry ---------------------------------------------------------------------------------------
def test_the_registry_is_the_one_list_of_apis():
    assert record.APIS == apis.API_NAMES == tuple(a.api for a in apis.ADAPTERS)
    assert len(set(record.APIS)) == len(record.APIS)
    assert {api for _, _, api in instrument.RESOURCES} == set(record.APIS)
    for client in (openai.OpenAI(api_key=KEY), openai.AsyncOpenAI(api_key=KEY)):
        for path, methods, api in instrument.RESOURCES:
            target = client
            for name in path:
                target = getattr(target, name)
            for method in methods:
                assert callable(getattr(target, method)), (api, path, method)


def test_copy_as_python_dispatches_to_the_adapter(m, pair):
    from desktop.requests.snippet import python_snippet
    _, client = pair
    client.images.generate(model="dall-e-2", prompt="a cat", size="256x256")
    client.moderations.create(input="hello")
    client.images.edit(model="gpt-image-1", image=("in.png", sim_media.png(8, "e"), "image/png"), prompt="hat")
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS)
    images, moderation, edit, tools = _records(m)
    assert "response = client.images.generate(" in python_snippet(images)
    assert "print(response.results[0].flagged)" in python_snippet(moderation)
    assert "response = client.images.edit(" in python_snippet(edit)
    assert "message.tool_calls" in python_snippet(tools)


# -- chat: tool calls, streamed and not ------------------------------------------------------------------
def test_streamed_and_unstreamed_tool_calls_store_equal_response(m, pair):
    plain, client = pair
    expected = plain.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=7)
    got = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=7)
    assert got.choices[0].message == expected.choices[0].message            # the caller's result is unchanged
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=7,
                                                 stream=True))
    assert all(c.choices for c in chunks)                                     # the usage chunk stays hidden
    unstreamed, streamed = _records(m)
    calls = unstreamed.response["choices"][0]["message"]["tool_calls"]
    assert calls == [c.model_dump() for c in got.choices[0].message.tool_calls]
    assert streamed.response["choices"][0]["message"]["tool_calls"] == calls
    assert streamed.response["object"] == "chat.completion" and streamed.response["usage"]["prompt_tokens"] > 0
    for rec in (unstreamed, streamed):
        assert rec.finish_reason == "tool_calls" and rec.response_id.startswith("chatcmpl-")
        assert rec.response_id == rec.response["id"]
        assert json.loads(rec.output)[0]["name"] == "get_weather"
    assert streamed.response_id == chunks[0].id


def test_streamed_text_and_refusal_store_the_message(m, pair):
    _, client = pair
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], stream=True) if c.choices)
    list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                        messages=[{"role": "user", "content": "[refuse] do it"}]))
    answer, refused = _records(m)
    assert answer.response["choices"][0]["message"] == {"role": "assistant", "content": text}
    assert answer.finish_reason == "stop" and answer.output == text
    assert refused.response["choices"][0]["message"]["refusal"].startswith("I'm sorry")
    assert refused.output == refused.response["choices"][0]["message"]["refusal"]


def test_stream_proxies_are_openai_streams(m, sim):
    client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    assert isinstance(stream, openai.Stream)
    assert stream.response.status_code == 200                      # attributes reach the inner stream
    list(stream)

    async def go():
        aclient = m.wrap(openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
        astream = await aclient.responses.create(model="gpt-4o-mini", input="hi", stream=True)
        ok = isinstance(astream, openai.AsyncStream)
        async for _ in astream:
            pass
        await aclient.close()
        return ok

    assert asyncio.run(go())
    assert [r.status for r in _records(m)] == ["success", "success"]


# -- Responses ------------------------------------------------------------------------------------------
def test_responses_function_calls_streamed_and_not_store_the_same_output(m, pair):
    plain, client = pair
    expected = plain.responses.create(model="gpt-4o-mini", input="weather in Paris?", tools=RESP_TOOLS, extra_body={"seed": 3})
    got = client.responses.create(model="gpt-4o-mini", input="weather in Paris?", tools=RESP_TOOLS, extra_body={"seed": 3})
    assert got.output == expected.output
    events = list(client.responses.create(model="gpt-4o-mini", input="weather in Paris?", tools=RESP_TOOLS, extra_body={"seed": 3},
                                          stream=True))
    assert events[-1].type == "response.completed"
    unstreamed, streamed = _records(m)
    (item,) = unstreamed.response["output"]
    assert item["type"] == "function_call" and item["name"] == "get_weather"
    assert item["arguments"] == got.output[0].arguments and item["call_id"] == got.output[0].call_id
    assert streamed.response["output"] == unstreamed.response["output"]
    for rec in (unstreamed, streamed):
        assert rec.finish_reason == "completed" and rec.response_id == rec.response["id"]
        assert rec.response_id.startswith("resp_")


def test_responses_incomplete_reason_is_the_finish_reason(m, pair):
    _, client = pair
    client.responses.create(model="gpt-4o-mini", input="write a long essay", max_output_tokens=16)
    list(client.responses.create(model="gpt-4o-mini", input="write a long essay", max_output_tokens=16, stream=True))
    for rec in _records(m):
        assert rec.finish_reason == "max_output_tokens" and rec.response["status"] == "incomplete"


def test_responses_built_in_tools_are_recorded_and_priced(m, pair):
    _, client = pair
    r = client.responses.create(model="gpt-4o-mini", input="news today", tools=[{"type": "web_search"}])
    client.responses.create(model="gpt-4o-mini", input="run it", tools=[{"type": "code_interpreter",
                                                                         "container": {"type": "auto"}}])
    search, code = _records(m)
    assert [i["type"] for i in search.response["output"]] == ["web_search_call", "message"]
    tokens = pricing.cost_usd("gpt-4o-mini", search.prompt_tokens, search.completion_tokens, search.cached_tokens)
    assert search.cost_usd == pytest.approx(tokens + 10 / 1000)              # $10 per 1,000 web searches
    assert search.output == r.output_text
    assert code.response["output"][0]["type"] == "code_interpreter_call"
    assert code.cost_usd is None and "code_interpreter_call" in code.error and code.status == "success"


def test_the_reported_service_tier_reaches_the_price(m, pair):
    _, client = pair
    list(client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True, service_tier="flex"))
    list(client.responses.create(model="gpt-4o", input="hi", stream=True, service_tier="flex"))
    for rec in _records(m):
        assert rec.response["service_tier"] == "flex"
        standard = pricing.cost_usd("gpt-4o", rec.prompt_tokens, rec.completion_tokens, rec.cached_tokens)
        assert rec.cost_usd == pytest.approx(standard / 2)


# -- large payloads never enter the store ---------------------------------------------------------------
def _store_bytes(path) -> int:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    wal = f"{path}-wal"
    return os.path.getsize(path) + (os.path.getsize(wal) if os.path.exists(wal) else 0)


def test_a_200_kb_image_grows_the_store_by_a_few_kb(m, pair, db_path):
    _, client = pair
    png = sim_media.png(256, "photo")
    assert len(png) > 190_000
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "warm up"}])
    m.flush()
    before = _store_bytes(db_path)
    content = [{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": url}}]
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
    rec = _records(m)[-1]
    grown = _store_bytes(db_path) - before
    assert grown < 16_000, grown
    part = rec.request["messages"][0]["content"][1]["image_url"]["url"]
    assert part == {"omitted": "image", "bytes": len(png), "sha256": _sha(png)}
    assert rec.request["messages"][0]["content"][0]["text"] == "What is in this image?"


def test_embedding_vectors_are_omitted_with_their_hash(m, pair):
    plain, client = pair
    expected = plain.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    got = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.embedding for d in got.data] == [d.embedding for d in expected.data]
    (rec,) = _records(m)
    first = rec.response["data"][0]["embedding"]
    vector = array.array("f", got.data[0].embedding).tobytes()
    assert first == {"omitted": "embedding", "bytes": len(vector), "sha256": _sha(vector)}
    assert rec.response["usage"]["prompt_tokens"] == got.usage.prompt_tokens
    assert rec.cost_usd == pytest.approx(got.usage.prompt_tokens * 0.02 / 1e6)


# -- images, audio, moderations ---------------------------------------------------------------------------
def test_dall_e_images_are_billed_per_image(m, pair):
    plain, client = pair
    expected = plain.images.generate(model="dall-e-3", prompt="a lighthouse", quality="hd", size="1024x1024")
    got = client.images.generate(model="dall-e-3", prompt="a lighthouse", quality="hd", size="1024x1024")
    assert got.data[0].b64_json == expected.data[0].b64_json                # the caller's image, whole
    (rec,) = _records(m)
    image = base64.b64decode(got.data[0].b64_json)
    assert rec.response["data"][0]["b64_json"] == {"omitted": "image", "bytes": len(image), "sha256": _sha(image)}
    assert rec.response["billing"] == {"unit": "images", "images": 1, "size": "1024x1024", "quality": "hd"}
    assert rec.cost_usd == pytest.approx(0.080) and rec.prompt_tokens is None and not rec.usage_estimated
    assert rec.api == "images" and rec.output == "a lighthouse"               # dall-e-3's revised prompt


def test_gpt_image_edit_is_billed_in_tokens_and_its_upload_never_stored(m, pair):
    _, client = pair
    upload = sim_media.png(64, "in")
    got = client.images.edit(model="gpt-image-1", image=("in.png", upload, "image/png"), prompt="add a hat")
    (rec,) = _records(m)
    assert rec.request["image"][1] == {"omitted": "file", "bytes": len(upload), "sha256": _sha(upload)}
    assert rec.prompt_tokens == got.usage.input_tokens and rec.completion_tokens == got.usage.output_tokens
    assert rec.cost_usd == pytest.approx(pricing.cost_usd(
        "gpt-image-1", got.usage.input_tokens, got.usage.output_tokens, 0,
        image_input_tokens=got.usage.input_tokens_details.image_tokens, image_output_tokens=got.usage.output_tokens))
    assert rec.cost_usd > 0 and "billing" not in rec.response


def test_transcriptions_bill_seconds_or_audio_tokens(m, pair):
    plain, client = pair
    audio = sim_media.wav(30)
    expected = plain.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio, "audio/wav"))
    got = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", audio, "audio/wav"))
    assert got.text == expected.text
    tokens = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("b.wav", sim_media.wav(4), "audio/wav"))
    whisper, by_tokens = _records(m)
    assert whisper.api == "audio.transcriptions" and whisper.output == got.text
    assert whisper.response["billing"] == {"unit": "audio_seconds", "seconds": 30.0}
    assert whisper.cost_usd == pytest.approx(30 * 0.006 / 60)                 # $0.006 per minute
    assert whisper.request["file"][1]["omitted"] == "file"
    assert by_tokens.prompt_tokens == tokens.usage.input_tokens
    assert by_tokens.cost_usd == pytest.approx(pricing.cost_usd(
        "gpt-4o-transcribe", tokens.usage.input_tokens, tokens.usage.output_tokens, 0,
        audio_input_tokens=tokens.usage.input_token_details.audio_tokens))


def test_speech_is_billed_by_characters_and_its_body_left_to_the_caller(m, pair):
    plain, client = pair
    text = "Hello there, this is a test of speech."
    expected = plain.audio.speech.create(model="tts-1-hd", voice="alloy", input=text).read()
    got = client.audio.speech.create(model="tts-1-hd", voice="alloy", input=text)
    assert got.read() == expected
    (rec,) = _records(m)
    assert rec.api == "audio.speech" and rec.output is None and rec.status == "success"
    assert rec.response["billing"] == {"unit": "characters", "characters": len(text)}
    assert rec.response["content_type"] == "audio/wav"
    assert rec.cost_usd == pytest.approx(len(text) * 30 / 1e6)                # tts-1-hd: $30 per 1M characters


def test_moderations_are_logged_free(m, pair):
    plain, client = pair
    expected = plain.moderations.create(input=["hello", "[flag] this"])
    got = client.moderations.create(input=["hello", "[flag] this"])
    assert got.results == expected.results
    (rec,) = _records(m)
    assert rec.api == "moderations" and rec.cost_usd == 0.0 and rec.response_id == got.id
    assert [r["flagged"] for r in rec.response["results"]] == [False, True]
    assert json.loads(rec.output) == {"flagged": [False, True]}


def test_unknown_image_price_is_none_not_zero(m, pair):
    _, client = pair
    client.images.generate(model="dall-e-3", prompt="x", size="512x512")       # no such dall-e-3 size price
    (rec,) = _records(m)
    assert rec.cost_usd is None


def test_base64_payloads_anywhere_are_omitted_by_kind():
    from monitor.apis import payloads
    from monitor.capture import clean
    wav, png = sim_media.wav(1), sim_media.png(40, "p")
    request = {"model": "gpt-4o-audio-preview", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 x").decode()}},
        {"type": "text", "text": "short text stays " + "word " * 400}]}],
        "image": b"raw bytes upload"}
    stored = clean(request)
    parts = stored["messages"][0]["content"]
    assert parts[0]["input_audio"] == {"data": payloads.omitted("audio", wav), "format": "wav"}
    assert parts[1]["file"]["file_data"] == payloads.omitted("file", b"%PDF-1.4 x")
    assert parts[2]["text"].startswith("short text stays word word")
    assert stored["image"] == payloads.omitted("file", b"raw bytes upload")
    assert clean({"b64_json": base64.b64encode(png).decode()}) == {"b64_json": payloads.omitted("image", png)}
    json.dumps(stored)


def test_raw_and_streaming_responses_of_the_new_apis_are_logged(m, pair):
    _, client = pair
    raw = client.images.with_raw_response.generate(model="dall-e-2", prompt="a cat", size="512x512")
    assert raw.parse().data[0].b64_json
    with client.audio.speech.with_streaming_response.create(model="tts-1", voice="alloy", input="hi there") as r:
        audio = b"".join(r.iter_bytes())
    assert sim_media.wav_seconds(audio) > 0
    del r
    import gc
    gc.collect()
    images, speech = _records(m)
    assert images.api == "images" and images.cost_usd == pytest.approx(0.018)
    assert speech.api == "audio.speech" and speech.cost_usd == pytest.approx(len("hi there") * 15 / 1e6)


def test_async_images_and_moderations(m, sim):
    async def go():
        client = m.wrap(openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0))
        img = await client.images.generate(model="dall-e-2", prompt="a dog", size="256x256", n=2)
        mod = await client.moderations.create(input="fine")
        await client.close()
        return img, mod

    img, mod = asyncio.run(go())
    images, moderation = _records(m)
    assert len(img.data) == 2 and images.cost_usd == pytest.approx(2 * 0.016)
    assert images.response["billing"]["images"] == 2 and moderation.response_id == mod.id


def test_a_responses_stream_closed_early_keeps_what_arrived(m, pair):
    _, client = pair
    stream = client.responses.create(model="gpt-4o-mini", input="tell me a story", stream=True)
    seen = ""
    for event in stream:
        if event.type == "response.output_text.delta":
            seen += event.delta
            if len(seen) > 10:
                break
    stream.close()
    (rec,) = _records(m)
    assert rec.status == "cancelled" and rec.finish_reason is None
    assert rec.output == seen and rec.response["output"][0]["content"][0]["text"] == seen
    assert rec.response_id and rec.response_id.startswith("resp_")


def test_a_key_shaped_text_in_the_reply_is_scrubbed_in_the_stored_response_too(m, pair, db_path):
    _, client = pair
    leaked = "sk-proj-Abcdefghijklmnop0123456789"
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK, extra_headers={"X-Sim-Output": f"use {leaked}"})
    (rec,) = _records(m)
    assert leaked not in rec.output and leaked not in json.dumps(rec.response)
    assert rec.response["choices"][0]["message"]["content"] == rec.output
    for f in db_path.parent.iterdir():
        if f.is_file():
            assert leaked.encode() not in f.read_bytes()
