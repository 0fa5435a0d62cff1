""""Copy as Python": a script that makes the same call again, logged through the monitor library."""
from __future__ import annotations

import pprint

from monitor.apis import adapter
from monitor.record import Record

_INTERNAL = {"stream_options"}       # added by the monitor to get usage on streams; it adds it again


def _literal(value, indent: int) -> str:
    text = pprint.pformat(value, width=100 - indent, sort_dicts=False)
    return text.replace("\n", "\n" + " " * indent)


def python_snippet(record: Record, base_url: str | None = None) -> str:
    """Never includes a key: the client reads OPENAI_API_KEY, as the SDK does."""
    api = adapter(record.api)          # each API's call and print lines live in its adapter (monitor/apis)
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
        f"response = {api.snippet_call(params)}(",
    ]
    for key, value in params.items():
        lines.append(f"    {key}={_literal(value, 4 + len(key) + 1)},")
    if record.attributes:
        lines.append(f"    monitor_attributes={_literal(record.attributes, 23)},")
    lines.append(")")
    lines.append(api.snippet_print(bool(params.get("stream")) and api.streams, tools=bool(params.get("tools"))))
    lines.append("m.flush()")
    return "\n".join(lines) + "\n"
