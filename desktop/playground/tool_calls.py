"""The Playground's tool-calling conversation, without widgets: the call, streamed tool-call assembly,
and turning a logged call ("Open in Playground") into chat messages the Playground can send again.

The Playground speaks Chat Completions only: a Responses-API record opens as the equivalent chat
conversation (function_call items become assistant tool calls, function_call_output items tool messages).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from monitor import capture

from .. import workers


@dataclass
class ToolCallDelta:
    """One streamed piece of a tool call (what a chunk's delta.tool_calls[i] says)."""
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class ToolCallsOutcome(workers.CallOutcome):
    """A finished call, with the tool calls the reply asked for (chat shape) and its finish reason."""
    tool_calls: list[dict] = field(default_factory=list)
    finish_reason: str | None = None


class ToolCallAssembler:
    """Tool calls built up from streamed deltas: the id and name come once, the arguments in pieces."""

    def __init__(self) -> None:
        self._calls: dict[int, dict] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._calls.setdefault(delta.index, {"id": None, "type": "function",
                                                    "function": {"name": "", "arguments": ""}})
        if delta.id:
            call["id"] = delta.id
        if delta.name:
            call["function"]["name"] += delta.name
        call["function"]["arguments"] += delta.arguments or ""

    def calls(self) -> list[dict]:
        return [self._calls[i] for i in sorted(self._calls)]

    def __bool__(self) -> bool:
        return bool(self._calls)


def pretty_arguments(arguments: str) -> str:
    """Arguments as indented JSON; as written when they are not (yet) valid JSON."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return arguments


def describe_calls(calls: list[dict]) -> str:
    """The output view's text for tool calls: each name and its pretty arguments."""
    return "\n\n".join(f"Tool call: {c['function']['name'] or '…'}\n{pretty_arguments(c['function']['arguments'])}"
                       for c in calls)


def chat_call_with_tools(get_client: Callable[[], Any], request: dict, handle: workers.CallHandle):
    """Generator (for tasks.StreamOp): yields text pieces (str) and ToolCallDelta, returns a
    ToolCallsOutcome.  The one chat call of the Playground (single and compare): every exception becomes the
    outcome's error."""
    outcome = ToolCallsOutcome("success")
    parts: list[str] = []
    assembler = ToolCallAssembler()
    client = None
    try:
        client = get_client()
        response = client.chat.completions.create(**request)
        if not request.get("stream"):
            choice = response.choices[0] if response.choices else None
            message = choice.message if choice else None
            text = (message.content if message else None) or ""
            parts.append(text)
            yield text
            for i, call in enumerate((message.tool_calls if message else None) or []):
                delta = ToolCallDelta(i, call.id, call.function.name, call.function.arguments or "")
                assembler.add(delta)
                yield delta
            outcome.finish_reason = choice.finish_reason if choice else None
        else:
            with handle.lock:
                handle.stream = response
                cancelled = handle.cancelled
            if cancelled:                         # cancelled while the request was on its way
                response.close()
            else:
                for chunk in response:
                    if handle.cancelled:
                        break
                    choice = chunk.choices[0] if chunk.choices else None
                    if choice is None:
                        continue
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        yield choice.delta.content
                    for piece in choice.delta.tool_calls or []:
                        fn = piece.function
                        delta = ToolCallDelta(piece.index, piece.id, fn.name if fn else None,
                                              (fn.arguments if fn else None) or "")
                        assembler.add(delta)
                        yield delta
                    outcome.finish_reason = choice.finish_reason or outcome.finish_reason
            if handle.cancelled:
                response.close()
                outcome.status = "cancelled"
    except Exception as exc:  # noqa: BLE001 - shown in the banner; the monitor logged it
        if handle.cancelled:
            outcome.status = "cancelled"
        else:
            outcome.status = "error"
            outcome.error = workers.describe_error(exc, getattr(client, "api_key", None))
    finally:
        handle.worker_done()             # out of the read: close what a cancel() held open (workers.CallHandle)
    outcome.output = "".join(parts)
    outcome.tool_calls = assembler.calls()
    return outcome


def assistant_message(content: str | None, calls: list[dict]) -> dict:
    """The assistant turn that asked for `calls`, as it is sent back with their results."""
    return {"role": "assistant", "content": content or None,
            "tool_calls": [{"id": c["id"], "type": "function",
                            "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}}
                           for c in calls]}


def stored_messages(messages: list[dict]) -> list[dict]:
    """The messages as the store keeps them (made storable by the capture's own `clean`: where the monitor
    omits payloads, an attached image becomes its {"omitted", …} stand-in), so the Playground finds the
    record its call produced."""
    try:
        return capture.clean(messages)
    except Exception:  # noqa: BLE001 - the look-up then says the record was not found; the call is unharmed
        return messages


# -- a logged call as a chat conversation ------------------------------------------------------------

def chat_tools(tools: Any) -> list[dict]:
    """Function tools in the chat shape ({"type": "function", "function": {...}}), from either API's shape."""
    out = []
    for tool in tools or []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue                        # built-in tools (web_search, …) have no chat equivalent
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        out.append({"type": "function", "function": {k: fn[k] for k in ("name", "description", "parameters", "strict")
                                                     if k in fn}})
    return out


def chat_tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}   # the Responses shape
    return choice


def chat_response_format(fmt: Any) -> dict | None:
    """A response format in the chat shape; Responses' text.format keeps the schema at the top level."""
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_schema" and "json_schema" not in fmt:
        return {"type": "json_schema", "json_schema": {k: v for k, v in fmt.items() if k != "type"}}
    return fmt


def chat_messages(messages: list[dict]) -> list[dict]:
    """Responses input items (messages, function_call, function_call_output) as chat messages;
    chat messages pass through."""
    out: list[dict] = []
    for item in messages:
        kind = item.get("type")
        if kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name") or "", "arguments": item.get("arguments") or ""}}
            if out and out[-1].get("role") == "assistant" and out[-1].get("tool_calls") is not None:
                out[-1]["tool_calls"].append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            out.append({"role": "tool", "tool_call_id": item.get("call_id"),
                        "content": output if isinstance(output, str) else json.dumps(output)})
        elif "role" in item:
            content = item.get("content")
            if isinstance(content, list):     # Responses' input_text / input_image parts
                content = [q for p in content if isinstance(p, dict) and (q := _chat_part(p)) is not None]
            out.append({**{k: v for k, v in item.items() if k != "type"}, "content": content})
    return out


def _chat_part(part: dict) -> dict | None:
    if part.get("type") in ("input_text", "output_text"):
        return {"type": "text", "text": part.get("text") or ""}
    if part.get("type") == "input_image":       # (an image given by file_id has no chat equivalent: dropped)
        url = part.get("image_url")
        return {"type": "image_url", "image_url": {"url": url}} if isinstance(url, (str, dict)) else None
    return part


@dataclass
class Conversation:
    """A logged call split for the Playground: the editable messages, the tool turns after them, and the
    assistant turn whose calls still wait for results (None when none)."""
    head: list[dict]
    turns: list[dict]
    pending: dict | None


def split_conversation(messages: list[dict], pending_ids: list[str]) -> Conversation:
    first_tool_turn = next((i for i, m in enumerate(messages)
                            if m.get("role") == "tool" or m.get("tool_calls")), len(messages))
    head, turns = messages[:first_tool_turn], messages[first_tool_turn:]
    pending = None
    if turns and turns[-1].get("tool_calls") and any(c.get("id") in pending_ids for c in turns[-1]["tool_calls"]):
        pending = turns.pop()
    return Conversation(head, turns, pending)
