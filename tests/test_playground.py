"""The playground's real widgets against the simulator, through a real AppContext and store."""
from __future__ import annotations

import os
import time
import urllib.parse

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from desktop import tasks
from desktop.call_stats import format_call_stats
from desktop.playground import PlaygroundPage

try:
    from tests.desktop_helpers import ctx, make_context, stored_records  # noqa: F401 - ctx is a fixture
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from desktop_helpers import ctx, make_context, stored_records  # noqa: F401

STORY = ("Once upon a time a small robot counted the stars over the harbour every night, and each night "
         "it found one more than before, until the harbour master asked it why it kept going.")
SLOW = {"X-Sim-Tokens-Per-S": "25", "X-Sim-Output": urllib.parse.quote(STORY)}


@pytest.fixture
def page(qtbot, ctx):
    widget = PlaygroundPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.set_stream("pg-test")
    yield widget
    if widget.is_running():
        widget.cancel()


def fill(page, system: str, user: str) -> None:
    system_editor, user_editor = page.messages.editors[:2]
    system_editor.text.setPlainText(system)
    user_editor.text.setPlainText(user)


def show_active(qtbot, page) -> None:
    # Shortcuts only fire in the active window; offscreen, a new window is not activated by itself.
    with qtbot.waitActive(page):
        page.show()
        page.activateWindow()


def run_and_wait(qtbot, page, timeout=15_000) -> dict:
    with qtbot.waitSignal(page.callFinished, timeout=timeout) as blocker:
        page.run()
    return blocker.args[0]


def test_run_logs_the_call_and_shows_the_stored_numbers(qtbot, page, ctx):
    fill(page, "you always write in bullet points", "solve the following equation step by step: {equation}")
    page.variables.set_value("equation", "4 * (3 - 1)")
    page.attributes.set_attributes({"user": "alice", "try": 2})
    page.model_picker.set_model("gpt-4o-mini")

    result = run_and_wait(qtbot, page)

    records = stored_records(ctx, "pg-test")
    assert len(records) == 1
    record = records[0]
    assert result["id"] == record.id and result["status"] == "success"
    assert record.request["messages"] == [
        {"role": "system", "content": "you always write in bullet points"},
        {"role": "user", "content": "solve the following equation step by step: 4 * (3 - 1)"},
    ]
    assert record.request["model"] == "gpt-4o-mini" and record.streamed
    assert record.attributes == {
        "user": "alice", "try": 2, "system_prompt": "you always write in bullet points",
        "prompt_template": "solve the following equation step by step: {equation}",
        "params": {"equation": "4 * (3 - 1)"},
    }
    assert page.output.toPlainText() == record.output and record.output
    # what is shown is what was stored, number for number
    assert page.stats_label.text() == format_call_stats(record)
    for value in (record.prompt_tokens, record.completion_tokens):
        assert f"{value:,}" in page.stats_label.text()
    assert record.cost_usd is not None and record.ttft_ms is not None
    assert page.banner_kind() == "success"
    assert page.run_button.isEnabled() and not page.cancel_button.isEnabled()


def test_non_streamed_call_and_parameters(qtbot, page, ctx):
    fill(page, "", "Return a JSON object describing a cat.")
    page.params.stream.setChecked(False)
    page.params.temperature.setValue(0.3)
    page.params.max_tokens.setValue(64)
    page.params.top_p.setValue(0.9)
    page.params.seed.setValue(42)
    page.params.json_mode.setChecked(True)
    page.model_picker.set_model("o4-mini")

    run_and_wait(qtbot, page)

    record = stored_records(ctx, "pg-test")[-1]
    assert not record.streamed and record.status == "success"
    request = record.request
    assert request["temperature"] == 0.3 and request["top_p"] == 0.9 and request["seed"] == 42
    assert request["max_completion_tokens"] == 64 and "max_tokens" not in request   # o-series naming
    assert request["response_format"] == {"type": "json_object"}
    assert "system_prompt" not in record.attributes          # no system message was written
    assert page.output.toPlainText() == record.output


def test_streaming_shows_partial_output_before_the_end(qtbot, page, ctx):
    fill(page, "", "Tell me a story.")
    page.extra_request_options = {"extra_headers": SLOW}
    seen_partial = []

    def on_text():
        text = page.output.toPlainText()
        if text and page.is_running():
            seen_partial.append(text)

    page.output.textChanged.connect(on_text)
    with qtbot.waitSignal(page.callFinished, timeout=20_000):
        page.run()
    assert seen_partial, "no output was shown while the call was running"
    assert len(seen_partial[0]) < len(STORY)
    assert page.output.toPlainText() == STORY
    assert stored_records(ctx, "pg-test")[-1].output == STORY


def test_cancel_mid_stream_logs_cancelled_with_partial_output(qtbot, page, ctx):
    fill(page, "", "Tell me a story.")
    page.extra_request_options = {"extra_headers": SLOW}
    show_active(qtbot, page)
    page.run()
    qtbot.waitUntil(lambda: len(page.output.toPlainText()) > 10, timeout=10_000)
    with qtbot.waitSignal(page.callFinished, timeout=5_000) as blocker:
        page.messages.editors[1].text.setFocus()
        qtbot.keyClick(page.messages.editors[1].text, Qt.Key.Key_Escape)      # Esc cancels
    result = blocker.args[0]
    assert result["status"] == "cancelled"
    record = stored_records(ctx, "pg-test")[-1]
    assert record.status == "cancelled"
    assert record.output and STORY.startswith(record.output) and len(record.output) < len(STORY)
    assert page.output.toPlainText().startswith(record.output)
    assert page.banner_kind() == "cancelled" and page.run_button.isEnabled()


def test_cancel_while_waiting_for_the_first_token_is_immediate(qtbot, page, ctx):
    fill(page, "", "Think hard, then answer.")
    # The first token would come after a minute: the call finishing well before proves cancel did not wait for it.
    page.extra_request_options = {"extra_headers": {"X-Sim-TTFT-Ms": "60000"}}
    page.run()
    qtbot.waitUntil(lambda: page._handle.stream is not None, timeout=10_000)
    task = page._task
    with qtbot.waitSignal(page.callFinished, timeout=30_000):
        page.cancel()
    record = stored_records(ctx, "pg-test")[-1]
    assert record.status == "cancelled" and record.output == ""
    # The worker's read ended too (closing a socket does not wake a read blocked on it): no network-lane
    # thread is left waiting for that minute, or for the client's timeout.
    qtbot.waitUntil(lambda: task.done, timeout=30_000)


def test_ctrl_enter_runs(qtbot, page, ctx):
    fill(page, "", "hello")
    show_active(qtbot, page)
    editor = page.messages.editors[1].text
    editor.setFocus()
    with qtbot.waitSignal(page.callFinished, timeout=15_000):
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "hello"          # the shortcut ran; no newline was typed
    assert len(stored_records(ctx, "pg-test")) == 1


def test_variables_are_detected_live_filled_and_escaped(qtbot, page, ctx, sim):
    fill(page, "You explain to a {audience}.", "Explain {equation} to a {audience}. Use {{braces}} literally.")
    assert page.variables.names() == ["audience", "equation"]      # order of first use, each once
    page.messages.add_message("user", "And {extra}?")
    assert page.variables.names() == ["audience", "equation", "extra"]
    page.messages.remove_message(page.messages.editors[-1])
    assert page.variables.names() == ["audience", "equation"]

    page.variables.set_value("audience", "new student")
    tasks.wait_for_network()                   # the page's model-list fetch is a request too
    before = sim.request_count
    page.run()                                   # {equation} is unfilled: blocked, nothing sent
    assert not page.is_running()
    assert page.banner_kind() == "error" and "{equation}" in page.banner.text()
    qtbot.wait(200)
    assert sim.request_count == before and stored_records(ctx, "pg-test") == []

    page.variables.set_value("equation", "x^2 + 4x + 9 = 0")
    run_and_wait(qtbot, page)
    record = stored_records(ctx, "pg-test")[-1]
    assert record.request["messages"] == [
        {"role": "system", "content": "You explain to a new student."},
        {"role": "user", "content": "Explain x^2 + 4x + 9 = 0 to a new student. Use {braces} literally."},
    ]
    assert record.attributes["params"] == {"audience": "new student", "equation": "x^2 + 4x + 9 = 0"}
    assert record.attributes["system_prompt"] == "You explain to a new student."


def test_token_and_cost_estimate_update_as_you_type(qtbot, page):
    page.model_picker.set_model("gpt-4o-mini")
    fill(page, "", "Hi")
    qtbot.waitUntil(lambda: "prompt tokens" in page.estimate_label.text(), timeout=5_000)

    def tokens() -> int:
        return int(page.estimate_label.text().split(" prompt tokens")[0].lstrip("~").replace(",", ""))

    first = tokens()
    assert "prompt only" in page.estimate_label.text()
    page.messages.editors[1].text.setPlainText("Hi " + "and a much longer question about the harbour " * 20)
    qtbot.waitUntil(lambda: tokens() > first + 100, timeout=5_000)
    page.params.max_tokens.setValue(256)
    qtbot.waitUntil(lambda: "256 output tokens max" in page.estimate_label.text(), timeout=5_000)
    assert "≤ " in page.estimate_label.text()
    page.model_picker.set_model("my-local-llama")
    qtbot.waitUntil(lambda: "price unknown" in page.estimate_label.text(), timeout=5_000)
    page.messages.editors[1].text.setPlainText("Hello {name}")
    qtbot.waitUntil(lambda: "unfilled: {name}" in page.estimate_label.text(), timeout=5_000)


def test_load_record_round_trip(qtbot, page, ctx, tmp_path):
    fill(page, "you're very direct and precise",
         "explain the solution of the following to a {audience}: {equation} {{not a variable}}")
    page.variables.set_values({"audience": "math genius", "equation": "15 * (2 - 6) / 4"})
    page.attributes.set_attributes({"experiment": "v2", "rank": 3})
    page.model_picker.set_model("gpt-4.1-mini")
    page.params.temperature.setValue(0.7)
    page.params.seed.setValue(7)
    page.params.max_tokens.setValue(200)
    page.params.stream.setChecked(False)
    run_and_wait(qtbot, page)
    original = stored_records(ctx, "pg-test")[-1]

    other = PlaygroundPage(ctx)
    qtbot.addWidget(other)
    other.set_stream("pg-test")
    other.load_record(original)
    assert [(e.role(), e.content()) for e in other.messages.editors] == [
        ("system", "you're very direct and precise"),
        ("user", "explain the solution of the following to a {audience}: {equation} {{not a variable}}"),
    ]
    assert other.variables.values() == {"audience": "math genius", "equation": "15 * (2 - 6) / 4"}
    assert other.model_picker.model() == "gpt-4.1-mini"
    assert other.params.params() == {"temperature": 0.7, "max_tokens": 200, "seed": 7}
    assert not other.params.streaming()
    assert other.attributes.attributes() == {"experiment": "v2", "rank": 3}
    assert other.output.toPlainText() == original.output
    assert other.stats_label.text() == format_call_stats(original)

    run_and_wait(qtbot, other)
    again = stored_records(ctx, "pg-test")[-1]
    assert again.id != original.id
    assert again.request == original.request
    assert again.attributes == original.attributes


def test_load_record_keeps_literal_braces_literal(qtbot, page, ctx):
    from monitor.record import Record

    record = Record(id=9, stream="elsewhere", timestamp=time.time(), latency_ms=10, ttft_ms=None,
                    api="chat.completions", model="gpt-4o", response_model=None, status="success", error=None,
                    prompt_tokens=5, completion_tokens=2, total_tokens=7, cached_tokens=0, reasoning_tokens=0,
                    usage_estimated=False, cost_usd=0.0001, streamed=False,
                    request={"model": "gpt-4o", "messages": [{"role": "user", "content": 'Fill {"a": {x}}'}]},
                    output="ok", attributes={})
    page.load_record(record)
    assert page.variables.names() == []             # {x} in a logged prompt is text, not a variable
    run_and_wait(qtbot, page)
    assert stored_records(ctx, "pg-test")[-1].request["messages"][0]["content"] == 'Fill {"a": {x}}'


@pytest.mark.parametrize("status, expected", [("401", "HTTP 401"), ("429", "HTTP 429"), ("500", "HTTP 500")])
def test_http_errors_are_shown_in_the_output_area(qtbot, page, ctx, status, expected):
    fill(page, "", "hello")
    page.extra_request_options = {"extra_headers": {"X-Sim-Status": status}}
    result = run_and_wait(qtbot, page)
    assert result["status"] == "error"
    assert page.banner_kind() == "error" and expected in page.banner.text()
    assert "Traceback" not in page.banner.text() and "sk-" not in page.banner.text()
    assert stored_records(ctx, "pg-test")[-1].status == "error"


def test_timeout_is_shown_clearly(qtbot, page, ctx):
    fill(page, "", "hello")
    page.extra_request_options = {"extra_headers": {"X-Sim-Latency-Ms": "3000"}, "timeout": 0.3}
    result = run_and_wait(qtbot, page, timeout=20_000)
    assert result["status"] == "error"
    assert "did not answer in time" in page.banner.text()


def test_connection_refused_and_missing_key_are_explained(qtbot, tmp_path, sim):
    import socket

    from monitor.profiles import Profile

    with socket.socket() as s:                     # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    context = make_context(tmp_path, sim, base_url=f"http://127.0.0.1:{dead_port}/v1")
    context.profiles.save(Profile("needs-key", base_url=sim.base_url, kind="openai"))
    try:
        page = PlaygroundPage(context)
        qtbot.addWidget(page)
        fill(page, "", "hello")
        run_and_wait(qtbot, page, timeout=30_000)
        assert page.banner_kind() == "error"
        assert "Could not connect" in page.banner.text() and str(dead_port) in page.banner.text()

        context.current_profile = "needs-key"        # an OpenAI profile whose key is not in any keyring
        run_and_wait(qtbot, page)
        assert page.banner_kind() == "error"
        assert "keyring" in page.banner.text().lower() or "API key" in page.banner.text()
        assert "Traceback" not in page.banner.text()
    finally:
        tasks.wait_for_network(15_000)
        context.shutdown()


def test_the_prompt_is_kept_across_restarts(qtbot, page, ctx):
    fill(page, "be brief", "Summarise {topic}")
    page.variables.set_value("topic", "the harbour")
    page.model_picker.set_model("gpt-4.1-nano")
    page.params.temperature.setValue(0.2)
    page.attributes.set_attributes({"user": "bob"})
    page.save_state()

    again = PlaygroundPage(ctx)
    qtbot.addWidget(again)
    assert again.messages.messages() == [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": "Summarise {topic}"}]
    assert again.variables.values() == {"topic": "the harbour"}
    assert again.model_picker.model() == "gpt-4.1-nano"
    assert again.params.params() == {"temperature": 0.2}
    assert again.attributes.attributes() == {"user": "bob"}
