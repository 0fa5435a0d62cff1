"""The writer's fast paths store exactly what the code before them stored.

Calls of every kind go through the real openai client to the simulator (plain, streamed, tools, Responses,
embeddings, completions, errors, a server echoing credentials, crafted reply texts); each captured call is
turned into a stored row by today's code (capture.finalize + store.record_row) and by a frozen copy of the
code before the fast paths (tests/legacy_writer), and the rows must be equal value for value and type for type.
"""
from __future__ import annotations

import math
import urllib.parse

import openai
import pytest
from legacy_writer import old_capture, old_pricing

from monitor import init_monitor, pricing, store, tokens
from monitor.capture import PendingCall, finalize
from monitor.simulator import Simulator, SimulatorConfig

KEY = "sk-test-0123456789abcdef"
MSG = [{"role": "user", "content": "Say something short."}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
PNG = "data:image/png;base64," + "iVBORw0KGgo" + "A" * 2000

# reply texts that touch each rule: patterns, cues without a pattern, folded cues, escapes, non-ASCII
TEXTS = [
    "plain prose, nothing to see", "ask-me anything; a task-based plan", "your key is sk-abc123456789",
    "Authorization: Bearer abcdefgh12345", "token eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
    'api_key="zz9yy8xx7"', "a_p-ikey and access-token and client_secret talk", "bearer bonds are prose",
    'quotes " and \\ backslashes \n newlines \t tabs \x07 bell', "emoji 🎉 and ünïcödé — dashes",
    "the Kelvin sign api\u212aey: abcdefgh here", "\u0130d_token: abcdefgh1 here", "x-api-key: 12345678",
    "half an emoji \ud83d here", "", "sk-", "data:image/png;base64," + "A" * 1100, "9" * 3700,
]
ODD_ATTRIBUTES = [
    {"user": "alice", "n": 1, "f": 1.5, "ok": True, "none": None, "list": [1, "two", 3.0]},
    {"api_key": "should-drop-1234", "nested": {"Authorization": "Bearer x", "keep": 1}},
    {"value": KEY, "text": f"has {KEY} inside"},
    {"nan": float("nan"), "inf": float("inf"), "big": 10 ** 3700, "huge": 10 ** 5000},
    {"deep": (lambda d: [d := {"d": d} for _ in range(60)][-1])({})},
    {"tuple": (1, 2), 3: "int key", 2.5: "float key", None: "none key", True: "bool key"},
    {"image": PNG, "embedding": [0.1] * 64},
    {"prose_with_cue": "ask-me and bearer bonds", "token_count": 3},
    {"unicode": "ünïcödé 🎉", "esc": 'q"b\\n'},
    (lambda d: (d.update(me=d), d)[1])({"circular": True}),
]


def _old_row(record) -> tuple:
    """store.record_row as it was (its JSON columns through the old storable_json)."""
    codec = [(name, old_capture.storable_json if encode is store.storable_json else encode)
             for name, encode in store._CODEC]
    d = record.__dict__
    return (0, *[encode(d[name]) if encode is not None else d[name] for name, encode in codec])


def _typed(row: tuple) -> list:
    return [(type(v).__name__, repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for v in row]


def _capture(m, calls: list) -> None:
    forward = m._submit

    def submit(call):
        calls.append(call)
        forward(call)
    m._submit = submit


def _make_calls(sim: Simulator, echo: Simulator, db_path) -> list[PendingCall]:
    calls: list[PendingCall] = []
    m = init_monitor("same/records", db_path=db_path, quiet=True)
    _capture(m, calls)
    for server in (sim, echo):
        client = m.wrap(openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0,
                                      default_headers={"X-Gateway-Token": "gw-token-abcdef123"}))
        chat = client.chat.completions
        for i, attrs in enumerate(ODD_ATTRIBUTES):
            chat.create(model="gpt-4o-mini", messages=MSG, monitor_attributes=attrs, temperature=0.1 * i)
        for text in TEXTS:
            try:
                chat.create(model="gpt-4o-mini", messages=MSG,
                            extra_headers={"X-Sim-Output": urllib.parse.quote(text.encode("utf-8", "surrogatepass"))})
            except Exception:
                pass
        for model in ("gpt-4o", "gpt-4.1-nano", "o3-mini", "ft:gpt-4o-mini-2024-07-18:org::abc", "no-such-price"):
            for tier in (None, "flex", "priority"):
                try:
                    chat.create(model=model, messages=MSG, **({"service_tier": tier} if tier else {}))
                except openai.APIError:
                    pass
        for chunk in chat.create(model="gpt-4o-mini", messages=MSG, stream=True):
            pass
        chat.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "weather in Paris?"}], tools=TOOLS)
        for chunk in chat.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}],
                                 tools=TOOLS, stream=True):
            pass
        chat.create(model="gpt-4o-mini", messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": PNG}}]}])
        chat.create(model="gpt-4o-mini", messages=MSG, extra_headers={"Authorization": "Bearer per-call-secret-99"})
        client.responses.create(model="gpt-4o-mini", input="Say hi", monitor_attributes={"session": "s1"})
        for event in client.responses.create(model="gpt-4o-mini", input="Say hi", stream=True):
            pass
        client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
        for status in ("404", "500", "429"):
            with pytest.raises(openai.APIStatusError):
                chat.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-Status": status})
        with pytest.raises(openai.APIConnectionError):
            chat.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-Break-After": "0"})
        for chunk in chat.create(model="gpt-4o-mini", messages=MSG, stream=True, extra_headers={"X-Sim-No-Usage": "1"}):
            pass
        chat.create(model="gpt-4o-mini", messages=MSG, extra_headers={"X-Sim-No-Usage": "1"})
    m.flush()
    m.close()
    return calls


def _hidden_cue_scrubbed(new: tuple, old: tuple) -> bool:
    """The one deliberate difference: a reply whose text hides a credential's cue behind an İ or a Kelvin sign
    is stored scrubbed in the reply JSON too (the old code kept it there); everything else is equal."""
    changed = [i for i, (a, b) in enumerate(zip(new, old)) if _typed((a,)) != _typed((b,))]
    return bool(changed) and all(isinstance(old[i], str) and ("\\u212a" in old[i] or "\\u0130" in old[i])
                                 and "[redacted]" in new[i] for i in changed)


def test_fast_paths_store_the_same_rows_as_before(tmp_path, sim):
    with Simulator(SimulatorConfig(echo_credentials=True)) as echo:
        calls = _make_calls(sim, echo, tmp_path / "s.db")
    assert len(calls) > 100
    differing = []
    for call in calls:
        new = store.record_row(0, finalize(call, pricing, tokens))
        old = _old_row(old_capture.finalize(call, old_pricing.module, tokens))
        if _typed(new) != _typed(old) and not _hidden_cue_scrubbed(new, old):
            differing.append((call.api, call.request.get("model"), new, old))
    assert not differing, differing[:3]
    # the set above reaches the paths it means to: scrubbed replies, omitted payloads, placeholders, prices
    rows = [store.record_row(0, finalize(call, pricing, tokens)) for call in calls]
    text = repr(rows)
    assert "[redacted]" in text and '"omitted": "image"' in text and "<int too large" in text
    assert "<circular>" in text and "<too deep>" in text
    assert KEY not in text and "per-call-secret-99" not in text and "gw-token-abcdef123" not in text
    assert sum(1 for row in rows if row[16] is not None) > 20          # cost_usd priced
