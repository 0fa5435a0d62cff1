"""Credential headers the client sends never reach the store, whatever their name or type (issue 7.7)."""
from __future__ import annotations

import openai

try:
    import httpx2 as httpx          # the HTTP library this openai SDK is built on
except ImportError:
    import httpx
import pytest

from monitor import init_monitor
from monitor.boards import export_csv, new_template_board
from monitor.simulator import Simulator, SimulatorConfig

SUB = "0123456789abcdef0123456789abcdef"


def _store_bytes(db_path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def test_a_gateway_subscription_key_echoed_in_an_error(db_path, tmp_path):
    def gateway(request: httpx.Request) -> httpx.Response:   # an API gateway that echoes what it got
        return httpx.Response(401, json={"error": {"message": "invalid subscription key "
                                                   + request.headers.get("ocp-apim-subscription-key", "")}})

    m = init_monitor("gw/azure", db_path=db_path, quiet=True)
    client = m.wrap(openai.AzureOpenAI(
        api_key="unused-key-123456", azure_endpoint="http://gw", api_version="2024-06-01", max_retries=0,
        default_headers={"Ocp-Apim-Subscription-Key": SUB},
        http_client=openai.DefaultHttpxClient(transport=httpx.MockTransport(gateway))))
    with pytest.raises(openai.AuthenticationError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert SUB in str(raised.value)                      # the caller's exception is untouched
    (record,) = m.records()
    assert SUB not in (record.error or "") and "invalid subscription key" in record.error
    out = tmp_path / "gw.csv"
    export_csv(m.store, new_template_board(m.store, "gw/azure"), out, include_content=False)
    m.close()
    assert SUB.encode() not in _store_bytes(db_path) and SUB not in out.read_text()


@pytest.mark.parametrize("where", ["extra_headers", "default_headers"])
@pytest.mark.parametrize("shape", ["bytes value", "bytes name"])
def test_bytes_header_names_and_values(db_path, where, shape):
    token = "gatewaytok_" + "9" * 20
    header = {b"X-Auth-Token": token} if shape == "bytes name" else {"X-Auth-Token": token.encode()}
    with Simulator(SimulatorConfig(echo_credentials=True)) as sim:
        m = init_monitor("gw/bytes", db_path=db_path, quiet=True)
        kwargs = {"default_headers": header} if where == "default_headers" else {}
        client = m.wrap(openai.OpenAI(base_url=sim.base_url, api_key="sk-test-0123456789abcdef", max_retries=0,
                                      **kwargs))
        extra = {"extra_headers": header} if where == "extra_headers" else {}
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                               **extra)
        assert token in reply.choices[0].message.content        # the hostile server did echo it
        (record,) = m.records()
        m.close()
    assert token not in (record.output or "") and token not in (record.response_model or "")
    assert token.encode() not in _store_bytes(db_path)
