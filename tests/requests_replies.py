"""Real replies for the Requests-page tests: each call goes through the real openai client to the simulator,
and its record is what the monitor stores (request as sent, `response` = the reply's model_dump())."""
from __future__ import annotations

import base64
import hashlib
import struct
import zlib

try:
    from tests.app_helpers import make_record
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from app_helpers import make_record

STREAM = "team/agent/openai_logs"
T0 = 1_780_000_000.0                 # fixed timestamps: no test depends on the clock

LONG_TOOL = "lookup_customer_order_history_with_shipping_and_refund_details_for_the_support_agent"
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string",
                   "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}
ORDER_TOOL = {"type": "function", "function": {
    "name": LONG_TOOL, "parameters": {"type": "object", "properties": {
        "customer_email_address": {"type": "string"}, "include_refunded_orders_and_partial_shipments": {"type": "boolean"},
        "order_numbers": {"type": "array", "items": {"type": "string"}}}, "required": ["customer_email_address"]}}}


def _dump(reply) -> dict:
    return reply.model_dump(mode="json")


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "cost_usd": round((prompt * 0.15 + completion * 0.6) / 1e6, 9)}


def chat_record(client, i: int, *, attributes: dict | None = None, **request):
    reply = client.chat.completions.create(**request)
    choice = reply.choices[0]
    return make_record(STREAM, i, ts=T0 + i * 10, api="chat.completions", model=request["model"],
                       response_model=reply.model, **_usage(reply.usage.prompt_tokens, reply.usage.completion_tokens),
                       request=request, response=_dump(reply), response_id=reply.id,
                       finish_reason=choice.finish_reason, output=choice.message.content,
                       attributes=attributes or {}, latency_ms=400.0 + i)


def responses_record(client, i: int, *, attributes: dict | None = None, **request):
    reply = client.responses.create(**request)
    return make_record(STREAM, i, ts=T0 + i * 10, api="responses", model=request["model"], request=request,
                       response_model=reply.model, **_usage(reply.usage.input_tokens, reply.usage.output_tokens),
                       response=_dump(reply), response_id=reply.id, finish_reason=reply.status,
                       output=reply.output_text, attributes=attributes or {}, latency_ms=600.0 + i)


def tool_conversation(client, i0: int = 0, *, attributes: dict | None = None) -> list:
    """Chat: the user asks, the model calls two tools, the app sends both results, the model answers."""
    messages = [{"role": "system", "content": "You are a support agent. Use the tools."},
                {"role": "user", "content": f"Use get_weather and {LONG_TOOL} for ada@example.com please"}]
    first = chat_record(client, i0, model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL, ORDER_TOOL],
                        attributes=attributes)
    calls = first.response["choices"][0]["message"]["tool_calls"]
    assistant = {"role": "assistant", "content": None, "tool_calls": calls}
    results = [{"role": "tool", "tool_call_id": calls[0]["id"], "content": '{"temp_c": 21, "sky": "clear"}'}]
    results += [{"role": "tool", "tool_call_id": c["id"], "content": "Order #A-1001 shipped 2026-05-02; "
                 "order #A-1002 refunded in part (one item out of stock)."} for c in calls[1:]]
    second = chat_record(client, i0 + 1, model="gpt-4o-mini", messages=[*messages, assistant, *results],
                         tools=[WEATHER_TOOL, ORDER_TOOL], attributes=attributes)
    return [first, second]


def responses_tool_thread(client, i0: int = 0) -> list:
    """Responses: a function_call, then its function_call_output sent with previous_response_id."""
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}]
    first = responses_record(client, i0, model="gpt-4.1-mini", input="What's the weather in Oslo?", tools=tools)
    call = next(item for item in first.response["output"] if item["type"] == "function_call")
    second = responses_record(client, i0 + 1, model="gpt-4.1-mini", previous_response_id=first.response_id,
                              input=[{"type": "function_call_output", "call_id": call["call_id"],
                                      "output": '{"temp_c": 4, "sky": "snow"}'}], tools=tools)
    return [first, second]


def png_data_url(width: int = 24, height: int = 16) -> str:
    """A small real PNG (a red-to-blue gradient) as a data: URL."""
    rows = b"".join(b"\x00" + b"".join(bytes((255 * x // width, 80, 255 - 255 * x // width)) for x in range(width))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def omitted(data_url: str) -> dict:
    """The marker the store keeps instead of a base64 payload (GUIDE: {"omitted", "bytes", "sha256"})."""
    raw = base64.b64decode(data_url.split(",", 1)[1])
    return {"omitted": "image", "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
