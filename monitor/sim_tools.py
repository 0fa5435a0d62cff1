"""What the simulator answers besides plain text: tool calls, refusals, reasoning summaries, built-in tools.

Deterministic rules, so that the demo looks real and tests can ask for each shape:
- **Tool calls.** A request with function tools whose conversation ends with a user turn (not a tool
  result) gets tool calls instead of text, unless `tool_choice` is "none": the tool `tool_choice` names,
  else every tool whose name appears in the last user message (several only if `parallel_tool_calls` is
  not false), else the first tool. Arguments are JSON filled from the tool's parameter schema. Once the
  conversation ends with tool results, the reply is text that uses them.
- **Refusals.** A last user message containing "[refuse]" (or the header `X-Sim-Refusal: 1`) is refused.
- **Reasoning summaries** (Responses): a reasoning model asked for `reasoning.summary` gets a reasoning
  item with a summary before its answer.
- **Built-in tools** (Responses): `web_search`, `file_search` and `code_interpreter` tools each add their
  call item before the answer.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import sim_text
from .sim_text import _fill_schema

REFUSAL = "I'm sorry, but I can't help with that request."
_BUILTIN_ITEMS = {"web_search": "web_search_call", "web_search_preview": "web_search_call",
                  "file_search": "file_search_call", "code_interpreter": "code_interpreter_call"}


def _id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


@dataclass
class ToolCall:
    name: str
    arguments: str                      # JSON text, exactly as the "model" wrote it
    call_id: str = field(default_factory=lambda: _id("call_"))
    item_id: str = field(default_factory=lambda: _id("fc_"))


@dataclass
class Plan:
    calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    summary: str | None = None          # Responses reasoning summary
    builtins: list[dict] = field(default_factory=list)   # Responses built-in tool call items

    def completion_tokens(self, model: str) -> int:
        text = "".join(c.name + c.arguments for c in self.calls) + (self.refusal or "") + (self.summary or "")
        return sim_text.count(text, model) + 3 * len(self.calls) if text else 0


def _function_tools(tools: Any) -> list[dict]:
    """Each function tool as {"name", "parameters"}, from the chat ({"function": {...}}) or Responses shape."""
    found = []
    for tool in tools or []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if isinstance(fn.get("name"), str):
            found.append({"name": fn["name"], "parameters": fn.get("parameters") or {"type": "object"}})
    return found


def _chosen(req: dict, tools: list[dict], last_user: str) -> list[dict]:
    choice = req.get("tool_choice", "auto")
    if choice == "none" or not tools:
        return []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        return [t for t in tools if t["name"] == name][:1]
    text = last_user.lower()
    named = [t for t in tools if t["name"].lower() in text or t["name"].replace("_", " ").lower() in text]
    if req.get("parallel_tool_calls") is False:
        named = named[:1]
    return named or tools[:1]


def plan(req: dict, turns: list, last_user: str, rng: random.Random, *, refuse: bool, model: str,
         reasoning_model: bool) -> Plan:
    """What to answer, given the request and its conversation (chat messages or Responses input items)."""
    result = Plan()
    if refuse or "[refuse]" in last_user.lower():
        result.refusal = REFUSAL
        return result
    last = turns[-1] if turns and isinstance(turns[-1], dict) else {}
    after_tool = last.get("role") == "tool" or last.get("type") == "function_call_output"
    if not after_tool:
        for tool in _chosen(req, _function_tools(req.get("tools")), last_user):
            args = _fill_schema(tool["parameters"], rng)
            # ids from the same rng: a seeded request gets the same call ids streamed or not
            result.calls.append(ToolCall(tool["name"], json.dumps(args if args is not None else {}),
                                         call_id=f"call_{rng.getrandbits(96):024x}", item_id=f"fc_{rng.getrandbits(96):024x}"))
    summary_wanted = (req.get("reasoning") or {}).get("summary") not in (None, "none")
    if reasoning_model and summary_wanted and not result.calls:
        result.summary = f"**Thinking it through**\n\nThe user asks: {last_user[:120]!r}. I'll answer directly."
    for tool in req.get("tools") or []:
        kind = _BUILTIN_ITEMS.get(tool.get("type")) if isinstance(tool, dict) else None
        if kind and not result.calls:
            result.builtins.append(_builtin_item(kind, last_user))
    return result


def _builtin_item(kind: str, query: str) -> dict:
    query = query[:80] or "query"
    if kind == "web_search_call":
        return {"id": _id("ws_"), "type": kind, "status": "completed", "action": {"type": "search", "query": query}}
    if kind == "file_search_call":
        return {"id": _id("fs_"), "type": kind, "status": "completed", "queries": [query], "results": None}
    return {"id": _id("ci_"), "type": kind, "status": "completed", "code": "print(6 * 7)",
            "container_id": _id("cntr_"), "outputs": None}


def tool_result_text(turns: list) -> str:
    """The text answer after tool results: it quotes what the tools returned."""
    results = [t.get("content") if t.get("role") == "tool" else t.get("output")
               for t in turns if isinstance(t, dict) and (t.get("role") == "tool" or t.get("type") == "function_call_output")]
    shown = "; ".join(str(r)[:200] for r in results[-3:])
    return f"Based on the tool results ({shown}), here is the answer."


# ---- chat completions -------------------------------------------------------------------------------

def chat_message(p: Plan, text: str | None) -> tuple[dict, str | None]:
    """(choices[i].message, finish_reason override) for a non-streamed chat answer."""
    message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    if p.refusal:
        return {**message, "content": None, "refusal": p.refusal}, "stop"
    if p.calls:
        message["content"] = None
        message["tool_calls"] = [{"id": c.call_id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in p.calls]
        return message, "tool_calls"
    return message, None


def chat_deltas(p: Plan, pieces: Callable[[str], Iterator[tuple[float, str]]]) -> Iterator[tuple[float, dict]]:
    """(delay, delta) for a streamed chat answer that is a refusal or tool calls (after the role delta)."""
    if p.refusal:
        for delay, piece in pieces(p.refusal):
            yield delay, {"refusal": piece}
        return
    for index, call in enumerate(p.calls):
        yield 0.0, {"tool_calls": [{"index": index, "id": call.call_id, "type": "function",
                                    "function": {"name": call.name, "arguments": ""}}]}
        for delay, piece in pieces(call.arguments):
            yield delay, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}


# ---- Responses --------------------------------------------------------------------------------------

def response_items(p: Plan, message_item: dict) -> list[dict]:
    """The final `output` list: reasoning summary, built-in tool calls, then function calls or the message."""
    items: list[dict] = []
    if p.summary:
        items.append(_reasoning_item(p))
    items += p.builtins
    if p.calls:
        items += [_call_item(c) for c in p.calls]
    elif p.refusal:
        items.append({**message_item, "content": [{"type": "refusal", "refusal": p.refusal}]})
    else:
        items.append(message_item)
    return items


def _reasoning_item(p: Plan) -> dict:
    if not hasattr(p, "_rs_id"):
        p._rs_id = _id("rs_")            # type: ignore[attr-defined]
    return {"id": p._rs_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": p.summary}]}


def _call_item(c: ToolCall, status: str = "completed", arguments: str | None = None) -> dict:
    return {"id": c.item_id, "type": "function_call", "status": status, "call_id": c.call_id,
            "name": c.name, "arguments": c.arguments if arguments is None else arguments}


def response_events(p: Plan, ev: Callable[..., str], pieces: Callable[[str], Iterator[tuple[float, str]]],
                    message_events: Callable[[int], Iterator[tuple[float, str]]], ttft_s: float) -> Iterator[tuple[float, str]]:
    """The streamed events for every output item; `message_events(output_index)` streams the text message."""
    index, first = 0, ttft_s
    if p.summary:
        item = _reasoning_item(p)
        where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
        yield first, ev("response.output_item.added", output_index=index, item={**item, "summary": []})
        first = 0.0
        yield 0.0, ev("response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""})
        for delay, piece in pieces(p.summary):
            yield delay, ev("response.reasoning_summary_text.delta", **where, delta=piece)
        yield 0.0, ev("response.reasoning_summary_text.done", **where, text=p.summary)
        yield 0.0, ev("response.reasoning_summary_part.done", **where, part=item["summary"][0])
        yield 0.0, ev("response.output_item.done", output_index=index, item=item)
        index += 1
    for item in p.builtins:
        kind = item["type"]
        yield first, ev("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
        first = 0.0
        for phase in ("in_progress", "searching" if kind != "code_interpreter_call" else "interpreting", "completed"):
            yield 0.0, ev(f"response.{kind}.{phase}", output_index=index, item_id=item["id"])
        yield 0.0, ev("response.output_item.done", output_index=index, item=item)
        index += 1
    if not p.calls:
        yield from ((first if i == 0 else d, e) for i, (d, e) in enumerate(message_events(index)))
        return
    for call in p.calls:
        yield first, ev("response.output_item.added", output_index=index,
                        item=_call_item(call, "in_progress", ""))
        first = 0.0
        for delay, piece in pieces(call.arguments):
            yield delay, ev("response.function_call_arguments.delta", item_id=call.item_id, output_index=index,
                            delta=piece)
        yield 0.0, ev("response.function_call_arguments.done", item_id=call.item_id, output_index=index,
                      name=call.name, arguments=call.arguments)
        yield 0.0, ev("response.output_item.done", output_index=index, item=_call_item(call))
        index += 1
