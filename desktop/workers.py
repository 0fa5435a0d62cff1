"""Network-call pieces shared by the Playground and Experiments, run with desktop/tasks.py: a chat call as a
generator of text pieces (for tasks.StreamOp), its cancel handle, the monitor flush before reading a call back,
and errors in words.
"""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import openai

from monitor.profiles import KeyringUnavailable, MissingApiKey, scrub


# -- errors, in words -------------------------------------------------------------------------------

def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return exc.message


def describe_error(exc: BaseException, *secrets: str | None) -> str:
    """One clear, key-free paragraph for the output area (never a traceback)."""
    if isinstance(exc, (MissingApiKey, KeyringUnavailable)):
        text = str(exc)
    elif isinstance(exc, KeyError):
        text = f"{exc.args[0] if exc.args else exc} — pick or add a connection profile in Settings (Ctrl+,)."
    elif isinstance(exc, openai.AuthenticationError):
        text = (f"HTTP 401 — the server refused the API key: {_server_message(exc)} "
                "Check the profile's key in Settings (Ctrl+,).")
    elif isinstance(exc, openai.RateLimitError):
        retry = exc.response.headers.get("retry-after") if exc.response is not None else None
        text = f"HTTP 429 — rate limited or out of quota: {_server_message(exc)}"
        if retry:
            text += f" The server asks to retry after {retry} s."
    elif isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code} — {_server_message(exc)}"
    elif isinstance(exc, openai.APITimeoutError):
        text = "The server did not answer in time (request timed out). Try again, or try a smaller request."
    elif isinstance(exc, openai.APIConnectionError):
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        url = getattr(getattr(exc, "request", None), "url", None)
        where = f" to {url.scheme}://{url.host}:{url.port or ''}" if url is not None else ""
        text = f"Could not connect{where}: {cause or 'connection failed'}. Is the server running and the base URL right?"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return scrub(text, *secrets)


# -- one playground call ------------------------------------------------------------------------------

@dataclass
class CallHandle:
    """Shared between the GUI and a call's worker: the cancel flag and the open stream."""
    stream: Any = None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    _held_fd: int | None = None          # a cancelled stream's socket, closed by the worker once its read ended
    _worker_done: bool = False

    def cancel(self) -> bool:
        """Close the stream now (the monitor logs it as cancelled with its partial output) and end the
        worker's read at once. Returns True when a stream was closed, False when the request has not
        started streaming.

        Closing a socket from this thread does not wake a read blocked on it in the worker: that read waits for
        the server's next byte, and if the descriptor's number has been reused meanwhile (the next request's
        connection), it waits on that one until the client's timeout — minutes holding a network-lane thread.
        So the descriptor is taken from the socket before the close (which then closes nothing), shut down to
        wake the read, and closed by the worker once it is out of the read."""
        with self.lock:
            self.cancelled = True
            stream = self.stream
            fd = None if stream is None or self._worker_done else _detach_socket(stream)
            self._held_fd = fd
        if stream is None:
            return False
        try:
            stream.close()                  # first: the monitor logs the call as cancelled, not as a read error
        except Exception:  # noqa: BLE001 - the connection may already be gone; it is logged either way
            pass
        if fd is not None:
            try:
                _shutdown(fd)
            except OSError:
                pass                        # the server had closed it already
        return True

    def worker_done(self) -> None:
        """The worker is out of its read: close what cancel() held open."""
        with self.lock:
            self._worker_done = True
            fd, self._held_fd = self._held_fd, None
        if fd is not None:
            os.close(fd)


def _detach_socket(stream: Any) -> int | None:
    """The descriptor under the stream's connection, taken from its socket object (None if unreachable: then
    cancel only closes, as before)."""
    try:
        extensions = getattr(getattr(stream, "response", None), "extensions", None) or {}
        network = extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is None or sock.fileno() < 0:
            return None
        return sock.detach()
    except Exception:  # noqa: BLE001 - another transport (HTTP/2, a proxy): nothing to take
        return None


def _shutdown(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.detach()                       # the descriptor stays open until worker_done()


@dataclass
class CallOutcome:
    status: str                      # "success" | "error" | "cancelled"
    output: str = ""
    error: str | None = None


def flush(monitor: Any, timeout: float = 15.0) -> None:
    """Off the GUI thread: return once every call the monitor logged so far is in the store."""
    monitor.flush(timeout=timeout)
