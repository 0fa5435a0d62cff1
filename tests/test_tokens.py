"""Token counting: exact with the shared offline tiktoken cache, a marked estimate without it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitor import tokens
from monitor.tokens import (TokenCount, count_chat_prompt, count_completion, count_text, encoding_name_for,
                            tiktoken_available)

ROOT = Path(__file__).resolve().parents[1]
TIKTOKEN_CACHE = Path(__file__).resolve().parents[2] / "shared" / "tiktoken-cache"

needs_cache = pytest.mark.skipif(not TIKTOKEN_CACHE.is_dir(), reason="shared/tiktoken-cache not present")


@pytest.fixture(autouse=True)
def offline_cache(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_CACHE))
    monkeypatch.delenv("OPENAI_MONITOR_TIKTOKEN_DOWNLOAD", raising=False)


@pytest.fixture
def fresh_state(monkeypatch):
    # Loader state is per process; give a test its own so it neither sees nor leaves cached encodings.
    monkeypatch.setattr(tokens, "_encodings", {})
    monkeypatch.setattr(tokens, "_failed_at", {})


def _enc(name):
    import tiktoken
    return tiktoken.get_encoding(name)


def n(name: str, text: str) -> int:
    return len(_enc(name).encode(text))


# ---- which encoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("model,expected", [
    ("gpt-4o", "o200k_base"), ("gpt-4o-mini-2024-07-18", "o200k_base"), ("gpt-4.1-nano", "o200k_base"),
    ("o1", "o200k_base"), ("o3-mini", "o200k_base"), ("o4-mini", "o200k_base"), ("gpt-5", "o200k_base"),
    ("ft:gpt-4o-mini-2024-07-18:org::id", "o200k_base"), ("my-local-model", "o200k_base"), (None, "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-4-0613", "cl100k_base"), ("gpt-4-turbo", "cl100k_base"),
    ("gpt-4-32k", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"), ("gpt-3.5-turbo-instruct", "cl100k_base"),
    ("GPT-3.5-Turbo-0125", "cl100k_base"), ("text-embedding-3-small", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"), ("ft:gpt-3.5-turbo-0125:org::id", "cl100k_base"),
])
def test_encoding_name_for(model, expected):
    assert encoding_name_for(model) == expected


# ---- exact counts with the cache ------------------------------------------------------------------

@needs_cache
def test_hello_world_exact():
    assert tiktoken_available("gpt-4o") and tiktoken_available("gpt-4")
    assert count_text("gpt-4o", "hello world") == TokenCount(2, exact=True)
    assert _enc("o200k_base").encode("hello world") == [24912, 2375]
    assert count_text("gpt-4", "hello world") == TokenCount(2, exact=True)
    text = "Tokenization differs between encodings: ünïcödé, 1234567, and code()."
    assert count_text("gpt-4o", text).tokens == n("o200k_base", text)
    assert count_text("gpt-3.5-turbo", text).tokens == n("cl100k_base", text)


@needs_cache
def test_completion_and_special_text():
    assert count_completion("gpt-4o", "The capital of France is Paris.") == TokenCount(
        n("o200k_base", "The capital of France is Paris."), True)
    # special-token text in user data is counted as text, not an error
    c = count_text("gpt-4o", "a <|endoftext|> b")
    assert c.exact and c.tokens == len(_enc("o200k_base").encode("a <|endoftext|> b", disallowed_special=()))
    assert count_text("gpt-4o", "") == TokenCount(0, exact=True)


MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@needs_cache
def test_chat_prompt_cookbook_formula():
    # o200k_base: system=1, "You are a helpful assistant."=6, user=1, "What is the capital of France?"=7
    # (3 + 1 + 6) + (3 + 1 + 7) + 3 reply priming = 24
    assert [n("o200k_base", s) for s in ("system", "You are a helpful assistant.", "user",
                                         "What is the capital of France?")] == [1, 6, 1, 7]
    assert count_chat_prompt("gpt-4o", MESSAGES) == TokenCount(24, exact=True)
    # cl100k_base gives the same lengths for these strings; the formula is the same
    assert count_chat_prompt("gpt-4", MESSAGES).tokens == 3 + sum(
        3 + n("cl100k_base", m["role"]) + n("cl100k_base", m["content"]) for m in MESSAGES)
    assert count_chat_prompt("gpt-4o", []) == TokenCount(3, exact=True)


@needs_cache
def test_name_field_adds_one():
    named = [MESSAGES[0], {**MESSAGES[1], "name": "alice"}]
    assert n("o200k_base", "alice") == 1
    assert count_chat_prompt("gpt-4o", named) == TokenCount(24 + 1 + 1, exact=True)


@needs_cache
def test_list_content_parts():
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is the capital"},
                                          {"type": "text", "text": " of France?"}]}]
    expected = 3 + (3 + n("o200k_base", "user") + n("o200k_base", "What is the capital")
                    + n("o200k_base", " of France?"))
    assert count_chat_prompt("gpt-4o", parts) == TokenCount(expected, exact=True)


@needs_cache
def test_images_make_an_estimate():
    msgs = [{"role": "user", "content": [
        {"type": "text", "text": "Describe this picture."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]}]
    c = count_chat_prompt("gpt-4o", msgs)
    assert c == TokenCount(3 + 3 + 1 + n("o200k_base", "Describe this picture.") + 85, exact=False)


@needs_cache
def test_tools_make_an_estimate():
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    c = count_chat_prompt("gpt-4o", MESSAGES, tools=tools)
    assert not c.exact and c.tokens > 24
    legacy = count_chat_prompt("gpt-4o", MESSAGES, functions=[{"name": "f", "parameters": {}}])
    assert not legacy.exact and legacy.tokens > 24
    calls = [*MESSAGES, {"role": "assistant", "content": None,
                         "tool_calls": [{"id": "c1", "type": "function",
                                         "function": {"name": "f", "arguments": "{}"}}]}]
    assert not count_chat_prompt("gpt-4o", calls).exact


# ---- without tiktoken files -----------------------------------------------------------------------

# "Quick" offline means: nothing is fetched and no connection is tried (a fetch is what hangs offline).
# The script records any attempt instead of timing the run, which a loaded machine would make flaky.
_FALLBACK_SCRIPT = """
import dataclasses, json, socket
import tiktoken.load
attempts = []

def no_fetch(blobpath):
    attempts.append(f"fetch {blobpath}")
    raise OSError("offline (test)")

def no_connect(self, address):
    attempts.append(f"connect {address}")
    raise OSError("offline (test)")

tiktoken.load.read_file = no_fetch        # tiktoken's only way to the network (read_file_cached calls it)
socket.socket.connect = no_connect
from monitor.tokens import count_text, count_chat_prompt, tiktoken_available
r = {
    "text": dataclasses.astuple(count_text("gpt-4o", "hello world, this is forty characters!!!")),
    "chat": dataclasses.astuple(count_chat_prompt("gpt-4o", [{"role": "user", "content": "hello world"}])),
    "available": tiktoken_available("gpt-4o"),
    "again": dataclasses.astuple(count_text("gpt-4", "abcdefgh")),
    "attempts": attempts,
}
print(json.dumps(r))
"""


def _run_fallback(env_changes: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR",
                                                            "OPENAI_MONITOR_TIKTOKEN_DOWNLOAD")}
    env.update(env_changes)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _FALLBACK_SCRIPT], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if env.get("OPENAI_MONITOR_TIKTOKEN_DOWNLOAD") != "1":
        assert r["attempts"] == [], "the offline fallback tried the network"
    return r


def test_fallback_with_an_empty_cache_is_quick_and_marked(tmp_path):
    r = _run_fallback({"TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert len("hello world, this is forty characters!!!") == 40
    assert r["text"] == [10, False]                 # 40 chars / 4
    assert r["chat"] == [3 + 3 + 1 + 3, False]      # "user" -> 1, "hello world" (11 chars) -> 3
    assert r["available"] is False
    assert r["again"] == [2, False]
    assert list(tmp_path.iterdir()) == []           # no download was attempted into the cache


def test_the_offline_check_sees_a_fetch(tmp_path):
    """The attempt recorder above works: with downloads allowed, the fetch is tried (and fails to an estimate)."""
    r = _run_fallback({"TIKTOKEN_CACHE_DIR": str(tmp_path), "OPENAI_MONITOR_TIKTOKEN_DOWNLOAD": "1"})
    assert any(a.startswith("fetch https://") for a in r["attempts"]), r["attempts"]
    assert r["text"] == [10, False]


def test_fallback_with_caching_disabled(tmp_path):
    # TIKTOKEN_CACHE_DIR="" makes tiktoken download every time: treat as unavailable.
    r = _run_fallback({"TIKTOKEN_CACHE_DIR": ""})
    assert r["text"] == [10, False] and r["available"] is False


def test_fallback_with_a_corrupt_cache_file(tmp_path):
    # A bad hash would make tiktoken delete the file and download again; we must not let it.
    bad = tmp_path / "fb374d419588a4632f3f557e76b4b70aebbca790"
    bad.write_bytes(b"not a bpe file")
    r = _run_fallback({"TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert r["text"] == [10, False]
    assert bad.read_bytes() == b"not a bpe file"


def test_fallback_rounds_and_never_says_zero_for_text(fresh_state, tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert count_text("gpt-4o", "a") == TokenCount(1, exact=False)
    assert count_text("gpt-4o", "x" * 10) == TokenCount(round(10 / 4), exact=False)
    assert count_completion("gpt-4o", "y" * 4000) == TokenCount(1000, exact=False)


def test_failures_are_retried_at_most_once_a_minute(fresh_state, tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    checks = []
    real = tokens._cached_file_ok
    monkeypatch.setattr(tokens, "_cached_file_ok", lambda name: checks.append(name) or real(name))
    for _ in range(5):
        assert not count_text("gpt-4o", "hello").exact
    assert checks == ["o200k_base"]
    # a minute later it tries again, and picks up files that have appeared meanwhile
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_CACHE))
    tokens._failed_at["o200k_base"] -= tokens.RETRY_SECONDS + 1
    if TIKTOKEN_CACHE.is_dir():
        assert count_text("gpt-4o", "hello world") == TokenCount(2, exact=True)
        assert checks == ["o200k_base", "o200k_base"]


def test_opt_in_download_is_time_limited(fresh_state, tmp_path, monkeypatch):
    # With downloads allowed, a hung fetch must not hang the caller.
    import tiktoken

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_MONITOR_TIKTOKEN_DOWNLOAD", "1")
    monkeypatch.setattr(tokens, "DOWNLOAD_TIMEOUT_SECONDS", 0.2)
    release, loader_returned = threading.Event(), threading.Event()

    def hung_fetch(name):                  # hangs until the test lets it go (30 s at most)
        release.wait(30)
        loader_returned.set()

    monkeypatch.setattr(tiktoken, "get_encoding", hung_fetch)
    try:
        assert count_text("gpt-4o", "hello world") == TokenCount(3, exact=False)
        assert not loader_returned.is_set()         # the count did not wait for the fetch
    finally:
        release.set()


def test_any_loader_exception_means_estimate(fresh_state, tmp_path, monkeypatch):
    import tiktoken

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OPENAI_MONITOR_TIKTOKEN_DOWNLOAD", "1")

    def boom(name):
        raise OSError("network unreachable")

    monkeypatch.setattr(tiktoken, "get_encoding", boom)
    assert count_chat_prompt("gpt-4o", MESSAGES).exact is False
    assert tiktoken_available("gpt-4o") is False


@needs_cache
def test_concurrent_first_use_loads_once(fresh_state, monkeypatch):
    import threading

    import tiktoken

    calls = []
    real = tiktoken.get_encoding
    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: calls.append(name) or real(name))
    results = []
    threads = [threading.Thread(target=lambda: results.append(count_text("gpt-4o", "hello world")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [TokenCount(2, exact=True)] * 8
    assert calls == ["o200k_base"]
