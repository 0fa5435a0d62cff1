"""OpenTelemetry export: spans with the GenAI conventions reach a real OTLP/HTTP receiver (protobuf decoded)."""
from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import textwrap
import threading

import openai
import pytest

from monitor import init_monitor
from monitor.export import otlp
from tests.otlp_receiver import OtlpReceiver


@pytest.fixture(autouse=True)
def _fresh_routes():
    yield
    otlp.shutdown_all(timeout_s=5)


def _by_request(spans: list[dict]) -> dict[str, dict]:
    return {s["attributes"].get("openai_monitor.case"): s for s in spans}


def test_spans_carry_the_genai_attributes(client, db_path, monkeypatch):
    monkeypatch.delenv(otlp.CONTENT_ENV, raising=False)
    with OtlpReceiver() as rx:
        m = init_monitor("team/otel", db_path=db_path, quiet=True, otlp_endpoint=rx.endpoint)
        c = m.wrap(client)
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "secret prompt"}],
                                  temperature=0.2, max_tokens=50, monitor_attributes={"case": "chat", "user": "alice"})
        c.embeddings.create(model="text-embedding-3-small", input="hello", monitor_attributes={"case": "emb"})
        with pytest.raises(openai.InternalServerError):
            c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                      extra_headers={"X-Sim-Status": "500"}, monitor_attributes={"case": "err"})
        m.flush()
        spans = _by_request(rx.wait_for(3))
    records = {r.attributes["case"]: r for r in m.records()}
    chat, rec = spans["chat"], records["chat"]
    assert chat["path"] == "/v1/traces" and chat["name"] == "chat gpt-4o-mini"
    a = chat["attributes"]
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.response.model"] == rec.response_model
    assert a["gen_ai.usage.input_tokens"] == rec.prompt_tokens and a["gen_ai.usage.output_tokens"] == rec.completion_tokens
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.max_tokens"] == 50
    assert a["openai_monitor.cost_usd"] == pytest.approx(rec.cost_usd)
    assert a["openai_monitor.stream"] == "team/otel" and a["openai_monitor.user"] == "alice"
    assert chat["end_ns"] - chat["start_ns"] == pytest.approx(rec.latency_ms * 1e6, abs=1e3)
    assert chat["start_ns"] == pytest.approx(rec.timestamp * 1e9, abs=1e3)
    # no content unless asked for
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system")) for k in a)
    assert "secret prompt" not in repr(chat)
    assert spans["emb"]["attributes"]["gen_ai.operation.name"] == "embeddings"
    err = spans["err"]
    assert err["attributes"]["error.type"] == "InternalServerError" and err["status_code"] == 2   # STATUS_CODE_ERROR
    assert chat["resource"]["service.name"] == "openai-monitor"
    m.close()


def test_content_only_when_asked(client, db_path, monkeypatch):
    monkeypatch.setenv(otlp.CONTENT_ENV, "true")
    with OtlpReceiver() as rx:
        m = init_monitor("team/otel", db_path=db_path, quiet=True, otlp_endpoint=rx.endpoint)
        m.wrap(client).chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is 2+2?"}])
        m.flush()
        (span,) = rx.wait_for(1)
    a = span["attributes"]
    assert "What is 2+2?" in a["gen_ai.input.messages"] and "Be terse." in a["gen_ai.system_instructions"]
    assert m.records()[-1].output in a["gen_ai.output.messages"]
    m.close()


def test_environment_endpoint_and_headers(sim, tmp_path):
    """A program configured only by the environment, as a service would be (a subprocess)."""
    with OtlpReceiver() as rx:
        code = textwrap.dedent(f"""
            import openai
            from monitor import init_monitor
            m = init_monitor("svc/otel", db_path={str(tmp_path / 'svc.db')!r}, quiet=True)
            c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
            for _ in range(3):
                c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
        """)
        env = {**os.environ, otlp.ENDPOINT_ENV: rx.endpoint, "OTEL_EXPORTER_OTLP_HEADERS": "x-team-token=abc123"}
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)
        spans = list(rx.spans)                 # sent at exit, before the program ended: no waiting here
    assert len(spans) == 3 and all(s["attributes"]["openai_monitor.stream"] == "svc/otel" for s in spans)
    assert any(h.get("x-team-token") == "abc123" for h in rx.headers)


def _dead_port() -> str:
    with socket.socket() as s:                 # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_stuck_collector_never_holds_a_call(client, db_path, monkeypatch):
    """Calls go on and are committed while the exporter's thread sits in a request the collector never
    answers. (What export costs a call is measured in benchmarks/otlp.py, not here.)"""
    # an export timeout longer than this test: a call path that waited on the exporter would hang, not pass
    monkeypatch.setattr(otlp, "OtlpExporter", functools.partial(otlp.OtlpExporter, timeout_s=600))
    with OtlpReceiver(hold=True) as rx:
        m = init_monitor("team/stuck", db_path=db_path, quiet=True, otlp_endpoint=rx.endpoint)
        c = m.wrap(client)
        c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "first"}])
        m.flush()
        assert rx.holding.wait(60), "the first span never reached the collector"
        done = threading.Event()

        def more_calls() -> None:
            for i in range(10):
                c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"call {i}"}])
            m.flush()
            done.set()

        threading.Thread(target=more_calls, daemon=True).start()
        assert done.wait(90), "calls waited on a collector that does not answer"
        assert rx.answered == 0                # the exporter was still stuck the whole time
        assert len(m.records()) == 11 and m.health()["dropped"] == 0
        rx.release.set()                       # the collector answers: every span arrives after all
        assert len(rx.wait_for(11, timeout=60)) == 11
    m.close()


def test_a_stuck_collector_never_holds_up_exit(sim, tmp_path):
    """The program ends while its exporter is still inside a request the collector has not answered.
    (How long exit gives queued spans — at most 2 s by design — is measured in benchmarks/otlp.py.)"""
    held = tmp_path / "held"
    code = textwrap.dedent(f"""
        import functools, openai, os, time
        from monitor import init_monitor
        from monitor.export import otlp
        # an export timeout longer than the test's: an exit that waited on the exporter would hang, not pass
        otlp.OtlpExporter = functools.partial(otlp.OtlpExporter, timeout_s=600)
        m = init_monitor("svc/stuck", db_path={str(tmp_path / 'stuck.db')!r}, quiet=True, otlp_endpoint=os.environ["EP"])
        c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
        for _ in range(5):
            c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
        m.flush()
        deadline = time.monotonic() + 60        # wait (polling) until the exporter is inside its request
        while not os.path.exists({str(held)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(len(m.records()))
    """)
    with OtlpReceiver(hold=True) as rx:
        threading.Thread(target=lambda: rx.holding.wait(60) and held.touch(), daemon=True).start()
        out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True,
                             env={**os.environ, "EP": rx.endpoint})
        assert rx.holding.is_set() and rx.answered == 0    # it exited with the request still unanswered
    assert out.stdout.strip() == "5"


def test_a_dead_collector_never_breaks_a_program(sim, tmp_path):
    code = textwrap.dedent(f"""
        import openai
        from monitor import init_monitor
        m = init_monitor("svc/dead", db_path={str(tmp_path / 'dead.db')!r}, quiet=True, otlp_endpoint={_dead_port()!r})
        c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
        for _ in range(20):
            c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
        m.flush()
        print(len(m.records()), m.health()["dropped"])
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    assert out.stdout.split() == ["20", "0"]


def test_a_dead_collector_is_said_once(sim, tmp_path):
    dead = _dead_port()
    code = textwrap.dedent(f"""
        import openai
        from monitor import init_monitor
        from monitor.export import otlp
        m = init_monitor("svc/dead", db_path={str(tmp_path / 'dead.db')!r}, quiet=True, otlp_endpoint={dead!r})
        c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
        processor = otlp.route("svc/dead", {dead!r})._processor
        for _ in range(3):
            for _ in range(5):
                c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
            m.flush()
            processor.force_flush()          # returns once this batch's export (and its retries) has failed
        print(processor.span_exporter.dropped)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    assert out.stdout.strip() == "15"        # three batches failed, every span counted
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert sum("collector unreachable" in l for l in lines) == 1, out.stderr
    assert not any("Transient error" in l for l in lines), out.stderr
