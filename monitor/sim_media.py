"""The simulator's image, audio and moderation endpoints (the shapes and usage OpenAI returns).

POST /images/generations (JSON), /images/edits (multipart), /audio/transcriptions (multipart),
/audio/speech (JSON → WAV bytes), /moderations (JSON). Images are real PNGs (noise, so they weigh what
a photo does: ~200 KB at 256×256), speech is a real WAV whose length follows the text, and a
transcription's duration is read from the WAV it is sent.
"""
from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json
import random
import struct
import time
import uuid
import wave
import zlib
from typing import Any, Callable

from . import sim_text

_SIZES = {"256x256": 256, "512x512": 512, "1024x1024": 256, "1024x1536": 256, "1536x1024": 256, "auto": 256}
# gpt-image-1 output tokens by quality for a square image (OpenAI's published table)
_IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 1056, "standard": 1056, "hd": 4160}
_SPEECH_RATE = 15            # characters per second of generated speech
_SAMPLE_RATE = 8000


def png(side: int, seed: str) -> bytes:
    """A real side×side RGB PNG of noise (noise does not compress: a photo-like weight)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b"")


def wav(seconds: float) -> bytes:
    """A real mono 8 kHz WAV of a quiet tone."""
    frames = int(seconds * _SAMPLE_RATE)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(_SAMPLE_RATE)
        w.writeframes(b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(frames)))
    return buf.getvalue()


def wav_seconds(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return len(data) / 16_000.0          # not a WAV: assume 16 kB per second of compressed audio


def multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields of a multipart/form-data body: text values as str, files as bytes."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        value: Any = payload if part.get_filename() else payload.decode("utf-8", "replace")
        if name.endswith("[]"):
            fields.setdefault(name[:-2], []).append(value)
        else:
            fields[name] = value
    return fields


def _image_usage(prompt: str, n: int, quality: str, input_images: int = 0) -> dict:
    text = sim_text.count(prompt, "gpt-4o")
    image_in = 323 * input_images
    out = _IMAGE_OUTPUT_TOKENS.get(quality, 1056) * n
    return {"input_tokens": text + image_in, "output_tokens": out, "total_tokens": text + image_in + out,
            "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
            "output_tokens_details": {"text_tokens": 0, "image_tokens": out}}


def _images(req: dict, input_images: int = 0) -> dict:
    model, prompt = str(req.get("model") or "dall-e-2"), str(req.get("prompt") or "")
    n, quality = max(1, min(10, int(req.get("n") or 1))), str(req.get("quality") or "auto")
    side = _SIZES.get(str(req.get("size") or "auto"), 256)
    as_url = req.get("response_format") == "url" and not model.startswith("gpt-image")
    data = []
    for i in range(n):
        item = {"url": f"https://sim.invalid/img/{uuid.uuid4().hex}.png"} if as_url else \
               {"b64_json": base64.b64encode(png(side, f"{prompt}|{i}")).decode()}
        if model == "dall-e-3":
            item["revised_prompt"] = prompt
        data.append(item)
    obj = {"created": int(time.time()), "data": data}
    if model.startswith("gpt-image"):
        obj.update(usage=_image_usage(prompt, n, quality, input_images), quality=quality,
                   size=str(req.get("size") or "1024x1024"), output_format="png", background="opaque")
    return obj


def images_generations(handler, sim, raw: bytes) -> None:
    handler._send_json(200, _images(_json(handler, raw)))


def images_edits(handler, sim, raw: bytes) -> None:
    form = _form(handler, raw)
    images = form.get("image") or []
    images = images if isinstance(images, list) else [images]
    if not images or not all(isinstance(i, bytes) for i in images):
        handler._error(400, "Missing required parameter: 'image'.", "image")
    handler._send_json(200, _images(form, input_images=len(images)))


def audio_transcriptions(handler, sim, raw: bytes) -> None:
    form = _form(handler, raw)
    audio = form.get("file")
    if not isinstance(audio, bytes):
        handler._error(400, "Missing required parameter: 'file'.", "file")
    model, seconds = str(form.get("model") or "whisper-1"), wav_seconds(audio)
    text = sim_text.make_reply(form.get("prompt") or "transcribe", random.Random(len(audio)))
    if form.get("response_format") == "text":
        return handler._send_bytes(200, text.encode(), "text/plain; charset=utf-8")
    if model == "whisper-1":
        usage = {"type": "duration", "seconds": round(seconds, 1)}
    else:                       # gpt-4o(-mini)-transcribe bill audio tokens: about 10 per second
        audio_tokens, out = max(1, round(seconds * 10)), sim_text.count(text, "gpt-4o")
        usage = {"type": "tokens", "input_tokens": audio_tokens, "output_tokens": out,
                 "total_tokens": audio_tokens + out,
                 "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0}}
    handler._send_json(200, {"text": text, "usage": usage})


def audio_speech(handler, sim, raw: bytes) -> None:
    req = _json(handler, raw)
    text = req.get("input")
    if not isinstance(text, str) or not text:
        handler._error(400, "Missing required parameter: 'input'.", "input")
    handler._send_bytes(200, wav(max(0.2, len(text) / _SPEECH_RATE)), "audio/wav")


_CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
               "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors",
               "violence", "violence/graphic")


def moderations(handler, sim, raw: bytes) -> None:
    req = _json(handler, raw)
    inputs = req.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    results = []
    for item in inputs:
        text = item if isinstance(item, str) else json.dumps(item)
        flagged = "[flag]" in text.lower()
        scores = {c: (0.91 if flagged and c == "violence" else 0.0004) for c in _CATEGORIES}
        results.append({"flagged": flagged, "categories": {c: scores[c] > 0.5 for c in _CATEGORIES},
                        "category_scores": scores,
                        "category_applied_input_types": {c: ["text"] for c in _CATEGORIES}})
    handler._send_json(200, {"id": "modr-" + uuid.uuid4().hex[:24],
                             "model": str(req.get("model") or "omni-moderation-latest"), "results": results})


def _json(handler, raw: bytes) -> dict:
    try:
        req = json.loads(raw or b"null")
    except ValueError:
        req = None
    if not isinstance(req, dict):
        handler._error(400, "We could not parse the JSON body of your request.", None)
    return req


def _form(handler, raw: bytes) -> dict:
    content_type = handler.headers.get("Content-Type") or ""
    if not content_type.startswith("multipart/form-data"):
        handler._error(400, "This endpoint expects multipart/form-data.", None)
    return multipart(content_type, raw)


ROUTES: dict[str, Callable] = {
    "/images/generations": images_generations, "/images/edits": images_edits,
    "/audio/transcriptions": audio_transcriptions, "/audio/speech": audio_speech, "/moderations": moderations,
}
