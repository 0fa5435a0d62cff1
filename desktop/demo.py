"""`openai-monitor --demo`: the built-in simulator, a transient demo profile, history and gentle live traffic.

Every demo call — the live ones and the ~300 of history — goes through the real `openai` client wrapped
by the monitor library, over HTTP to the simulator.  History is made fast (the simulator is told not to
wait) in a scratch store, then its timestamps and latencies are spread over the last few hours before it
is copied into the demo stream: prompts, outputs, tokens and costs are genuine; only the timing is made up.
"""
from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from monitor.monitor import Monitor
from monitor.profiles import DEMO_KEY, Profile, ProfileStore
from monitor.record import Record
from monitor.simulator import Simulator, SimulatorConfig
from monitor.store import Store
from monitor.writer import writer_for

from .demo_prompts import (CHAT_QUESTIONS, FOLLOW_UPS, ORDER_QUESTIONS, ORDER_STATUSES, ORDER_TOOL, SEARCH_QUERIES,
                           SUMMARIZE_TEXTS, TICKETS, TRIAGE_SCHEMA, USERS)

log = logging.getLogger("openai_monitor.demo")

DEMO_PROFILE = "Demo (built-in simulator)"
DEMO_STREAM = "demo/openai_logs"
HISTORY_CALLS = 300
HISTORY_HOURS = 4.0
_NO_WAIT = {"X-Sim-Latency-Ms": "0", "X-Sim-TTFT-Ms": "0", "X-Sim-Tokens-Per-S": "0"}
# Speeds for the made-up timing of history: (time to first token ms, output tokens/s).
_SPEED = {"gpt-4o-mini": (280, 75), "gpt-4o": (420, 55), "o3-mini": (650, 90), "gpt-4.1-nano": (200, 120),
          "text-embedding-3-small": (0, 0)}


def demo_config(seed: int | None = None) -> SimulatorConfig:
    return SimulatorConfig(latency_ms=300, ttft_ms=250, tokens_per_s=60, jitter=0.4, error_rate=0.02,
                           rate_limit_rate=0.01, seed=seed)


def start_simulator() -> Simulator:
    return Simulator(demo_config()).start()


class DemoProfiles(ProfileStore):
    """The user's profiles plus the demo's, which lives only in memory: it never reaches profiles.json,
    so a stale simulator port is never left behind and the user's file is untouched."""

    def __init__(self, base_url: str, path: Path | None = None):
        super().__init__(path)
        self.demo_profile = Profile(DEMO_PROFILE, base_url=base_url, default_model="gpt-4o-mini", kind="demo")

    def list(self) -> list[Profile]:
        return [self.demo_profile] + [p for p in super().list() if p.name != DEMO_PROFILE]

    def _refuse(self, *names: str) -> None:
        if DEMO_PROFILE in names:
            raise ValueError("The demo profile is built in: it exists while the demo runs and cannot be changed.")

    def save(self, profile: Profile, api_key: str | None = None) -> None:
        self._refuse(profile.name)
        super().save(profile, api_key)

    def delete(self, name: str) -> None:
        self._refuse(name)
        super().delete(name)

    def rename(self, old: str, new: str) -> None:
        self._refuse(old, new)
        super().rename(old, new)


# -- one call, like an app's features would make it ------------------------------------------------------
def make_call(client: Any, rng: random.Random, stop: threading.Event | None = None,
              extra_headers: dict | None = None) -> None:
    """One call of a made-up product: summarize, chat, classify or search — or, now and then, a support
    agent's tool exchange (two calls) or a structured triage. Errors are logged by the monitor and
    re-raised; the caller decides what to do with them."""
    headers = dict(extra_headers or {})
    user = rng.choice(USERS)
    special = rng.random()
    if special < 0.125:
        support_agent(client, rng, user, headers)
        return
    if special < 0.175:
        triage(client, rng, user, headers)
        return
    roll = rng.random()
    if roll < 0.30:
        text = rng.choice(SUMMARIZE_TEXTS)
        client.chat.completions.create(
            model=rng.choice(["gpt-4o-mini", "gpt-4o-mini", "gpt-4.1-nano"]), max_tokens=120,
            temperature=0.3, extra_headers=headers or None,
            messages=[{"role": "system", "content": "Summarize the text in two sentences for a busy reader."},
                      {"role": "user", "content": text}],
            monitor_attributes={"feature": "summarize", "user": user})
    elif roll < 0.65:
        question = rng.choice(CHAT_QUESTIONS)
        model = rng.choice(["gpt-4o", "gpt-4o-mini", "gpt-4o-mini"])
        attrs = {"feature": "chat", "user": user}
        system = "You are Acme's friendly assistant for developers. Be concise."
        if rng.random() < 0.03:
            headers["X-Sim-Refusal"] = "1"          # a rare refusal, so the reply view shows one
        if rng.random() < 0.25:
            thread(client, rng, model, system, question, attrs, headers)
            return
        stream = client.chat.completions.create(
            model=model, stream=True, max_tokens=200, temperature=0.7, extra_headers=headers or None,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            monitor_attributes=attrs)
        with stream:
            for _chunk in stream:
                if stop is not None and stop.is_set():
                    break                           # quitting: the monitor logs the call as cancelled
    elif roll < 0.88:
        ticket, label = rng.choice(TICKETS)
        headers["X-Sim-Output"] = urllib.parse.quote(label)
        model = rng.choice(["gpt-4.1-nano", "gpt-4.1-nano", "o3-mini"])
        extra = {"reasoning_effort": "low"} if model.startswith("o") else {"temperature": 0}
        client.chat.completions.create(
            model=model, extra_headers=headers,
            messages=[{"role": "system", "content": "Classify the support ticket as billing, bug, "
                                                    "feature_request or account. Answer with the label only."},
                      {"role": "user", "content": ticket}],
            monitor_attributes={"feature": "classify", "user": user}, **extra)
    else:
        client.embeddings.create(model="text-embedding-3-small", input=rng.choice(SEARCH_QUERIES),
                                 extra_headers=headers or None, monitor_attributes={"feature": "search", "user": user})


def support_agent(client: Any, rng: random.Random, user: str, headers: dict) -> None:
    """A tool-calling exchange: the model asks for the order tool, the app runs it and sends the result."""
    attrs = {"feature": "support_agent", "user": user, "session": f"s-{rng.getrandbits(32):08x}"}
    messages: list[dict] = [{"role": "system", "content": "You are Acme's support agent. Use tools to look up orders."},
                            {"role": "user", "content": rng.choice(ORDER_QUESTIONS)}]
    first = client.chat.completions.create(model="gpt-4o-mini", tools=[ORDER_TOOL], messages=messages,
                                           extra_headers=headers or None, monitor_attributes=attrs)
    message = first.choices[0].message
    if not message.tool_calls:
        return                                       # refused or answered directly: nothing to run
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls:
        messages.append({"role": "tool", "tool_call_id": call.id, "content": rng.choice(ORDER_STATUSES)})
    client.chat.completions.create(model="gpt-4o-mini", tools=[ORDER_TOOL], messages=messages,
                                   extra_headers=headers or None, monitor_attributes=attrs)


def triage(client: Any, rng: random.Random, user: str, headers: dict) -> None:
    """A structured output: the ticket as a JSON triage record."""
    ticket, _label = rng.choice(TICKETS)
    client.chat.completions.create(
        model="gpt-4o-mini", temperature=0, extra_headers=headers or None,
        response_format={"type": "json_schema", "json_schema": TRIAGE_SCHEMA},
        messages=[{"role": "system", "content": "Triage the support ticket."}, {"role": "user", "content": ticket}],
        monitor_attributes={"feature": "triage", "user": user})


def thread(client: Any, rng: random.Random, model: str, system: str, question: str, attrs: dict,
           headers: dict) -> None:
    """A Responses chat; a third of them get a follow-up that continues it (previous_response_id)."""
    first = client.responses.create(model=model, instructions=system, input=question, max_output_tokens=200,
                                    extra_headers=headers or None, monitor_attributes=attrs)
    if rng.random() < 0.33 and not headers.get("X-Sim-Refusal"):
        client.responses.create(model=model, previous_response_id=first.id, input=rng.choice(FOLLOW_UPS),
                                max_output_tokens=200, extra_headers=headers or None, monitor_attributes=attrs)


# -- history -------------------------------------------------------------------------------------------
def _retime(records: list[Record], rng: random.Random, now: float) -> list[Record]:
    """Spread the calls over the last few hours (busier lately) with latencies a real API would show."""
    start = now - HISTORY_HOURS * 3600
    stamps = sorted(start + (now - 90 - start) * rng.random() ** 0.8 for _ in records)  # a session's follow-ups stay > 1 min old
    for record, ts in zip(records, stamps):
        ttft_base, tps = _SPEED.get(record.model or "", (300, 70))
        if record.api == "embeddings":
            latency = rng.lognormvariate(0, 0.3) * 180
            ttft = None
        else:
            ttft = rng.lognormvariate(0, 0.35) * ttft_base + (record.reasoning_tokens or 0) / tps * 1000
            visible = max(0, (record.completion_tokens or 0) - (record.reasoning_tokens or 0))
            latency = ttft + visible / (tps * rng.uniform(0.7, 1.2)) * 1000
        if record.status == "error":
            latency, ttft = rng.uniform(80, 400), None
        record.id, record.timestamp = None, ts
        record.latency_ms = round(latency, 1)
        record.ttft_ms = round(ttft, 1) if ttft is not None and record.streamed else None
    # A session's later calls follow its first within seconds, as the app's loop would send them.
    last_of: dict[str, Record] = {}
    for record in records:
        session = (record.attributes or {}).get("session")
        if session in last_of:
            before = last_of[session]
            record.timestamp = before.timestamp + (before.latency_ms or 0) / 1000 + rng.uniform(0.05, 0.4)
        if session:
            last_of[session] = record
    return sorted(records, key=lambda r: r.timestamp)


def seed_history(db_path: Path, base_url: str, n: int = HISTORY_CALLS, seed: int = 7,
                 stop: threading.Event | None = None) -> int:
    """Make n real calls against the simulator into a scratch store, retime them, copy them into the demo
    stream in one transaction (so boards see the whole history at once).  Returns how many were copied.

    A demo stream that already holds calls keeps them and gets no second history (0): the check is made in
    the copy's own transaction, so two demos started together on one store seed it once.  Once `stop` is
    set (the demo is quitting), the remaining calls are skipped and nothing is copied."""
    import openai                   # the SDK loads on the traffic thread, not before the window paints

    rng = random.Random(seed)
    scratch_dir = Path(tempfile.mkdtemp(prefix="openai-monitor-demo-"))
    scratch = scratch_dir / "history.db"
    monitor = Monitor(DEMO_STREAM, scratch)
    try:
        with openai.OpenAI(base_url=base_url, api_key=DEMO_KEY, max_retries=0) as raw:
            client = monitor.wrap(raw)
            seeds = [rng.randrange(1 << 30) for _ in range(n)]

            def one(s: int) -> None:
                if stop is not None and stop.is_set():
                    return
                try:
                    make_call(client, random.Random(s), extra_headers=_NO_WAIT)
                except openai.APIError:
                    pass                             # simulated failures belong in the history too

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, seeds))
        records = monitor.records()
    finally:
        monitor.close()
        writer_for(scratch).close()
        shutil.rmtree(scratch_dir, ignore_errors=True)
    if stop is not None and stop.is_set():
        return 0
    store = Store(db_path)
    try:
        return store.insert_records(_retime(records, rng, time.time()), only_into_empty=True)
    finally:
        store.close()


# -- live traffic ---------------------------------------------------------------------------------------
class DemoTraffic:
    """A background thread: history when the demo stream is new (a restarted demo keeps its history and
    the live calls it made), then a call every 1–3 s until stop()."""

    def __init__(self, ctx, *, history_calls: int = HISTORY_CALLS, interval_s: tuple[float, float] = (1.0, 3.0)):
        self.ctx = ctx
        self.history_calls = history_calls
        self.interval_s = interval_s
        self.paused = False
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openai-monitor-demo-traffic", daemon=True)

    def start(self) -> "DemoTraffic":
        self._thread.start()
        return self

    def stop(self, timeout: float = 4.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        import openai

        try:
            self._seed_if_empty()
        except Exception:
            log.exception("could not seed the demo history")
        rng = random.Random()
        while not self._stop.wait(rng.uniform(*self.interval_s)):
            if self.paused:
                continue
            try:
                make_call(self.ctx.client(DEMO_PROFILE, DEMO_STREAM), rng, self._stop)
            except openai.APIError:
                pass                                 # logged by the monitor, like any failed call
            except Exception:
                log.exception("demo call failed")
            self.calls += 1

    def _seed_if_empty(self) -> None:
        if self.history_calls <= 0:
            return
        store = Store(self.ctx.db_path)
        try:
            empty = store.count(DEMO_STREAM) == 0
        finally:
            store.close()
        if empty and not self._stop.is_set():       # (seed_history checks again, atomically)
            seed_history(self.ctx.db_path, self.ctx.simulator.base_url, self.history_calls, stop=self._stop)


class DemoBanner(QFrame):
    def __init__(self, traffic: DemoTraffic, parent: QWidget | None = None):
        super().__init__(parent, objectName="demoBanner")
        self.traffic = traffic
        self.label = QLabel("<b>Demo mode</b> — built-in simulator, no key needed. A made-up app sends a call every "
                            f"few seconds to <i>{DEMO_STREAM}</i>; the Playground uses the demo profile too.",
                            textFormat=Qt.RichText, wordWrap=True)     # wraps on a narrow window, never widens it
        self.pause_button = QPushButton("Pause traffic", checkable=True)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 5, 12, 5)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.pause_button)

    def _on_pause_toggled(self, paused: bool) -> None:
        self.traffic.paused = paused
        self.pause_button.setText("Resume traffic" if paused else "Pause traffic")


def start_demo(ctx, window, *, history_calls: int = HISTORY_CALLS) -> DemoTraffic:
    """Make the demo profile current (without persisting it), start traffic, show the banner."""
    ctx.set_current_profile(DEMO_PROFILE, persist=False)
    traffic = DemoTraffic(ctx, history_calls=history_calls)
    ctx.add_shutdown_hook(traffic.stop)
    window.set_banner(DemoBanner(traffic))
    return traffic.start()
