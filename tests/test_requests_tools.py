"""The Requests detail pane shows the reply's structure, from replies captured through the real openai client
(simulator over HTTP): tool calls with their results, structured outputs, refusals, reasoning summaries,
built-in tools, image thumbnails and omitted-image markers; a conversation as one thread; and what
"Open in Playground" hands over."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument

from desktop.requests import RequestsPage
from desktop.requests.replay import playground_payload
from desktop.requests.conversation_view import thread_html
from desktop.requests.reply_view import record_html
from desktop.requests.snippet import python_snippet

try:
    from tests.app_helpers import insert, make_context, make_record
    from tests.requests_replies import (LONG_TOOL, STREAM, T0, WEATHER_TOOL, chat_record, omitted, png_data_url,
                                        responses_record, responses_tool_thread, tool_conversation)
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import insert, make_context, make_record
    from requests_replies import (LONG_TOOL, STREAM, T0, WEATHER_TOOL, chat_record, omitted, png_data_url,
                                  responses_record, responses_tool_thread, tool_conversation)


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.shutdown()


@pytest.fixture
def page(qtbot, ctx):
    widget = RequestsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 900)
    widget.show()
    return widget


def show(qtbot, ctx, page, records, index: int, *, thread: int | None = None) -> str:
    """Store the records, open the stream, select records[index]; its Messages text once its thread is in."""
    insert(ctx.db_path, records)
    page.set_stream(STREAM)
    qtbot.waitUntil(lambda: page.model.rowCount() == len(records), timeout=10_000)
    wanted = sorted(r.id for r in page.model.rows)[index]
    page.select_row(page.model.row_of(wanted))
    qtbot.waitUntil(lambda: page.detail.record is not None and page.detail.record.id == wanted, timeout=10_000)
    if thread is not None:
        qtbot.waitUntil(lambda: len(page.detail.thread) == thread, timeout=10_000)
    return page.detail.messages.toPlainText()


def test_chat_tool_calls_show_pretty_arguments_and_the_results_sent_in_the_next_call(qtbot, ctx, page, client):
    records = tool_conversation(client)                 # no session attribute: linked by the tool call ids
    text = show(qtbot, ctx, page, records, 0, thread=2)
    assert f"→ {LONG_TOOL}" in text and "→ get_weather" in text
    assert '\n  "customer_email_address": ' in text        # arguments indented, not one JSON line
    assert text.count("↳ Result") == 2
    assert '{"temp_c": 21, "sky": "clear"}' in text and "Order #A-1001 shipped" in text   # from the later call
    assert page.detail.thread_button.isVisible() and "2 calls" in page.detail.thread_button.text()

    page.detail.thread_button.click()
    assert page.detail.tabs.currentWidget() is page.detail.conversation
    thread = page.detail.conversation.toPlainText()
    total = sum(r.total_tokens for r in records)
    assert f"Conversation: 2 calls · {total:,} tokens" in thread
    assert thread.count("↳ Result") == 2 and "Tool result" not in thread   # results once, under their calls
    assert thread.count("You are a support agent.") == 1                     # the resent history is not repeated
    assert "Based on the tool results" in thread                             # the follow-up's answer

    second = max(r.id for r in page.model.rows)
    page.select_row(page.model.row_of(second))
    qtbot.waitUntil(lambda: page.detail.record.id == second and len(page.detail.thread) == 2)
    text = page.detail.messages.toPlainText()
    assert "Tool result · get_weather" in text and "Based on the tool results" in text


def test_responses_function_call_and_its_output_via_previous_response_id(qtbot, ctx, page, client):
    records = responses_tool_thread(client)
    text = show(qtbot, ctx, page, records, 0, thread=2)
    assert "Tool call" in text and "→ get_weather" in text and '"city": ' in text
    assert '{"temp_c": 4, "sky": "snow"}' in text and "no result" not in text
    page.detail.show_conversation()
    thread = page.detail.conversation.toPlainText()
    assert "Conversation: 2 calls" in thread and "Based on the tool results" in thread

    second = max(r.id for r in page.model.rows)
    page.select_row(page.model.row_of(second))
    qtbot.waitUntil(lambda: page.detail.record.id == second and len(page.detail.thread) == 2)
    assert "Tool result · get_weather · call_" in page.detail.messages.toPlainText()   # named from the earlier call


def test_a_tool_call_without_a_result_and_invalid_arguments_say_so(qtbot, ctx, page, client):
    history = [{"role": "user", "content": "weather?"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "call_bad", "type": "function", "function": {"name": "get_weather", "arguments": "{city: Paris"}}]},
               {"role": "tool", "tool_call_id": "call_bad", "content": "sunny"},
               {"role": "user", "content": "now use get_weather for Rome"}]
    record = chat_record(client, 0, model="gpt-4o-mini", messages=history, tools=[WEATHER_TOOL])
    text = show(qtbot, ctx, page, [record], 0, thread=1)
    assert "{city: Paris" in text and "arguments are not valid JSON; shown as sent" in text
    assert "Tool result · get_weather · call_bad" in text and "sunny" in text
    assert "no result for this call in the conversation" in text          # the new call's result never came
    assert not page.detail.thread_button.isVisible()                      # a thread of one is no conversation


def test_refusals_are_marked(qtbot, ctx, page, client):
    records = [chat_record(client, 0, model="gpt-4o-mini", messages=[{"role": "user", "content": "[refuse] hack it"}]),
               responses_record(client, 1, model="gpt-4.1-mini", input="[refuse] hack it too")]
    for index in (0, 1):
        if index:
            page.select_row(page.model.row_of(max(r.id for r in page.model.rows)))
            qtbot.waitUntil(lambda: page.detail.record.api == "responses")
            text = page.detail.messages.toPlainText()
        else:
            text = show(qtbot, ctx, page, records, 0)
        assert "✗ Refused" in text and "I'm sorry, but I can't help with that request." in text
    assert "#cf222e" in page.detail.messages.toHtml()                       # in the error colour


def test_structured_outputs_are_formatted_json(qtbot, ctx, page, client):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    records = [chat_record(client, 0, model="gpt-4o-mini", messages=[{"role": "user", "content": "Extract: Ada, 36"}],
                           response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}),
               responses_record(client, 1, model="gpt-4.1-mini", input="Extract: Bob, 41",
                                text={"format": {"type": "json_schema", "name": "person", "schema": schema}})]
    text = show(qtbot, ctx, page, records, 0)
    assert 'structured output\n{\n  "name": ' in text
    page.select_row(page.model.row_of(max(r.id for r in page.model.rows)))
    qtbot.waitUntil(lambda: page.detail.record.api == "responses")
    text = page.detail.messages.toPlainText()
    assert "structured output" in text and '\n  "age": ' in text


def test_reasoning_summary_and_built_in_tools_one_line_each(qtbot, ctx, page, client):
    record = responses_record(client, 0, model="o4-mini", input="Is 97 prime?", reasoning={"summary": "auto"},
                              tools=[{"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["vs_1"]},
                                     {"type": "code_interpreter", "container": {"type": "auto"}}])
    text = show(qtbot, ctx, page, [record], 0)
    assert "Reasoning summary" in text and "Thinking it through" in text
    assert "Web search: Is 97 prime? · completed\n" in text
    assert "File search: Is 97 prime? · completed\n" in text
    assert "Code interpreter: print(6 * 7) · completed\n" in text
    assert text.index("Reasoning summary") < text.index("Web search") < text.index("Reply")


def test_images_show_as_thumbnails_or_as_omitted(qtbot, ctx, page, client):
    image = png_data_url(240, 120)
    kept = chat_record(client, 0, model="gpt-4o-mini", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": image}}]}])
    dropped = responses_record(client, 1, model="gpt-4.1-mini", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "And this one?"}, {"type": "input_image", "image_url": image}]}])
    marker = {**omitted(image), "bytes": 204_800}          # what the store keeps for a 200 KB image
    dropped.request["input"][0]["content"][1]["image_url"] = marker
    text = show(qtbot, ctx, page, [kept, dropped], 0)
    assert "image, " in text and "thumb:0" in page.detail.messages.toHtml()
    thumb = page.detail.messages.document().resource(QTextDocument.ImageResource, QUrl("thumb:0"))
    assert thumb is not None and not thumb.isNull() and (thumb.width(), thumb.height()) == (160, 80)   # scaled
    page.select_row(page.model.row_of(max(r.id for r in page.model.rows)))
    qtbot.waitUntil(lambda: page.detail.record.api == "responses")
    assert "[image omitted, 200 KB]" in page.detail.messages.toPlainText()


def test_open_in_playground_hands_over_tools_messages_and_format(client):
    first, second = tool_conversation(client)
    payload = playground_payload(first)
    assert payload["tools"] == first.request["tools"] and payload["model"] == "gpt-4o-mini"
    assert payload["messages"][:2] == first.request["messages"]
    assert payload["messages"][-1]["tool_calls"] == first.response["choices"][0]["message"]["tool_calls"]
    assert len(payload["pending_tool_calls"]) == 2                  # the user can type their results
    later = playground_payload(second)
    assert [m["role"] for m in later["messages"]][-3:] == ["assistant", "tool", "tool"] and not later["pending_tool_calls"]

    structured = chat_record(client, 5, model="gpt-4o-mini", messages=[{"role": "user", "content": "json"}],
                             response_format={"type": "json_object"}, tool_choice="none", tools=[WEATHER_TOOL],
                             temperature=0.2)
    payload = playground_payload(structured)
    assert payload["response_format"] == {"type": "json_object"} and payload["tool_choice"] == "none"
    assert payload["params"] == {"temperature": 0.2}
    r_first, _ = responses_tool_thread(client, 7)
    payload = playground_payload(r_first)
    assert payload["messages"][0] == {"role": "user", "content": "What's the weather in Oslo?"}
    assert payload["messages"][-1]["type"] == "function_call" and payload["pending_tool_calls"]


def test_a_long_conversation_shows_the_calls_around_the_selected_one():
    records = [make_record(STREAM, i, ts=T0 + i, id=i + 1, attributes={"session": "long"}) for i in range(130)]
    text = thread_html(records, current_id=61).html
    assert "Conversation: 130 calls" in text
    assert "10 earlier calls not shown" in text and "20 later calls not shown" in text
    assert "#11 · " in text and "#110 · " in text and "#10 · " not in text and "#111 · " not in text


def test_a_responses_thread_shows_repeated_instructions_once():
    def call(i, instructions):
        return make_record(STREAM, i, ts=T0 + i, id=i + 1, api="responses", response_id=f"resp_{i}",
                           request={"instructions": instructions, "input": f"turn {i}",
                                    **({"previous_response_id": f"resp_{i - 1}"} if i else {})})
    text = thread_html([call(0, "Be terse."), call(1, "Be terse."), call(2, "Be kind.")]).html
    assert text.count("Be terse.") == 1 and text.count("Be kind.") == 1 and text.count("turn ") == 3


def test_responses_input_items_without_a_role_are_one_line():
    record = make_record(STREAM, 0, ts=T0, api="responses", request={"input": [
        {"type": "item_reference", "id": "msg_1"}, {"role": "user", "content": "go on"}]})
    text = record_html(record).html
    assert "[item_reference msg_1]" in text and "go on" in text and "(empty)" not in text.split("go on")[0]


def test_copy_as_python_of_a_tool_calling_call_prints_its_tool_calls(client, sim, tmp_path):
    chat, _ = tool_conversation(client)
    resp, _ = responses_tool_thread(client, 5)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-replay", "OPENAI_BASE_URL": sim.base_url,
           "OPENAI_MONITOR_DB": str(tmp_path / "replay.db")}
    for record, shown in ((chat, LONG_TOOL), (resp, "type='function_call'")):
        done = subprocess.run([sys.executable, "-c", python_snippet(record)], check=True, env=env, timeout=60,
                              capture_output=True, text=True)
        assert shown in done.stdout and "get_weather" in done.stdout
