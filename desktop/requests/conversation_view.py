"""A conversation as one thread: each call's new messages and its reply, the tool results under the calls
they answer, and the thread's totals.  Pure Python, rendered on the DB lane (see page.py)."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from monitor.conversations import sent_tool_results, summarize, tool_results
from monitor.record import Record

from .. import formatting as fmt
from ..style import MUTED, STATUS_COLORS
from .reply_view import HtmlOut, Rendered, muted, record_html, render_reply, render_request, text_html

MAX_SHOWN = 100                       # calls of a conversation rendered at once


def _repeated_prefix(previous: Record | None, record: Record) -> int:
    """Chat resends the whole history: how many of this call's messages the previous call already showed
    (its messages plus its reply)."""
    if previous is None or record.api != "chat.completions" or previous.api != "chat.completions":
        return 0
    before = (previous.request or {}).get("messages") or []
    now = (record.request or {}).get("messages") or []
    if not before or now[:len(before)] != before:
        return 0
    n = len(before)
    return n + 1 if len(now) > n and isinstance(now[n], dict) and now[n].get("role") == "assistant" else n


def summary_line(records: list[Record]) -> str:
    s = summarize(records)
    if s is None:
        return ""
    cost = fmt.cost(s.cost_usd, s.estimated) + (f" ({s.unpriced} unpriced)" if s.unpriced and s.cost_usd is not None else "")
    return (f"{s.calls} calls · {fmt.tokens(s.total_tokens, s.estimated)} tokens · {cost} · "
            f"{fmt.ms(s.latency_ms)} in calls · over {fmt.ms(s.span_s * 1000)}")


def thread_html(records: list[Record], current_id: int | None = None) -> Rendered:
    """A conversation: each call's new messages and its reply, tool results under the calls they answer.
    A long one shows the MAX_SHOWN calls around the selected one (its totals count them all)."""
    results: dict[str, Any] = {}
    for r in records:
        results.update(sent_tool_results(r.request))
    out = HtmlOut(results)
    out.parts.append(f"<p style='margin:4px 0 6px 0; font-weight:600'>Conversation: {html.escape(summary_line(records))}</p>")
    at = next((i for i, r in enumerate(records) if r.id == current_id), 0)
    first = max(0, min(at - MAX_SHOWN // 2, len(records) - MAX_SHOWN))
    shown = records[first:first + MAX_SHOWN]
    if first:
        out.parts.append(muted(f"{first} earlier calls not shown"))
    previous = records[first - 1] if first else None
    for r in shown:
        mark = "  ◀ selected" if r.id == current_id else ""
        facts = [f"#{r.id}", fmt.full_time(r.timestamp), r.model or fmt.UNKNOWN,
                 f"{fmt.tokens(r.total_tokens, r.usage_estimated)} tok", fmt.cost(r.cost_usd, r.usage_estimated),
                 fmt.ms(r.latency_ms)]
        if r.status != "success":
            facts.append(r.status)
        out.parts.append(f"<hr><p style='margin:6px 0 0 0; color:{MUTED}; font-weight:600'>"
                         f"{html.escape(' · '.join(facts) + mark)}</p>")
        if r.error:
            out.block("Error", text_html(r.error), STATUS_COLORS["error"])
        render_request(out, r, skip_messages=_repeated_prefix(previous, r), skip_results=set(out.shown_results),
                 previous=previous)
        render_reply(out, r)
        previous = r
    if (later := len(records) - first - len(shown)) > 0:
        out.parts.append("<hr>" + muted(f"{later} later calls not shown"))
    return out.rendered()


@dataclass
class ThreadView:
    """A call's conversation, rendered off the GUI thread (reply_view is pure Python)."""
    records: list[Record]
    record: Rendered          # the call itself, with the tool results that came later
    conversation: Rendered | None   # None for a thread of one call


def thread_view(records: list[Record], record: Record) -> ThreadView:
    linked = len(records) > 1
    return ThreadView(records, record_html(record, tool_results(records), records),
                      thread_html(records, record.id) if linked else None)
