"""A local OpenAI-compatible HTTP server: the demo's backend and the tests' "OpenAI".

Stdlib only (plus tiktoken for token counts, see sim_text.py). Endpoints: GET /v1/models[/{id}],
POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/completions, streaming included; images,
audio and moderations in sim_media.py.

Deterministic fault injection through request headers (pass them with the client's ``extra_headers=``):
  X-Sim-Status: 500          respond with that HTTP error (429 carries Retry-After)
  X-Sim-Latency-Ms: N        latency before anything is sent (overrides config.latency_ms)
  X-Sim-TTFT-Ms: N           time to first token (overrides config.ttft_ms)
  X-Sim-Tokens-Per-S: N      generation speed (overrides config.tokens_per_s)
  X-Sim-Break-After: K       stream: send K events, then drop the connection (no [DONE]);
                             non-stream: drop the connection without a response
  X-Sim-No-Usage: 1          never report usage (as many non-OpenAI servers do)
  X-Sim-Output: text         the exact reply text (URL-encoded)
  X-Sim-Refusal: 1           refuse (as "[refuse]" in the last user message does)
Tool calls, refusals, reasoning summaries and built-in tools follow the rules in sim_tools.py.

An LLM-judge prompt (monitor/experiments/scorers.py) gets a verdict, not prose: PASS/FAIL or a 1–5 score,
decided by the rule documented at sim_text.judge_reply.
  X-Sim-Delta-Shape: S       chat (and Responses' text): content in an odd shape, as some compatible
                             servers send it:
                             "number" (content 7), "parts" (a list of {"type":"text","text":…}),
                             "object-arguments" (a tool call whose arguments are a JSON object),
                             "list-index" (a tool call whose index is a list)

Servers that misbehave as a whole are SimulatorConfig flags (all off by default):
  reject_stream_options      400 to any request carrying stream_options (older Azure api-versions)
  echo_credentials           hostile: the Authorization / api-key / token header values come back in
                             the reply text, the response's model and error messages
"""
from __future__ import annotations

import array
import base64
import hashlib
import json
import math
import random
import re
import socket
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from . import sim_media, sim_text, sim_tools

__all__ = ["Simulator", "SimulatorConfig", "run_forever", "MODELS", "SNAPSHOTS"]


@dataclass
class SimulatorConfig:
    latency_ms: float = 0.0      # before the response starts (network + queueing)
    ttft_ms: float = 0.0         # time to first token
    tokens_per_s: float = 0.0    # generation speed; 0 = instantaneous
    jitter: float = 0.0          # each delay is scaled by uniform(1 - jitter, 1 + jitter)
    error_rate: float = 0.0      # fraction of API calls answered with a random 500
    rate_limit_rate: float = 0.0  # fraction answered with a 429 (with Retry-After)
    seed: int | None = None      # seeds the simulator's random choices
    retry_after_s: float = 1.0   # what a 429 asks the client to wait
    reject_stream_options: bool = False   # 400 on stream_options, as older Azure api-versions
    echo_credentials: bool = False        # a hostile server: credentials echoed in text, model, errors

    @classmethod
    def realistic(cls, seed: int | None = None) -> "SimulatorConfig":
        """Roughly what gpt-4o-mini feels like from a laptop: for the demo, not for tests."""
        return cls(latency_ms=120, ttft_ms=280, tokens_per_s=70, jitter=0.35, error_rate=0.01,
                   rate_limit_rate=0.02, seed=seed)


MODELS = (
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-3.5-turbo", "gpt-4-turbo",
    "o1", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-3.5-turbo-instruct",
    "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
)
# The dated snapshot OpenAI reports in `model` for an alias.
SNAPSHOTS = {
    "gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14", "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09", "gpt-4": "gpt-4-0613", "o1": "o1-2024-12-17",
    "o3": "o3-2025-04-16", "o3-mini": "o3-mini-2025-01-31", "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07", "gpt-5-mini": "gpt-5-mini-2025-08-07", "gpt-5-nano": "gpt-5-nano-2025-08-07",
}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
# reasoning_effort -> (min, max) reasoning tokens, in OpenAI's steps of 64
_REASONING_RANGES = {"none": (0, 0), "minimal": (0, 0), "low": (1, 3), "medium": (2, 10), "high": (8, 32)}
_CACHE_MIN, _CACHE_STEP, _CACHE_TTL = 1024, 128, 600.0  # prompt caching: like OpenAI's
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_ERROR_KINDS = {  # status -> (type, code, message)
    400: ("invalid_request_error", None, "Simulated bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (simulated)."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Simulated permission error."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (simulated)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (simulated). Please try again."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded, please try again later."),
}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _is_reasoning(model: str) -> bool:
    return model.lower().startswith(_REASONING_PREFIXES)


_KIND = object()  # "the usual code for this status"


class SimError(Exception):
    def __init__(self, status: int, message: str | None = None, *, type: str | None = None,
                 code: Any = _KIND, param: str | None = None):
        kind = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                         None, f"Simulated HTTP {status} error."))
        super().__init__(message or kind[2])
        self.status, self.message = status, message or kind[2]
        self.type, self.code, self.param = type or kind[0], kind[1] if code is _KIND else code, param


@dataclass
class _Gen:
    """What a generation produced: the texts, their finish reasons and the usage numbers."""
    texts: list[str]
    finish: list[str]
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    ttft_s: float     # wait before the first visible token
    per_token_s: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive: the openai client reuses connections
    disable_nagle_algorithm = True    # small SSE writes must leave at once
    timeout = 60                      # idle keep-alive connections release their thread eventually
    server_version = "openai-monitor-simulator"

    def log_message(self, format: str, *args: Any) -> None:  # silence per-request logging
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, socket.timeout):
            pass  # clients drop keep-alive connections whenever they like; not worth a traceback

    def setup(self) -> None:
        super().setup()
        self.server.sim._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sim._track(self.connection, False)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing --------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        sim: Simulator = self.server.sim
        sim._count()
        self._req_id = "req_" + uuid.uuid4().hex
        self._streaming = False
        self._echo = ""
        try:
            raw = self._read_body()
            self._handle(sim, method, raw)
        except SimError as e:
            extra = ()
            if e.status == 429:
                wait = max(0.0, sim.config.retry_after_s)
                extra = (("retry-after", str(math.ceil(wait))), ("retry-after-ms", str(int(wait * 1000))))
            self._send_json(e.status, {"error": {"message": e.message + self._echo, "type": e.type, "param": e.param,
                                                 "code": e.code}}, extra)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True  # the client went away; nothing to answer
        except Exception as e:  # a simulator bug: say so on stderr, answer like OpenAI's 500
            traceback.print_exc()
            if self._streaming:
                self._drop_connection()
            else:
                self._send_json(500, {"error": {"message": f"Simulator error: {e!r}", "type": "server_error",
                                                "param": None, "code": None}})

    def _read_body(self) -> bytes:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise SimError(400, "Invalid Content-Length header.")
        return self.rfile.read(n) if n > 0 else b""

    def _send_json(self, status: int, obj: Any, extra_headers: tuple = ()) -> None:
        if status == 200 and self._break_after() is not None:
            return self._drop_connection()  # X-Sim-Break-After on a non-stream call: no answer at all
        body = _dumps(obj).encode()
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", f"x-request-id: {self._req_id}"]
        head += [f"{k}: {v}" for k, v in extra_headers]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)  # one write: no Nagle stalls

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", f"Content-Type: {content_type}",
                f"Content-Length: {len(data)}", f"x-request-id: {self._req_id}"]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    def _error(self, status: int, message: str, param: str | None) -> None:
        raise SimError(status, message, param=param)

    def _drop_connection(self) -> None:
        """Close abruptly mid-response: the client sees an incomplete body and raises."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send_stream(self, events: Iterator[tuple[float, str]], break_after: int | None) -> None:
        """Chunked SSE: (delay_s, event text) pairs; consecutive undelayed events share one write."""
        self._streaming = True
        self.wfile.write((f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                          f"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
                          f"x-request-id: {self._req_id}\r\n\r\n").encode())
        pending: list[str] = []

        def flush() -> None:
            if pending:
                data = "".join(pending).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                pending.clear()

        sent = 0
        for delay, text in events:
            if break_after is not None and sent >= break_after:
                flush()
                self._drop_connection()
                return
            if delay > 0:
                flush()
                time.sleep(delay)
            pending.append(text)
            sent += 1
        data = "".join(pending).encode()  # the last events and the end of the body in one write
        self.wfile.write((b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + b"0\r\n\r\n")

    # --- routing ---------------------------------------------------------------------------------

    def _handle(self, sim: Simulator, method: str, raw: bytes) -> None:
        h = self.headers
        auth = h.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise SimError(401, "You didn't provide an API key. You need to provide your API key in an "
                                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                           code=None)
        cfg = sim.config
        if cfg.echo_credentials:
            self._echo = " " + " ".join(f"{k}: {v}" for k, v in h.items()
                                        if re.search(r"auth|api-key|token", k, re.I))
        latency = _header_float(h, "X-Sim-Latency-Ms", cfg.latency_ms)
        if latency > 0:
            time.sleep(sim._jitter(latency) / 1000)
        status = h.get("X-Sim-Status")
        if status:
            try:
                code = int(status)
            except ValueError:
                raise SimError(400, f"X-Sim-Status must be an HTTP status code, got {status!r}.")
            if code >= 400:
                raise SimError(code)

        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path == "/v1" or path.startswith("/v1/"):
            path = path[3:]
        if method == "GET" and path == "/models":
            return self._send_json(200, {"object": "list", "data": [_model_obj(m) for m in MODELS]})
        if method == "GET" and path.startswith("/models/"):
            mid = urllib.parse.unquote(path[len("/models/"):])
            if mid in MODELS or mid in SNAPSHOTS.values():
                return self._send_json(200, _model_obj(mid))
            raise SimError(404, f"The model '{mid}' does not exist", param="model", code="model_not_found")
        routes = {"/chat/completions": self._chat, "/responses": self._responses,
                  "/embeddings": self._embeddings, "/completions": self._completions}
        if method != "POST" or (path not in routes and path not in sim_media.ROUTES):
            raise SimError(404, f"Invalid URL ({method} {self.path})", code=None)

        # Random faults apply to API calls only (listing models keeps working for the demo).
        if cfg.rate_limit_rate > 0 or cfg.error_rate > 0:
            r = sim.rng.random()
            if r < cfg.rate_limit_rate:
                raise SimError(429)
            if r < cfg.rate_limit_rate + cfg.error_rate:
                raise SimError(500)
        if path in sim_media.ROUTES:              # multipart forms and binary answers: their own parsing
            return sim_media.ROUTES[path](self, sim, raw)
        try:
            req = json.loads(raw or b"null")
        except ValueError:
            req = None
        if not isinstance(req, dict):
            raise SimError(400, "We could not parse the JSON body of your request. The OpenAI API expects "
                                "a JSON payload.", code=None)
        if not isinstance(req.get("model"), str) or not req["model"]:
            raise SimError(400, "You must provide a model parameter.", param="model", code=None)
        if cfg.reject_stream_options and "stream_options" in req:
            raise SimError(400, "Unrecognized request argument supplied: stream_options", code=None)
        routes[path](sim, req)

    # --- endpoints -------------------------------------------------------------------------------

    def _chat(self, sim: Simulator, req: dict) -> None:
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            raise SimError(400, "Missing required parameter: 'messages'.", param="messages",
                           code="missing_required_parameter")
        model = req["model"]
        prompt = sim_text.chat_prompt_tokens(messages, model, req.get("tools"))
        seq = []
        for m in messages:
            if isinstance(m, dict):
                seq += sim_text.encode(f"{m.get('role')}\n{sim_text.content_text(m.get('content'))[0]}", model)
        fmt = req.get("response_format") or {}
        gen = self._generate(sim, req, model, messages, _last_user(messages), prompt, seq,
                             limit=req.get("max_completion_tokens") or req.get("max_tokens"),
                             n=_int(req.get("n"), 1), effort=req.get("reasoning_effort"),
                             json_mode=fmt.get("type") in ("json_object", "json_schema"),
                             schema=(fmt.get("json_schema") or {}).get("schema"))
        plan = self._plan(sim, req, model, messages, _last_user(messages), gen)
        usage = None if self._no_usage() else _chat_usage(gen)
        cid, created, snap = _new_id("chatcmpl-"), int(time.time()), SNAPSHOTS.get(model, model) + self._echo
        tier = req.get("service_tier") if req.get("service_tier") in ("flex", "priority") else "default"  # echoed
        shape = self.headers.get("X-Sim-Delta-Shape") or ""
        if not req.get("stream"):
            self._wait(gen, sum(sim_text.count(t, model) for t in gen.texts))
            choices = []
            for i, (t, f) in enumerate(zip(gen.texts, gen.finish)):
                message, finish = sim_tools.chat_message(plan, _odd_content(t, shape))
                choices.append({"index": i, "message": message, "logprobs": None, "finish_reason": finish or f})
            obj = {"id": cid, "object": "chat.completion", "created": created, "model": snap,
                   "choices": choices, "service_tier": tier, "system_fingerprint": "fp_sim"}
            if usage:
                obj["usage"] = usage
            return self._send_json(200, obj)

        want_usage = bool((req.get("stream_options") or {}).get("include_usage")) and usage is not None
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": snap,
                "service_tier": tier, "system_fingerprint": "fp_sim"}
        if want_usage:
            base["usage"] = None  # OpenAI marks every chunk so, then sends usage in a last extra chunk

        def chunk(i: int, delta: dict, finish: str | None = None) -> str:
            c = {**base, "choices": [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            return f"data: {_dumps(c)}\n\n"

        def events() -> Iterator[tuple[float, str]]:
            special = bool(plan.calls or plan.refusal)
            for i, (text, finish) in enumerate(zip(gen.texts, gen.finish)):
                yield (gen.ttft_s if i == 0 else 0.0), chunk(i, {"role": "assistant", "content": None if special else "",
                                                                 "refusal": None})
                if special:
                    for delay, delta in sim_tools.chat_deltas(plan, lambda t: _pieces(t, model, gen)):
                        yield delay, chunk(i, delta)
                    finish = "tool_calls" if plan.calls else "stop"
                for delay, piece in ([] if special else _pieces(text, model, gen)):
                    yield delay, chunk(i, {"content": _odd_content(piece, shape)})
                if shape in ("object-arguments", "list-index"):
                    odd = shape == "object-arguments"
                    yield 0.0, chunk(i, {"tool_calls": [{"index": 0 if odd else [0], "id": "call_sim", "type": "function",
                                                         "function": {"name": "lookup", "arguments": {"query": text[:20]}
                                                                      if odd else "{}"}}]})
                yield 0.0, chunk(i, {}, finish)
            if want_usage:
                yield 0.0, f"data: {_dumps({**base, 'choices': [], 'usage': usage})}\n\n"
            yield 0.0, "data: [DONE]\n\n"

        self._send_stream(events(), self._break_after())

    def _responses(self, sim: Simulator, req: dict) -> None:
        model, inp, instructions = req["model"], req.get("input"), req.get("instructions")
        if inp is None:
            raise SimError(400, "Missing required parameter: 'input'.", param="input",
                           code="missing_required_parameter")
        items = [{"role": "user", "content": inp}] if isinstance(inp, str) else list(inp) if isinstance(inp, list) else []
        messages = ([{"role": "developer", "content": instructions}] if isinstance(instructions, str) else [])
        messages += [i if "role" in i else {"role": "tool", "content": _dumps(i)} for i in items if isinstance(i, dict)]
        prompt = sim_text.chat_prompt_tokens(messages, model, req.get("tools"))
        seq = []
        for m in messages:
            seq += sim_text.encode(f"{m.get('role')}\n{sim_text.content_text(m.get('content'))[0]}", model)
        fmt = (req.get("text") or {}).get("format") or {}
        gen = self._generate(sim, req, model, messages, _last_user(messages), prompt, seq,
                             limit=req.get("max_output_tokens"), n=1,
                             effort=(req.get("reasoning") or {}).get("effort"),
                             json_mode=fmt.get("type") in ("json_object", "json_schema"), schema=fmt.get("schema"))
        plan = self._plan(sim, req, model, items, _last_user(messages), gen)
        text, incomplete = gen.texts[0], gen.finish[0] == "length" and not plan.calls
        usage = None if self._no_usage() else {
            "input_tokens": gen.prompt_tokens,
            "input_tokens_details": {"cached_tokens": gen.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": gen.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": gen.reasoning_tokens},
            "total_tokens": gen.prompt_tokens + gen.completion_tokens}
        rid, mid, created = _new_id("resp_"), _new_id("msg_"), time.time()
        part = {"type": "output_text", "text": _odd_content(text, self.headers.get("X-Sim-Delta-Shape") or ""),
                "annotations": [], "logprobs": []}
        item = {"id": mid, "type": "message", "status": "incomplete" if incomplete else "completed",
                "role": "assistant", "content": [part]}

        def response(status: str, output: list, usage: dict | None) -> dict:
            done = status in ("completed", "incomplete")
            return {"id": rid, "object": "response", "created_at": int(created), "status": status,
                    "completed_at": int(time.time()) if done else None, "background": False, "error": None,
                    "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
                    "instructions": instructions, "max_output_tokens": req.get("max_output_tokens"),
                    "model": SNAPSHOTS.get(model, model), "output": output, "parallel_tool_calls": True,
                    "previous_response_id": req.get("previous_response_id"),
                    "reasoning": {"effort": (req.get("reasoning") or {}).get("effort"), "summary": None},
                    "store": True, "temperature": req.get("temperature", 1.0),
                    "service_tier": req.get("service_tier") if req.get("service_tier") in ("flex", "priority") else "default",
                    "text": {"format": fmt or {"type": "text"}}, "tool_choice": req.get("tool_choice", "auto"),
                    "tools": req.get("tools") or [], "top_p": req.get("top_p", 1.0), "truncation": "disabled",
                    "usage": usage, "user": req.get("user"), "metadata": req.get("metadata") or {}}

        final = "incomplete" if incomplete else "completed"
        if not req.get("stream"):
            self._wait(gen, sim_text.count(text, model))
            return self._send_json(200, response(final, sim_tools.response_items(plan, item), usage))

        seq_no = iter(range(1_000_000))

        def ev(kind: str, **fields: Any) -> str:
            return f"event: {kind}\ndata: {_dumps({'type': kind, 'sequence_number': next(seq_no), **fields})}\n\n"

        def message_events(index: int) -> Iterator[tuple[float, str]]:
            where = {"item_id": mid, "output_index": index, "content_index": 0}
            yield gen.ttft_s, ev("response.output_item.added", output_index=index,
                                 item={**item, "status": "in_progress", "content": []})
            if plan.refusal:
                refusal = {"type": "refusal", "refusal": plan.refusal}
                yield 0.0, ev("response.content_part.added", **where, part={**refusal, "refusal": ""})
                for delay, piece in _pieces(plan.refusal, model, gen):
                    yield delay, ev("response.refusal.delta", **where, delta=piece)
                yield 0.0, ev("response.refusal.done", **where, refusal=plan.refusal)
                yield 0.0, ev("response.content_part.done", **where, part=refusal)
                yield 0.0, ev("response.output_item.done", output_index=index, item={**item, "content": [refusal]})
                return
            yield 0.0, ev("response.content_part.added", **where, part={**part, "text": ""})
            for delay, piece in _pieces(text, model, gen):
                yield delay, ev("response.output_text.delta", **where, delta=piece, logprobs=[])
            yield 0.0, ev("response.output_text.done", **where, text=text, logprobs=[])
            yield 0.0, ev("response.content_part.done", **where, part=part)
            yield 0.0, ev("response.output_item.done", output_index=index, item=item)

        def events() -> Iterator[tuple[float, str]]:
            yield 0.0, ev("response.created", response=response("in_progress", [], None))
            yield 0.0, ev("response.in_progress", response=response("in_progress", [], None))
            yield from sim_tools.response_events(plan, ev, lambda t: _pieces(t, model, gen), message_events, gen.ttft_s)
            yield 0.0, ev(f"response.{final}", response=response(final, sim_tools.response_items(plan, item), usage))

        self._send_stream(events(), self._break_after())

    def _embeddings(self, sim: Simulator, req: dict) -> None:
        model, inp = req["model"], req.get("input")
        if isinstance(inp, str) or (isinstance(inp, list) and inp and isinstance(inp[0], int)):
            inp = [inp]
        if not isinstance(inp, list) or not inp:
            raise SimError(400, "'input' must be a non-empty string or array.", param="input")
        dims = _int(req.get("dimensions"), 3072 if "large" in model else 1536)
        if dims < 1:
            raise SimError(400, "'dimensions' must be at least 1.", param="dimensions")
        as_b64 = req.get("encoding_format") == "base64"
        data, tokens = [], 0
        for i, x in enumerate(inp):
            text = x if isinstance(x, str) else _dumps(x)
            tokens += sim_text.count(text, model) if isinstance(x, str) else len(x)
            vec = _unit_vector(f"{model}\0{text}", dims)
            data.append({"object": "embedding", "index": i,
                         "embedding": base64.b64encode(vec.tobytes()).decode() if as_b64 else vec.tolist()})
        obj = {"object": "list", "data": data, "model": model}
        if not self._no_usage():
            obj["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._send_json(200, obj)

    def _completions(self, sim: Simulator, req: dict) -> None:
        model, prompts = req["model"], req.get("prompt", "")
        if isinstance(prompts, str) or (isinstance(prompts, list) and prompts and isinstance(prompts[0], int)):
            prompts = [prompts]  # one prompt (text or token ids), not a batch
        prompts = [p if isinstance(p, str) else _dumps(p) for p in prompts or [""]]
        n = _int(req.get("n"), 1)
        gens = [self._generate(sim, req, model, p, p, sim_text.count(p, model), sim_text.encode(p, model),
                               limit=req.get("max_tokens"), n=n, effort=None, json_mode=False, schema=None)
                for p in prompts]
        texts = [(t, f) for g in gens for t, f in zip(g.texts, g.finish)]
        prompt_tokens = sum(g.prompt_tokens for g in gens)
        completion_tokens = sum(g.completion_tokens for g in gens)
        usage = None if self._no_usage() else {
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}
        cid, created = _new_id("cmpl-"), int(time.time())
        base = {"id": cid, "object": "text_completion", "created": created, "model": model,
                "system_fingerprint": "fp_sim"}
        if not req.get("stream"):
            self._wait(gens[0], completion_tokens)
            obj = {**base, "choices": [{"text": t, "index": i, "logprobs": None, "finish_reason": f}
                                       for i, (t, f) in enumerate(texts)]}
            if usage:
                obj["usage"] = usage
            return self._send_json(200, obj)

        want_usage = bool((req.get("stream_options") or {}).get("include_usage")) and usage is not None

        def chunk(i: int, text: str, finish: str | None = None) -> str:
            return f"data: {_dumps({**base, 'choices': [{'text': text, 'index': i, 'logprobs': None, 'finish_reason': finish}]})}\n\n"

        def events() -> Iterator[tuple[float, str]]:
            first = True
            for i, (text, finish) in enumerate(texts):
                for delay, piece in _pieces(text, model, gens[0]):
                    yield (delay + gens[0].ttft_s if first else delay), chunk(i, piece)
                    first = False
                yield 0.0, chunk(i, "", finish)
            if want_usage:
                yield 0.0, f"data: {_dumps({**base, 'choices': [], 'usage': usage})}\n\n"
            yield 0.0, "data: [DONE]\n\n"

        self._send_stream(events(), self._break_after())

    # --- generation ------------------------------------------------------------------------------

    def _generate(self, sim: Simulator, req: dict, model: str, prompt_obj: Any, last_user: str,
                  prompt_tokens: int, seq: list[int], *, limit: Any, n: int, effort: Any,
                  json_mode: bool, schema: Any) -> _Gen:
        # A request seed makes the text a function of seed + prompt; otherwise the simulator's rng.
        rng = (random.Random(f"{req['seed']}|{_dumps(prompt_obj)}") if req.get("seed") is not None
               else sim.rng)
        forced = self.headers.get("X-Sim-Output")
        reasoning = 0
        if _is_reasoning(model):
            lo, hi = _REASONING_RANGES.get(str(effort or "medium"), _REASONING_RANGES["medium"])
            reasoning = 64 * rng.randint(lo, hi)
        limit = _int(limit, 0) or None
        if limit is not None:
            reasoning = min(reasoning, limit)  # reasoning tokens count against the limit
        texts, finish, completion = [], [], reasoning
        for _ in range(max(1, n)):
            judged = sim_text.judge_reply(prompt_obj) if forced is None else None
            if self._echo:
                text = f"You sent{self._echo}"
            elif forced is not None:
                text = urllib.parse.unquote(forced)
            elif judged is not None:               # an LLM-judge prompt: a verdict by a documented rule
                text = judged
            elif json_mode:
                text = sim_text.make_json_reply(last_user, rng, schema)
            else:
                text = sim_text.make_reply(last_user, rng)
            tokens = sim_text.count(text, model)
            if limit is not None and tokens > limit - reasoning:
                text, tokens = sim_text.truncate(text, limit - reasoning, model), limit - reasoning
                finish.append("length")
            else:
                finish.append("stop")
            texts.append(text)
            completion += tokens
        cfg, h = sim.config, self.headers
        tps = _header_float(h, "X-Sim-Tokens-Per-S", cfg.tokens_per_s)
        per_token = 1.0 / tps if tps > 0 else 0.0
        ttft = sim._jitter(_header_float(h, "X-Sim-TTFT-Ms", cfg.ttft_ms)) / 1000 + reasoning * per_token
        return _Gen(texts, finish, prompt_tokens, completion, sim._cached_tokens(model, seq), reasoning,
                    ttft, per_token)

    def _plan(self, sim: "Simulator", req: dict, model: str, turns: list, last_user: str, gen: _Gen) -> sim_tools.Plan:
        """Tool calls, refusal, summary or built-in tools for this answer; adjusts gen's texts and usage."""
        rng = (random.Random(f"{req['seed']}|tools|{_dumps(turns)}") if req.get("seed") is not None else sim.rng)
        flag = (self.headers.get("X-Sim-Refusal") or "").strip().lower() in ("1", "true", "yes")
        plan = sim_tools.plan(req, turns, last_user, rng, refuse=flag, model=model, reasoning_model=_is_reasoning(model))
        if plan.calls or plan.refusal:
            gen.completion_tokens = gen.reasoning_tokens + plan.completion_tokens(model)
        elif self.headers.get("X-Sim-Output") is None and turns and isinstance(turns[-1], dict) and (
                turns[-1].get("role") == "tool" or turns[-1].get("type") == "function_call_output"):
            gen.texts = [sim_tools.tool_result_text(turns)] * len(gen.texts)
            gen.finish = ["stop"] * len(gen.texts)
            gen.completion_tokens = gen.reasoning_tokens + sum(sim_text.count(t, model) for t in gen.texts)
        elif plan.summary:
            gen.completion_tokens += sim_text.count(plan.summary, model)
        return plan

    def _wait(self, gen: _Gen, visible_tokens: int) -> None:
        """A non-streamed answer arrives when a stream would have finished."""
        delay = gen.ttft_s + gen.per_token_s * visible_tokens
        if delay > 0:
            time.sleep(delay)

    def _no_usage(self) -> bool:
        return (self.headers.get("X-Sim-No-Usage") or "").strip().lower() in ("1", "true", "yes")

    def _break_after(self) -> int | None:
        value = self.headers.get("X-Sim-Break-After")
        return None if value is None else max(0, _int(value, 0))


def _odd_content(text: str, shape: str) -> Any:
    """X-Sim-Delta-Shape: content as a number or a list of parts instead of a string."""
    if shape == "number":
        return len(text)
    if shape == "parts":
        return [{"type": "text", "text": text}]
    return text


def _pieces(text: str, model: str, gen: _Gen) -> Iterator[tuple[float, str]]:
    """Split a reply into word-sized deltas, each delayed by its share of the generation time."""
    parts = _WORDS.findall(text)
    if not parts:
        return
    delay = gen.per_token_s * sim_text.count(text, model) / len(parts) if gen.per_token_s else 0.0
    for i, p in enumerate(parts):
        yield (delay if i else 0.0), p


_WORDS = re.compile(r"\s*\S+|\s+")


def _chat_usage(gen: _Gen) -> dict:
    return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": gen.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": gen.reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _last_user(messages: list) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return sim_text.content_text(m.get("content"))[0]
    return ""


def _model_obj(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 1_700_000_000,
            "owned_by": "system" if model_id.startswith(("gpt-3.5", "text-embedding")) else "openai"}


def _unit_vector(key: str, dims: int) -> array.array:
    """A deterministic pseudo-random unit vector (float32) derived from a hash of key."""
    raw = array.array("h", hashlib.shake_256(key.encode()).digest(2 * dims))
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return array.array("f", [v / norm for v in raw])


def _int(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _header_float(headers: Any, name: str, default: float) -> float:
    value = headers.get(name)
    if value is None:
        return float(default or 0.0)
    try:
        return max(0.0, float(value))
    except ValueError:
        raise SimError(400, f"{name} must be a number, got {value!r}.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent clients
    sim: "Simulator"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


class Simulator:
    """An OpenAI-compatible server on a daemon thread. ``with Simulator() as sim: sim.base_url``."""

    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config if config is not None else SimulatorConfig()
        self.host, self.port = host, port
        self.rng = random.Random(self.config.seed)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests = 0
        self._conns: set[socket.socket] = set()
        self._prefixes: dict[bytes, float] = {}  # prompt-prefix hash -> last seen (monotonic)

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the simulator picks its port in start(); call start() first")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def request_count(self) -> int:
        return self._requests

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "Simulator":
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.sim = self
        self._server, self.port = server, server.server_address[1]
        # Load the tiktoken encodings now rather than on the first request.
        threading.Thread(target=lambda: [sim_text.get_encoding(m) for m in ("gpt-4o", "gpt-3.5-turbo")],
                         daemon=True, name="simulator-tiktoken").start()
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"simulator-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._lock:  # idle keep-alive connections would otherwise keep being served
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- used by the handler ---------------------------------------------------------------------

    def _count(self) -> None:
        with self._lock:
            self._requests += 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def _jitter(self, ms: float) -> float:
        j = self.config.jitter
        return max(0.0, ms * self.rng.uniform(1 - j, 1 + j)) if j and ms else float(ms or 0.0)

    def _cached_tokens(self, model: str, seq: list[int]) -> int:
        """Prompt caching like OpenAI's: the longest recently seen prefix, in 128-token steps from 1024."""
        if len(seq) < _CACHE_MIN:
            return 0
        h = hashlib.blake2b(model.encode(), digest_size=16)
        keys = []
        for end in range(_CACHE_STEP, len(seq) + 1, _CACHE_STEP):
            h.update(array.array("q", seq[end - _CACHE_STEP:end]).tobytes())
            if end >= _CACHE_MIN:
                keys.append((end, h.copy().digest()))
        now, hit = time.monotonic(), 0
        with self._lock:
            for end, key in keys:
                seen = self._prefixes.get(key)
                if seen is not None and now - seen < _CACHE_TTL:
                    hit = end
                self._prefixes[key] = now
            if len(self._prefixes) > 200_000:
                self._prefixes = {k: t for k, t in self._prefixes.items() if now - t < _CACHE_TTL}
        return hit


def run_forever(port: int = 0, config: SimulatorConfig | None = None) -> None:
    """Serve until Ctrl+C (the `openai-monitor simulate` command). Prints the base URL first."""
    sim = Simulator(config, port=port).start()
    print(sim.base_url, flush=True)
    print(f"OpenAI-compatible simulator; any API key works. Try:\n"
          f"  OPENAI_BASE_URL={sim.base_url} OPENAI_API_KEY=sk-sim python your_script.py\n"
          f"Ctrl+C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
