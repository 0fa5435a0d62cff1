""""Copy as Python": a script that makes the same call again, logged through the monitor library."""
from __future__ import annotations

import pprint

from monitor.record import Record

_METHODS = {"chat.completions": "chat.completions", "responses": "responses", "embeddings": "embeddings",
            "completions": "completions"}
_PRINT = {
    "chat.completions": "print(response.choices[0].message.content)",
    "responses": "print(response.output_text)",
    "embeddings": "print(len(response.data[0].embedding), 'dimensions')",
    "completions": "print(response.choices[0].text)",
}
_PRINT_STREAM = {
    "chat.completions": ("for chunk in response:\n"
                         "    if chunk.choices and chunk.choices[0].delta.content:\n"
                         "        print(chunk.choices[0].delta.content, end='', flush=True)\nprint()"),
    "responses": ("for event in response:\n"
                  "    if event.type == 'response.output_text.delta':\n"
                  "        print(event.delta, end='', flush=True)\nprint()"),
    "completions": "for chunk in response:\n    print(chunk.choices[0].text, end='', flush=True)\nprint()",
}
_PRINT_TOOLS = {    # a call with tools may answer with tool calls instead of text
    "chat.completions": ("message = response.choices[0].message\n"
                         "print(message.content if message.tool_calls is None else message.tool_calls)"),
    "responses": "print(response.output_text or [item for item in response.output if item.type == 'function_call'])",
}
_INTERNAL = {"stream_options"}       # added by the monitor to get usage on streams; it adds it again


def _literal(value, indent: int) -> str:
    text = pprint.pformat(value, width=100 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def python_snippet(record: Record, base_url: str | None = None) -> str:
    """Never includes a key: the client reads OPENAI_API_KEY, as the SDK does."""
    method = _METHODS.get(record.api, "chat.completions")
    params = {k: v for k, v in (record.request or {}).items() if k not in _INTERNAL}
    if record.model and "model" not in params:
        params["model"] = record.model
    client_args = f"base_url={base_url!r}" if base_url else ""
    lines = [
        "import openai",
        "from monitor import init_monitor",
        "",
        f"m = init_monitor({record.stream!r})",
        f"client = m.wrap(openai.OpenAI({client_args}))   # the key comes from OPENAI_API_KEY",
        "",
        f"response = client.{method}.create(",
    ]
    for key, value in params.items():
        lines.append(f"    {key}={_literal(value, 4 + len(key) + 1)},")
    if record.attributes:
        lines.append(f"    monitor_attributes={_literal(record.attributes, 23)},")
    lines.append(")")
    streamed = bool(params.get("stream")) and record.api in _PRINT_STREAM
    if streamed:
        lines.append(_PRINT_STREAM[record.api])
    elif params.get("tools") and record.api in _PRINT_TOOLS:
        lines.append(_PRINT_TOOLS[record.api])
    else:
        lines.append(_PRINT.get(record.api, "print(response)"))
    lines.append("m.flush()")
    return "\n".join(lines) + "\n"
