"""OpenAI Monitor: log every OpenAI API call to a local SQLite store.

    from monitor import init_monitor, openai
    m = init_monitor("my-team/weave/openai_logs")
    client = m.wrap(openai_sdk.OpenAI())
"""
from .monitor import Monitor, init_monitor
from .record import Record
from .store import StoreError
from . import openai

__all__ = ["Monitor", "Record", "StoreError", "init_monitor", "openai"]
__version__ = "0.1.0"
