"""OpenTelemetry export: spans with the GenAI conventions reach a real OTLP/HTTP receiver (protobuf decoded)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time

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
        spans = rx.wait_for(3, timeout=5)      # sent at exit: already here
    assert len(spans) == 3 and all(s["attributes"]["openai_monitor.stream"] == "svc/otel" for s in spans)
    assert any(h.get("x-team-token") == "abc123" for h in rx.headers)


def test_a_dead_collector_never_breaks_or_holds_a_program(sim, tmp_path):
    with socket.socket() as s:                 # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    code = textwrap.dedent(f"""
        import openai, time
        from monitor import init_monitor
        m = init_monitor("svc/dead", db_path={str(tmp_path / 'dead.db')!r}, quiet=True, otlp_endpoint={dead!r})
        c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
        for _ in range(20):
            c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
        m.flush()
        print(len(m.records()))
    """)
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    assert out.stdout.strip() == "20"
    assert time.monotonic() - started < 30      # exit gives queued spans ≤ 2 s; it must not wait out retries


def test_a_dead_collector_is_said_once(sim, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    code = textwrap.dedent(f"""
        import openai, time
        from monitor import init_monitor
        m = init_monitor("svc/dead", db_path={str(tmp_path / 'dead.db')!r}, quiet=True, otlp_endpoint={dead!r})
        c = m.wrap(openai.OpenAI(base_url={sim.base_url!r}, api_key="sk-test-0123456789abcdef"))
        for _ in range(3):
            for _ in range(5):
                c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])
            m.flush()
            time.sleep(1.2)                 # let several batches fail
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert sum("collector unreachable" in l for l in lines) == 1, out.stderr
    assert not any("Transient error" in l for l in lines), out.stderr
