"""Token counting for calls whose response carries no usage (streams without include_usage, errors).

tiktoken fetches its BPE files over the network on first use and caches them (by sha1 of the URL) in
$TIKTOKEN_CACHE_DIR, else $DATA_GYM_CACHE_DIR, else $TMPDIR/data-gym-cache. Offline, that fetch can hang
for a long time, and this code runs inside the user's program, so:

- we only let tiktoken load an encoding when its file is already in the cache with the right sha256;
  a download is attempted only if OPENAI_MONITOR_TIKTOKEN_DOWNLOAD=1 (and then with a time limit);
- any failure is remembered and retried at most once a minute;
- without an encoding every count falls back to a marked estimate (len(text)/4, exact=False).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from .forksafe import ForkSafeLock

log = logging.getLogger(__name__)

DOWNLOAD_ENV = "OPENAI_MONITOR_TIKTOKEN_DOWNLOAD"
RETRY_SECONDS = 60.0
DOWNLOAD_TIMEOUT_SECONDS = 30.0
IMAGE_TOKENS = 85  # a low-detail image; high-detail ones cost more, so any image makes the count an estimate

# Source URL and sha256 of each encoding we use, as in tiktoken_ext/openai_public.py; we need them to
# find the cache file before tiktoken would go to the network.
_ENCODING_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool  # True = counted with tiktoken; False = an estimate (chars/4, images, tools)


_lock = ForkSafeLock()     # a forked child gets it unlocked
_encodings: dict[str, Any] = {}
_failed_at: dict[str, float] = {}  # encoding name -> monotonic time of the last failed load


def encoding_name_for(model: str | None) -> str:
    """cl100k_base for the GPT-4/3.5 generation and embeddings; o200k_base for everything newer or unknown."""
    m = (model or "").strip().lower()
    if m.startswith("ft:"):
        m = m[3:]
    m = m.rsplit("/", 1)[-1]  # "openai/gpt-4" counts like gpt-4 (a guess is harmless for an estimate)
    if (m == "gpt-4" or m.startswith(("gpt-4-", "gpt-3.5-turbo", "gpt-35-turbo", "text-embedding-"))):
        return "cl100k_base"
    return "o200k_base"


def _cache_dir() -> str | None:
    # Same precedence as tiktoken.load.read_file_cached; "" means tiktoken caching is disabled.
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var] or None
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached_file_ok(name: str) -> bool:
    """True if tiktoken will find this encoding in its cache (a miss or a bad hash means a download)."""
    if name not in _ENCODING_FILES:
        return False
    url, sha256 = _ENCODING_FILES[name]
    cache_dir = _cache_dir()
    if not cache_dir:
        return False
    path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest() == sha256
    except OSError:
        return False


def _download_allowed() -> bool:
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes")


def _load_with_timeout(name: str) -> Any:
    # requests.get in tiktoken has no timeout; run it in a daemon thread so a hung fetch can't hang us.
    import tiktoken

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["enc"] = tiktoken.get_encoding(name)
        except BaseException as e:  # noqa: BLE001 - reported below
            box["err"] = e

    t = threading.Thread(target=run, name=f"tiktoken-load-{name}", daemon=True)
    t.start()
    t.join(DOWNLOAD_TIMEOUT_SECONDS)
    if "enc" in box:
        return box["enc"]
    raise RuntimeError(f"could not download {name}: {box.get('err', 'timed out')!r}")


def _get_encoding(name: str) -> Any | None:
    """The tiktoken Encoding, or None when it can't be had now (never raises, never blocks on the network
    unless downloads are enabled)."""
    enc = _encodings.get(name)
    if enc is not None:
        return enc
    with _lock:
        enc = _encodings.get(name)
        if enc is not None:
            return enc
        failed = _failed_at.get(name)
        if failed is not None and time.monotonic() - failed < RETRY_SECONDS:
            return None
        try:
            if _cached_file_ok(name):
                import tiktoken

                enc = tiktoken.get_encoding(name)
            elif _download_allowed():
                enc = _load_with_timeout(name)
            else:
                raise RuntimeError(f"{name} is not in the tiktoken cache and {DOWNLOAD_ENV} is not set")
        except Exception as e:  # noqa: BLE001 - any failure means "estimate instead"
            _failed_at[name] = time.monotonic()
            log.info("tiktoken unavailable, token counts will be estimates: %s", e)
            return None
        _encodings[name] = enc
        _failed_at.pop(name, None)
        return enc


def encoding_for(model: str | None) -> Any | None:
    """The model's tiktoken Encoding, or None when it can't be loaded now."""
    return _get_encoding(encoding_name_for(model))


def tiktoken_available(model: str | None = None) -> bool:
    """Whether counts for this model (default: the o200k_base models) will be exact."""
    return _get_encoding(encoding_name_for(model)) is not None


def _estimate(text: str) -> int:
    return max(1, round(len(text) / 4))


def _count(enc: Any | None, text: str) -> TokenCount:
    if not text:
        return TokenCount(0, exact=True)  # nothing to count: 0 is exact under any encoding
    if enc is None:
        return TokenCount(_estimate(text), exact=False)
    # disallowed_special=(): user text may contain "<|endoftext|>"; count it as text instead of raising.
    return TokenCount(len(enc.encode(text, disallowed_special=())), exact=True)


def count_text(model: str | None, text: str) -> TokenCount:
    return _count(_get_encoding(encoding_name_for(model)), text or "")


def count_completion(model: str | None, text: str) -> TokenCount:
    """Tokens of the assistant's output text (the completion has no per-message overhead)."""
    return count_text(model, text)


def _count_value(enc: Any | None, value: Any) -> TokenCount:
    """Tokens of one message field: a string, a list of content parts, or anything else (as JSON, estimated)."""
    if value is None:
        return TokenCount(0, exact=True)
    if isinstance(value, str):
        return _count(enc, value)
    if isinstance(value, list):
        tokens, exact = 0, True
        for part in value:
            if isinstance(part, str):
                c = _count(enc, part)
            elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
                c = _count(enc, str(part.get("text") or ""))
            elif isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "image"):
                c = TokenCount(IMAGE_TOKENS, exact=False)
            else:  # audio, files, refusals...: no published formula
                c = TokenCount(_count(enc, _as_json(part)).tokens, exact=False)
            tokens += c.tokens
            exact = exact and c.exact
        return TokenCount(tokens, exact)
    # tool_calls, function_call and other structures: the API serialises them its own way
    return TokenCount(_count(enc, _as_json(value)).tokens, exact=False)


def _as_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except Exception:  # noqa: BLE001
        return str(value)


def count_chat_prompt(
    model: str | None,
    messages: list[dict],
    *,
    tools: list | None = None,
    functions: list | None = None,
) -> TokenCount:
    """Prompt tokens of a chat request, by the OpenAI cookbook formula:
    sum over messages of (3 + tokens of every field value, +1 for a "name" field) + 3 for the reply priming.

    exact=False when tiktoken is unavailable, when a message holds images or other non-text parts, or
    when the request defines tools/functions (their hidden formatting has no published formula; we add
    the tokens of their JSON as an approximation).
    """
    enc = _get_encoding(encoding_name_for(model))
    tokens, exact = 3, enc is not None
    for message in messages or []:
        tokens += 3
        if not isinstance(message, dict):
            c = TokenCount(_count(enc, _as_json(message)).tokens, exact=False)
            tokens, exact = tokens + c.tokens, False
            continue
        for key, value in message.items():
            c = _count_value(enc, value)
            tokens += c.tokens + (1 if key == "name" else 0)
            exact = exact and c.exact
    for defs in (tools, functions):
        if defs:
            tokens += _count(enc, _as_json(defs)).tokens
            exact = False
    return TokenCount(tokens, exact)
