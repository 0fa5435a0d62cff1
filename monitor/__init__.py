"""OpenAI Monitor: log every OpenAI API call to a local SQLite store.

    from monitor import init_monitor, openai
    m = init_monitor("my-team/weave/openai_logs")
    client = m.wrap(openai_sdk.OpenAI())

The names below are imported on first use (PEP 562), so `import monitor` — and every `monitor.*` module
the CLI and the app load, such as `monitor.paths` — costs nothing until a name is asked for; the openai
SDK in particular is loaded only by `monitor.openai` (the seed-style facade) and by the code that calls.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import openai
    from .monitor import Monitor, init_monitor
    from .record import Record
    from .store import StoreError

_LAZY = {"Monitor": ".monitor", "init_monitor": ".monitor", "Record": ".record", "StoreError": ".store",
         "openai": ".openai"}

__all__ = ["Monitor", "Record", "StoreError", "init_monitor", "openai"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    value = importlib.import_module(module, __name__)
    if name != "openai":
        value = getattr(value, name)
    globals()[name] = value          # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
