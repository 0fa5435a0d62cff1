"""Large payloads never enter the store: base64 data and embedding vectors become a small stand-in.

`{"omitted": "<kind>", "bytes": N, "sha256": "<hex>"}` — N and the hash of the decoded bytes (for a vector,
of its float32 bytes), so two records holding the same image can still be matched. Kinds: "image",
"audio", "file" (by the data URL's media type or the key it sits under), "base64", "embedding".
Runs on the writer thread (capture.clean), only on values that can hold such data.
"""
from __future__ import annotations

import array
import base64
import binascii
import hashlib
import re
from typing import Any

# a string this long made only of base64 characters is data, not prose (prose has spaces)
MIN_BASE64 = 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\r\n]+")
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*);base64,", re.I)
# keys whose base64 string value is known: b64_json (images), input_audio/audio "data", file_data, result
_KIND_OF_KEY = {"b64_json": "image", "partial_image_b64": "image", "result": "image", "file_data": "file",
                "data": "base64", "audio": "audio"}
# a fast test on the JSON text before walking a value
CUES = (";base64,", '"b64_json"', '"embedding"', '"input_audio"', '"file_data"', '"audio"', '"result"')


def omitted(kind: str, data: bytes) -> dict:
    return {"omitted": kind, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _decoded(text: str) -> bytes | None:
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


_MAGIC = ((b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"), (b"GIF8", "image"), (b"%PDF", "file"),
          (b"ID3", "audio"), (b"OggS", "audio"), (b"fLaC", "audio"), (b"\xff\xfb", "audio"), (b"\xff\xf3", "audio"))


def _sniff(data: bytes, default: str) -> str:
    """The kind of decoded bytes from their first bytes (RIFF: WAVE is audio, WEBP an image)."""
    if data[:4] == b"RIFF":
        return {b"WAVE": "audio", b"WEBP": "image"}.get(data[8:12], default)
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return default


def _kind_of_media(media: str | None) -> str:
    top = (media or "").split("/")[0].lower()
    return top if top in ("image", "audio", "video") else "file"


def string(value: str, key: Any = None) -> Any:
    """A base64 string (a data URL, or long base64 text) as its stand-in; other strings unchanged."""
    if value.startswith("data:"):
        match = _DATA_URL.match(value)
        if match:
            data = _decoded(value[match.end():].strip())
            if data is not None:
                return omitted(_kind_of_media(match.group(1)), data)
    if len(value) >= MIN_BASE64 and _BASE64.fullmatch(value):
        data = _decoded(value.replace("\n", "").replace("\r", ""))
        if data is not None:
            kind = _KIND_OF_KEY.get(key, "base64") if isinstance(key, str) else "base64"
            return omitted(_sniff(data, kind) if kind == "base64" else kind, data)
    return value


def vector(value: Any) -> Any:
    """An embedding (floats, or base64 float32 text) as its stand-in."""
    if isinstance(value, str):
        data = _decoded(value)
        return value if data is None else omitted("embedding", data)
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        try:
            return omitted("embedding", array.array("f", value).tobytes())
        except (OverflowError, TypeError):
            return value
    return value


def binary(value: Any) -> dict | None:
    """Bytes (an uploaded file or image given as bytes) as a stand-in; None for anything else."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return omitted("file", bytes(value))
    return None


def file_like(value: Any) -> dict | None:
    """An open file or a path given as an upload: its name only (the monitor never reads the caller's file)."""
    import os
    if isinstance(value, os.PathLike):
        return {"omitted": "file", "name": os.fspath(value)}
    if hasattr(value, "read") and not isinstance(value, (str, bytes)):
        name = getattr(value, "name", None)
        return {"omitted": "file", **({"name": name} if isinstance(name, str) else {})}
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[0], (str, type(None))):
        inner = binary(value[1]) or file_like(value[1]) or {"omitted": "file"}   # (filename, content, ...)
        return {**inner, **({"name": value[0]} if value[0] else {})}
    return None
