"""A call as a conversation: its messages, then the reply's structure (text, structured output, tool calls
and their results, refusals, reasoning summaries, built-in tool calls), as simple HTML for a QTextBrowser.

Pure Python: the Qt side only registers the thumbnails (`Rendered.images`, referenced as "thumb:N").
Reads chat and Responses shapes alike — the request as sent, the reply from `record.response` (the API's
non-streamed shape, GUIDE "Contracts for the next capabilities"), else the flat `record.output`.
"""
from __future__ import annotations

import base64
import binascii
import html
import json
from dataclasses import dataclass, field
from typing import Any

from monitor.capture import prompt_messages
from monitor.conversations import sent_tool_results
from monitor.record import Record

from ..style import MUTED, ROLE_COLORS, STATUS_COLORS

REFUSAL_COLOR = "#cf222e"
BOX = "#f6f8fa"
MAX_IMAGE_BYTES = 8_000_000           # a data URL larger than this is not decoded for a thumbnail
_BUILTIN_CALLS = {"web_search_call": "Web search", "file_search_call": "File search",
                  "code_interpreter_call": "Code interpreter", "image_generation_call": "Image generation",
                  "computer_call": "Computer use", "mcp_call": "MCP call", "local_shell_call": "Shell"}


@dataclass
class Rendered:
    html: str
    images: list[bytes] = field(default_factory=list)    # "thumb:N" is images[N]


class HtmlOut:
    def __init__(self, results: dict[str, Any] | None = None):
        self.parts: list[str] = []
        self.images: list[bytes] = []
        self.results = results or {}        # tool call id -> the result sent back
        self.shown_results: set[str] = set()
        self.names: dict[str, str] = {}     # tool call id -> tool name (for labelling results)

    # -- primitives ----------------------------------------------------------------------------------
    def block(self, label: str, body: str, color: str, note: str = "") -> None:
        head = html.escape(label)
        if note:
            head += f" <span style='color:{MUTED}; font-weight:normal'>{html.escape(note)}</span>"
        self.parts.append(f"<p style='margin:10px 0 2px 0; color:{color}; font-weight:600'>{head}</p>"
                          f"<div style='margin:0 0 4px 10px'>{body}</div>")

    def rendered(self) -> Rendered:
        return Rendered("".join(self.parts), self.images)


def text_html(text: str) -> str:
    if not text:
        return f"<span style='color:{MUTED}'>(empty)</span>"
    return f"<div style='white-space:pre-wrap'>{html.escape(text)}</div>"


def _box(text: str, note: str = "") -> str:
    """Monospace text in a shaded box (JSON, arguments, code); wraps, so long values never widen the pane."""
    extra = f"<div style='color:{MUTED}'>{html.escape(note)}</div>" if note else ""
    return (f"{extra}<table width='100%' cellpadding='6' cellspacing='0' style='background-color:{BOX}; "
            f"margin:2px 0 4px 0'><tr><td><div style='font-family:monospace; white-space:pre-wrap'>"
            f"{html.escape(text)}</div></td></tr></table>")


def muted(text: str) -> str:
    return f"<div style='color:{MUTED}'>{html.escape(text)}</div>"


def pretty_json(text: Any) -> tuple[str, bool]:
    """(indented JSON, True) for JSON text or a JSON value; (the text as it was, False) when it is not JSON."""
    if not isinstance(text, str):
        return json.dumps(text, indent=2, ensure_ascii=False, default=str), True
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
    except ValueError:
        return text, False


def _size(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "size unknown"
    return f"{n:,} bytes" if n < 1024 else f"{n / 1024:,.0f} KB"


def _marker(value: Any, depth: int = 0) -> dict | None:
    """The {"omitted": kind, "bytes": N, "sha256": …} that replaced a base64 payload, wherever it sits."""
    if isinstance(value, dict):
        if isinstance(value.get("omitted"), str):
            return value
        if depth < 4:
            for v in value.values():
                if (found := _marker(v, depth + 1)) is not None:
                    return found
    return None


def _data_url_bytes(url: str) -> bytes | None:
    if not url.startswith("data:") or "," not in url[:200] or len(url) > MAX_IMAGE_BYTES * 4 // 3 + 200:
        return None
    head, data = url.split(",", 1)
    if ";base64" not in head:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


# -- request side ----------------------------------------------------------------------------------------

def _part(out: HtmlOut, part: Any) -> str:
    """One content part as HTML: text, image (thumbnail / omitted / link), audio, file."""
    if isinstance(part, str):
        return text_html(part)
    if not isinstance(part, dict):
        return text_html(str(part))
    kind = str(part.get("type") or "")
    for key in ("text", "input_text", "output_text"):
        if isinstance(part.get(key), str):
            return text_html(part[key])
    if kind == "refusal" or isinstance(part.get("refusal"), str):
        return _refusal(part.get("refusal") or "")
    marker = _marker(part)
    if kind in ("image_url", "input_image") or "image" in kind:
        if marker is not None:
            return muted(f"[image omitted, {_size(marker.get('bytes'))}]")
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and (data := _data_url_bytes(url)) is not None:
            out.images.append(data)
            return (f"<div><img src='thumb:{len(out.images) - 1}'></div>"
                    f"<div style='color:{MUTED}'>image, {_size(len(data))}</div>")
        if isinstance(url, str) and url:
            return muted(f"[image: {url[:200]}]")
        return muted(f"[image: {part.get('file_id') or 'no data'}]")
    if marker is not None:
        return muted(f"[{marker.get('omitted') or kind or 'data'} omitted, {_size(marker.get('bytes'))}]")
    if kind in ("input_audio", "audio"):
        return muted(f"[audio {(part.get('input_audio') or {}).get('format', '')}]".replace(" ]", "]"))
    if kind in ("file", "input_file"):
        name = (part.get("file") or {}).get("filename") if isinstance(part.get("file"), dict) else None
        return muted(f"[file {name or part.get('filename') or part.get('file_id') or ''}]".replace(" ]", "]"))
    return muted(f"[{kind or 'part'}]")


def _content(out: HtmlOut, content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return text_html(content)
    if isinstance(content, list):
        return "".join(_part(out, p) for p in content)
    return _box(pretty_json(content)[0])


def _refusal(text: str) -> str:
    return (f"<div style='color:{REFUSAL_COLOR}; font-weight:600'>✗ Refused</div>"
            f"<div style='white-space:pre-wrap; color:{REFUSAL_COLOR}'>{html.escape(text)}</div>")


def _tool_call(out: HtmlOut, name: str, arguments: Any, call_id: str | None, *, with_result: bool) -> str:
    if call_id:
        out.names[call_id] = name
    args, valid = pretty_json(arguments) if arguments not in (None, "") else ("(no arguments)", True)
    body = (f"<div style='font-family:monospace; font-weight:600'>→ {html.escape(name)}"
            f"<span style='color:{MUTED}; font-weight:normal'>  {html.escape(call_id or '')}</span></div>"
            + _box(args, "" if valid else "arguments are not valid JSON; shown as sent"))
    if with_result and call_id:
        if call_id in out.results:
            out.shown_results.add(call_id)
            result = _result_text(out.results[call_id])
            body += (f"<div style='color:{ROLE_COLORS['tool']}; font-weight:600'>↳ Result</div>" + _box(result))
        else:
            body += muted("↳ no result for this call in the conversation")
    return body


def _result_text(output: Any) -> str:
    """A tool result as sent; long JSON indented (short JSON reads fine on one line)."""
    if isinstance(output, (dict, list)):
        return pretty_json(output)[0]
    text = "" if output is None else str(output)
    return pretty_json(text)[0] if len(text) > 100 and text[:1] in "{[" else text


def _tool_result_body(out: HtmlOut, call_id: str, output: Any) -> tuple[str, str]:
    text = _result_text(output)
    name = out.names.get(call_id, "")
    return (_box(text) if text else text_html("")), " · ".join(x for x in (name, call_id) if x)


def _chat_message(out: HtmlOut, message: dict, *, reply: bool, structured: bool) -> tuple[str, str]:
    body = ""
    content = message.get("content")
    if reply and structured and isinstance(content, str) and content:
        text, valid = pretty_json(content)
        body += _box(text, "structured output" if valid else "structured output requested, but this is not valid JSON")
    else:
        body += _content(out, content)
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        body += _refusal(message["refusal"])
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        fn = call.get("function") if isinstance(call.get("function"), dict) else call.get("custom") or {}
        arguments = fn.get("arguments", fn.get("input"))
        body += _tool_call(out, str(fn.get("name") or "?"), arguments, call.get("id"), with_result=reply)
    if isinstance(message.get("function_call"), dict):          # the legacy functions API
        fn = message["function_call"]
        body += _tool_call(out, str(fn.get("name") or "?"), fn.get("arguments"), None, with_result=False)
    if isinstance(message.get("audio"), dict) and message["audio"].get("transcript"):
        body += muted("audio transcript:") + text_html(message["audio"]["transcript"])
    return body, ""


def _item(out: HtmlOut, item: dict, *, reply: bool, structured: bool) -> tuple[str, str, str] | None:
    """A Responses input/output item as (label, body, color); None for a message (handled by the caller)."""
    kind = item.get("type")
    if kind == "function_call" or kind == "custom_tool_call":
        return ("Tool call", _tool_call(out, str(item.get("name") or "?"), item.get("arguments", item.get("input")),
                                        item.get("call_id"), with_result=reply), ROLE_COLORS["assistant"])
    if kind in ("function_call_output", "custom_tool_call_output"):
        body, note = _tool_result_body(out, str(item.get("call_id") or ""), item.get("output"))
        return (f"Tool result · {note}" if note else "Tool result", body, ROLE_COLORS["tool"])
    if kind == "reasoning":
        texts = [s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)]
        body = text_html("\n\n".join(t for t in texts if t)) if any(texts) else muted("(no summary)")
        return ("Reasoning summary", f"<div style='color:{MUTED}'>{body}</div>", "#6e7781")
    return None


def _builtin(item: dict) -> str | None:
    """A built-in tool call (web/file search, code interpreter, …) as one line; None for other items."""
    kind = item.get("type")
    if kind in _BUILTIN_CALLS:
        name, line = _BUILTIN_CALLS[kind], _builtin_line(item)
    elif isinstance(kind, str) and kind.endswith("_call") and kind not in ("function_call", "custom_tool_call"):
        name, line = kind.replace("_", " ").capitalize(), str(item.get("status") or "")
    else:
        return None
    return (f"<p style='margin:8px 0 2px 0'><span style='color:#0550ae; font-weight:600'>{html.escape(name)}:</span> "
            f"<span style='color:{MUTED}'>{html.escape(line)}</span></p>")


def _builtin_line(item: dict) -> str:
    kind, status = item.get("type"), item.get("status") or ""
    if kind == "web_search_call":
        action = item.get("action") or {}
        what = action.get("query") or ", ".join(action.get("queries") or []) or action.get("url") or ""
        return f"{what!s} · {status}" if what else status
    if kind == "file_search_call":
        return f"{', '.join(map(str, item.get('queries') or []))} · {status}"
    if kind == "code_interpreter_call":
        code = (item.get("code") or "").strip().splitlines()
        first = code[0] + (f"  … {len(code) - 1} more lines" if len(code) > 1 else "") if code else ""
        return f"{first} · {status}"
    return str(status)


def _structured(record: Record) -> bool:
    request = record.request or {}
    fmt_ = request.get("response_format") if record.api == "chat.completions" else (request.get("text") or {}).get("format")
    return isinstance(fmt_, dict) and fmt_.get("type") in ("json_schema", "json_object")


def render_request(out: HtmlOut, record: Record, *, skip_messages: int = 0, skip_results: set[str] | None = None,
             previous: Record | None = None) -> None:
    request = record.request or {}
    skip_results = skip_results or set()
    repeated = previous is not None and (previous.request or {}).get("instructions") == request.get("instructions")
    if record.api == "responses":
        if isinstance(request.get("instructions"), str) and not repeated:
            out.block("Instructions", text_html(request["instructions"]), ROLE_COLORS["system"])
        items = request.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
        _items(out, items, reply=False, structured=False, skip_results=skip_results)
        return
    if record.api in ("completions", "embeddings"):
        value = request.get("prompt" if record.api == "completions" else "input")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)[:20_000]
        out.block("Prompt" if record.api == "completions" else "Input", text_html(text or ""), ROLE_COLORS["user"])
        return
    for message in (request.get("messages") or [])[skip_messages:]:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role") or "input")
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            if call_id in skip_results:
                continue
            body, note = _tool_result_body(out, call_id, message.get("content"))
            out.block(f"Tool result · {note}" if note else "Tool result", body, ROLE_COLORS["tool"])
            continue
        body, _ = _chat_message(out, message, reply=False, structured=False)
        out.block(role.capitalize(), body, ROLE_COLORS.get(role, MUTED))


def _items(out: HtmlOut, items: list, *, reply: bool, structured: bool, skip_results: set[str] = frozenset(),
           note: str = "") -> None:
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") in ("function_call_output", "custom_tool_call_output") and item.get("call_id") in skip_results:
            continue
        if (line := _builtin(item)) is not None:
            out.parts.append(line)
            continue
        shown = _item(out, item, reply=reply, structured=structured)
        if shown is not None:
            out.block(shown[0], shown[1], shown[2], note if reply else "")
            continue
        if "role" not in item and item.get("type") not in (None, "message"):     # item_reference and the like
            out.parts.append(muted(f"[{item.get('type')} {item.get('id') or ''}]".replace(" ]", "]")))
            continue
        role = str(item.get("role") or "assistant")
        content = item.get("content")
        if reply and structured and isinstance(content, list):
            texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "output_text"]
            if texts:
                body = _chat_message(out, {"content": "".join(texts)}, reply=True, structured=True)[0]
                body += "".join(_part(out, p) for p in content
                                if isinstance(p, dict) and p.get("type") != "output_text")
                out.block("Reply", body, ROLE_COLORS["assistant"], note)
                continue
        label = "Reply" if reply else role.capitalize()
        out.block(label, _content(out, content), ROLE_COLORS.get(role, MUTED), note if reply else "")


# -- reply side ------------------------------------------------------------------------------------------

def _finish_note(record: Record) -> str:
    reason = record.finish_reason
    return "" if reason in (None, "stop", "completed", "tool_calls", "end_turn") else f"finish_reason: {reason}"


def render_reply(out: HtmlOut, record: Record) -> None:
    response = record.response if isinstance(record.response, dict) else None
    note = "(partial: the caller stopped the stream)" if record.status == "cancelled" else _finish_note(record)
    if record.api == "embeddings":
        out.block("Output", muted("embedding vectors are not stored"), MUTED)
        return
    if response is None and record.output is None and not prompt_messages(record.api, record.request or {}):
        # a numbers-only board file: no prompt and no output were exported, which is not an empty reply
        out.block("Content", muted("not included in this file (a board file exported without prompts and "
                                   "outputs)"), MUTED)
        return
    if response is None or record.api not in ("chat.completions", "responses", "completions"):
        if record.status != "error" or record.output:
            out.block("Output", text_html(record.output or ""), ROLE_COLORS["assistant"], note)
        return
    structured = _structured(record)
    if record.api == "responses":
        _items(out, response.get("output") or [], reply=True, structured=structured, note=note)
        return
    choices = [c for c in response.get("choices") or [] if isinstance(c, dict)]
    for i, choice in enumerate(choices):
        label = "Reply" if len(choices) == 1 else f"Reply · choice {choice.get('index', i)}"
        if record.api == "completions":
            out.block(label, text_html(choice.get("text") or ""), ROLE_COLORS["assistant"], note)
            continue
        body, _ = _chat_message(out, choice.get("message") or {}, reply=True, structured=structured)
        out.block(label, body or text_html(""), ROLE_COLORS["assistant"], note)


def _tool_names(records: list[Record]) -> dict[str, str]:
    """Tool call id -> tool name, from the replies of these calls (to label results sent in a later call)."""
    names = {}
    for r in records:
        response = r.response if isinstance(r.response, dict) else {}
        for choice in response.get("choices") or []:
            for call in ((choice or {}).get("message") or {}).get("tool_calls") or []:
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    names[str(call.get("id"))] = str(call["function"].get("name"))
        for item in response.get("output") or []:
            if isinstance(item, dict) and item.get("type") == "function_call":
                names[str(item.get("call_id"))] = str(item.get("name"))
    return names


def record_html(record: Record, results: dict[str, Any] | None = None,
                thread: list[Record] | None = None) -> Rendered:
    """One call: error, messages, reply. `results`: tool results sent later in its conversation, by call id;
    `thread`: its conversation (names the tools whose results this call sends)."""
    out = HtmlOut({**dict(sent_tool_results(record.request)), **(results or {})})
    out.names.update(_tool_names(thread or []))
    if record.error:
        out.block("Error", text_html(record.error), STATUS_COLORS["error"])
    render_request(out, record)
    render_reply(out, record)
    return out.rendered()
