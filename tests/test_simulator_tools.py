"""The simulator speaks today's API over real HTTP: tool calls (plain and streamed), Responses function
calls, reasoning summaries and built-in tools, refusals, images, audio and moderations."""
from __future__ import annotations

import base64
import json

import pytest

from monitor import sim_media

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
           "required": ["city", "unit"]}
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
              {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


def test_chat_tool_call_then_answer_from_the_result(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=1)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    assert set(json.loads(call.function.arguments)) == {"city", "unit"}
    assert r.usage.completion_tokens > 0
    follow = ASK + [choice.message.model_dump(exclude_none=True),
                    {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"}]
    r2 = client.chat.completions.create(model="gpt-4o-mini", messages=follow, tools=CHAT_TOOLS)
    assert r2.choices[0].finish_reason == "stop" and "18 C and sunny" in r2.choices[0].message.content


def test_chat_tool_choice_none_parallel_and_named(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, tool_choice="none")
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content
    both = [{"role": "user", "content": "Call get_weather and get_time please"}]
    r = client.chat.completions.create(model="gpt-4o-mini", messages=both, tools=CHAT_TOOLS)
    assert [c.function.name for c in r.choices[0].message.tool_calls] == ["get_weather", "get_time"]
    r = client.chat.completions.create(model="gpt-4o-mini", messages=both, tools=CHAT_TOOLS, parallel_tool_calls=False)
    assert len(r.choices[0].message.tool_calls) == 1
    r = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS,
                                       tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c.function.name for c in r.choices[0].message.tool_calls] == ["get_time"]


def test_streamed_tool_call_deltas_assemble_to_the_same_call(client):
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=5)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=CHAT_TOOLS, seed=5, stream=True)
    name, args, finish, pieces = None, "", None, 0
    for chunk in stream:
        for tc in chunk.choices[0].delta.tool_calls or []:
            name = tc.function.name or name
            args += tc.function.arguments or ""
            pieces += 1
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls" and pieces > 2
    assert (name, args) == (plain.choices[0].message.tool_calls[0].function.name,
                            plain.choices[0].message.tool_calls[0].function.arguments)


def test_refusal_plain_and_streamed(client):
    r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "[refuse] help me"}])
    assert r.choices[0].message.refusal and r.choices[0].message.content is None
    with client.beta.chat.completions.stream(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                             extra_headers={"X-Sim-Refusal": "1"}) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.refusal == r.choices[0].message.refusal


def test_structured_output_follows_the_schema(client):
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
              "required": ["title", "score"], "additionalProperties": False}
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, response_format={
        "type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}})
    value = json.loads(r.choices[0].message.content)
    assert set(value) == {"title", "score"} and isinstance(value["score"], int)


def test_image_input_is_counted(client):
    image = "data:image/png;base64," + base64.b64encode(sim_media.png(64, "x")).decode()
    text_only = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Describe"}])
    with_image = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": image}}]}])
    assert with_image.usage.prompt_tokens > text_only.usage.prompt_tokens + 50


RESPONSE_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]


def test_responses_function_call_and_its_event_stream(client):
    r = client.responses.create(model="gpt-4.1", input="Weather in Paris?", tools=RESPONSE_TOOLS)
    (item,) = r.output
    assert item.type == "function_call" and item.name == "get_weather" and item.call_id.startswith("call_")
    events = list(client.responses.create(model="gpt-4.1", input="Weather in Paris?", tools=RESPONSE_TOOLS, stream=True))
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments).keys() == {"city", "unit"}
    assert [o.type for o in events[-1].response.output] == ["function_call"]
    follow = client.responses.create(model="gpt-4.1", tools=RESPONSE_TOOLS, input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call_output", "call_id": item.call_id, "output": "18 C"}])
    assert "18 C" in follow.output_text


def test_responses_reasoning_summary_builtin_tools_and_refusal(client):
    r = client.responses.create(model="o3", input="Why is the sky blue?", reasoning={"effort": "low", "summary": "auto"},
                                tools=[{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}}])
    assert [o.type for o in r.output] == ["reasoning", "web_search_call", "code_interpreter_call", "message"]
    assert r.output[0].summary[0].text
    events = list(client.responses.create(model="o3", input="Why?", reasoning={"summary": "auto"}, stream=True))
    assert any(e.type == "response.reasoning_summary_text.delta" for e in events)
    refused = list(client.responses.create(model="gpt-4.1", input="[refuse] no", stream=True))
    assert refused[-1].response.output[0].content[0].type == "refusal"
    assert any(e.type == "response.refusal.delta" for e in refused)


def test_images_audio_and_moderations(client):
    img = client.images.generate(model="gpt-image-1", prompt="a lighthouse", quality="high")
    data = base64.b64decode(img.data[0].b64_json)
    assert data.startswith(b"\x89PNG") and len(data) > 150_000
    assert img.usage.output_tokens == 4160 and img.usage.output_tokens_details.image_tokens == 4160
    edit = client.images.edit(model="gpt-image-1", image=("in.png", sim_media.png(32, "y"), "image/png"), prompt="hat")
    assert edit.usage.input_tokens_details.image_tokens > 0
    whisper = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", sim_media.wav(3.2), "audio/wav"))
    assert whisper.text and whisper.usage.type == "duration" and whisper.usage.seconds == pytest.approx(3.2)
    tokens = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", sim_media.wav(2), "audio/wav"))
    assert tokens.usage.type == "tokens" and tokens.usage.input_token_details.audio_tokens == 20
    speech = client.audio.speech.create(model="tts-1", voice="alloy", input="x" * 30).read()
    assert sim_media.wav_seconds(speech) == pytest.approx(2.0)
    mod = client.moderations.create(input=["hello", "[flag] this"])
    assert [r.flagged for r in mod.results] == [False, True]
