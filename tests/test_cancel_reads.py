"""Cancelling a streamed call frees its worker thread at once (desktop/workers.py CallHandle.cancel).

Closing a socket from the GUI thread does not wake a read blocked on it in a worker; worse, once the
descriptor's number is reused by another connection, the read waits on that one until the client's timeout.
That held a network-lane thread for minutes, and every later tasks.wait_for_network with it."""
from __future__ import annotations

import socket
import threading

import openai
import pytest

from desktop import workers
from desktop.playground.tool_calls import chat_call_with_tools


@pytest.mark.parametrize("chat_call", [chat_call_with_tools])
def test_a_cancelled_stream_frees_its_worker_even_when_its_socket_number_is_reused(sim, chat_call):
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-0123456789abcdef", max_retries=0, timeout=120)
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True,
               "extra_headers": {"X-Sim-TTFT-Ms": "1000"}}
    handle = workers.CallHandle()
    outcome = []

    def worker():
        gen = chat_call(lambda: client, request, handle)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            outcome.append(stop.value)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    got_stream = threading.Event()
    for _ in range(1000):
        with handle.lock:
            if handle.stream is not None:
                got_stream.set()
                break
        got_stream.wait(0.01)
    assert got_stream.is_set()
    assert handle.cancel()
    # New idle connections take the lowest free descriptor numbers: the stream's, if cancel freed it.
    idle = [socket.create_connection((sim.host, sim.port)) for _ in range(3)]
    try:
        thread.join(60)                    # the first token comes after 1 s; the client's timeout is 120 s
        assert not thread.is_alive()
        assert outcome[0].status == "cancelled" and outcome[0].output == ""
        with handle.lock:
            assert handle._held_fd is None          # the descriptor cancel() held open is closed
    finally:
        for s in idle:
            s.close()
        client.close()
