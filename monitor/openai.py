"""The seed-style facade: `openai.ChatCompletion.create(...)` logged through the latest `init_monitor`.

Responses are dicts with attribute access, so both `r["choices"][0]["message"]["content"]` (the
pre-1.0 SDK style the seed uses) and `r.choices[0].message.content` work.  The key and base URL come
from the environment exactly as the openai SDK reads them (OPENAI_API_KEY, OPENAI_BASE_URL).
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Iterable, Iterator

import openai as _sdk

from .capture import as_text
from .forksafe import ForkSafeLock
from .monitor import Monitor, current_monitor

__all__ = ["ChatCompletion", "Completion", "Embedding", "OpenAIObject", "message_from_stream"]


class OpenAIObject(dict):
    """A dict that also answers attribute access, recursively (like the pre-1.0 SDK's objects)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    @classmethod
    def convert(cls, value: Any) -> Any:
        if hasattr(value, "model_dump"):
            value = value.model_dump(warnings=False)
        if isinstance(value, dict):
            return cls({k: cls.convert(v) for k, v in value.items()})
        if isinstance(value, list):
            return [cls.convert(v) for v in value]
        return value


_clients: dict[tuple, Any] = {}
_clients_lock = ForkSafeLock()     # a forked child gets it unlocked


def _monitor() -> Monitor:
    monitor = current_monitor()
    if monitor is None:
        raise RuntimeError("call monitor.init_monitor('stream_name') before monitor.openai.ChatCompletion.create(...)")
    return monitor


def _client(monitor: Monitor, asynchronous: bool = False) -> Any:
    # One client per (monitor, key, base URL), so changing the environment takes effect like the old SDK;
    # an async client belongs to one event loop (each asyncio.run() makes a new one).
    setting = (id(monitor), os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL"))
    kind = ("async", id(asyncio.get_running_loop())) if asynchronous else ("sync",)
    with _clients_lock:
        client = _clients.get((setting, kind))
        if client is None:
            for old in [k for k in _clients if k[0] != setting or (asynchronous and k[1][0] == "async")]:
                del _clients[old]     # other settings or a finished loop: not coming back
            client = monitor.wrap(_sdk.AsyncOpenAI() if asynchronous else _sdk.OpenAI())
            _clients[(setting, kind)] = client
        return client


class _FacadeStream:
    """Chunks as OpenAIObjects; closing or dropping it closes (and logs) the monitored stream."""

    def __init__(self, inner: Any):
        self._inner = inner

    def __iter__(self) -> Iterator[OpenAIObject]:
        for chunk in self._inner:
            yield OpenAIObject.convert(chunk)

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> "_FacadeStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Resource:
    _path: tuple[str, ...] = ()

    @classmethod
    def _resource(cls, asynchronous: bool = False) -> Any:
        target = _client(_monitor(), asynchronous)
        for name in cls._path:
            target = getattr(target, name)
        return target

    @classmethod
    def create(cls, **kwargs: Any) -> Any:
        result = cls._resource().create(**kwargs)
        if kwargs.get("stream"):
            return _FacadeStream(result)
        return OpenAIObject.convert(result)

    @classmethod
    async def acreate(cls, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            raise NotImplementedError("acreate(stream=True): use monitor.wrap(openai.AsyncOpenAI()) for async streams")
        return OpenAIObject.convert(await cls._resource(True).create(**kwargs))


class ChatCompletion(_Resource):
    _path = ("chat", "completions")


class Completion(_Resource):
    _path = ("completions",)


class Embedding(_Resource):
    _path = ("embeddings",)


def message_from_stream(stream: Iterable[Any]) -> Iterator[str]:
    """Yield the text of each chunk of a streamed chat completion (dict-style or SDK objects)."""
    for chunk in stream:
        choices = chunk["choices"] if isinstance(chunk, dict) else getattr(chunk, "choices", None)
        if not choices:
            continue
        choice = choices[0]
        delta = choice["delta"] if isinstance(choice, dict) else getattr(choice, "delta", None)
        if delta is None:
            continue
        content = delta.get("content") if isinstance(delta, dict) else getattr(delta, "content", None)
        if content:
            yield content if isinstance(content, str) else as_text(content)   # parts or a number: as text
