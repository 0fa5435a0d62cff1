"""A real OTLP/HTTP trace receiver for the tests: decodes the protobuf the exporter sends (opentelemetry-proto)."""
from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse


def _value(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class OtlpReceiver:
    """`with OtlpReceiver() as rx: rx.endpoint` (http://127.0.0.1:PORT); `rx.wait_for(n)` -> spans as dicts.

    `OtlpReceiver(hold=True)`: a stuck collector. Each request sets `rx.holding` and gets no answer until
    `rx.release` is set (at the latest when the receiver closes); `rx.answered` counts the answers sent."""

    def __init__(self, hold: bool = False) -> None:
        self.spans: list[dict] = []
        self.headers: list[dict] = []
        self.holding, self.release = threading.Event(), threading.Event()
        self.answered = 0
        self._cond = threading.Condition()
        if not hold:
            self.release.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.holding.set()
                receiver.release.wait()
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                spans = []
                for rs in request.resource_spans:
                    resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            spans.append({"name": s.name, "path": self.path, "resource": resource,
                                          "attributes": {a.key: _value(a.value) for a in s.attributes},
                                          "start_ns": s.start_time_unix_nano, "end_ns": s.end_time_unix_nano,
                                          "status_code": s.status.code, "status_message": s.status.message})
                with receiver._cond:             # kept before the answer: once the sender has it, so do we
                    receiver.headers.append(dict(self.headers))
                    receiver.spans.extend(spans)
                    receiver.answered += 1
                    receiver._cond.notify_all()
                out = ExportTraceServiceResponse().SerializeToString()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:                  # a held request's sender may be gone by the time we answer
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.spans) < n and time.monotonic() < deadline:
                self._cond.wait(0.1)
            return list(self.spans)

    def __enter__(self) -> "OtlpReceiver":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
