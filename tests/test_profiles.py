"""Connection profiles against a real Secret Service (gnome-keyring on a private D-Bus bus)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.SecretService
import pytest

from monitor.simulator import Simulator, SimulatorConfig
from monitor.profiles import (ENV_PROFILE_NAME, SERVICE, ConnectionTestFailed, KeyringUnavailable,
                              MissingApiKey, Profile, ProfileStore, keyring_status, make_client,
                              test_connection)
from keyring_service import (config_dir, no_keyring, real_keyring, secret_service,  # noqa: F401
                             store, _no_env_key)


SECRET = "sk-test-Zq8xVb41LmN0pRsT7uWy3456"
ROOT = Path(__file__).resolve().parents[1]




def unique(prefix="work") -> str:
    # One keyring daemon serves the whole session: keep tests' entries apart.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@contextmanager
def echoing_models_server(expected_key: str):
    """GET /v1/models whose 401 echoes the key it was sent, as OpenAI's "Incorrect API key provided:
    sk-…" does (the simulator doesn't): the case the error-text scrubbing exists for."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            if self.path != "/v1/models":
                status, body = 404, {"error": {"message": "not found"}}
            elif auth != f"Bearer {expected_key}":
                status, body = 401, {"error": {"message": f"Incorrect API key provided: {auth[7:]}",
                                               "type": "invalid_request_error", "code": "invalid_api_key"}}
            else:
                status, body = 200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                    for m in ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")]}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- the real Secret Service --------------------------------------------------------------------

def test_save_get_rename_delete_round_trip(real_keyring, store):
    name = unique()
    store.save(Profile(name, base_url="http://localhost:8000/v1", kind="compatible"), api_key=SECRET)
    assert keyring.get_password(SERVICE, name) == SECRET
    assert store.api_key(name) == SECRET and store.has_key(name)
    assert [p.name for p in store.list()] == [name]

    # The item really is in gnome-keyring's login collection, not in some in-process backend.
    import secretstorage
    with secretstorage.dbus_init() as conn:
        items = list(secretstorage.search_items(conn, {"service": SERVICE, "username": name}))
        assert len(items) == 1 and items[0].get_secret() == SECRET.encode()

    new = unique("renamed")
    store.rename(name, new)
    assert store.api_key(new) == SECRET
    assert keyring.get_password(SERVICE, name) is None
    assert [p.name for p in store.list()] == [new]
    assert store.get(new).base_url == "http://localhost:8000/v1"

    store.delete(new)
    assert keyring.get_password(SERVICE, new) is None
    assert store.list() == []


def test_saving_again_without_key_keeps_the_key(real_keyring, store):
    name = unique()
    store.save(Profile(name), api_key=SECRET)
    store.save(Profile(name, organization="org-123"))
    assert store.get(name).organization == "org-123"
    assert store.api_key(name) == SECRET
    store.delete(name)


def test_secret_is_in_no_file(real_keyring, store, config_dir):
    names = [unique() for _ in range(3)]
    for n in names:
        store.save(Profile(n, base_url="https://example.test/v1", kind="compatible"), api_key=SECRET)
    store.rename(names[0], unique("moved"))
    data = json.loads(store.path.read_text())
    assert "api_key" not in json.dumps(data)
    assert files_containing(config_dir, SECRET) == []
    assert files_containing(config_dir, SECRET[8:]) == []        # not even a fragment
    assert [p.name for p in config_dir.iterdir()] == ["profiles.json"]  # no temp files left
    # gnome-keyring encrypts its own files too.
    assert files_containing(real_keyring.data_dir, SECRET) == []
    for p in store.list():
        store.delete(p.name)


def test_client_kwargs_per_kind(real_keyring, store):
    openai_p, azure_p, local_p = unique("oa"), unique("az"), unique("local")
    store.save(Profile(openai_p, organization="org-1", project="proj-1"), api_key=SECRET)
    store.save(Profile(azure_p, kind="azure", base_url="https://res.openai.azure.com",
                       api_version="2024-06-01"), api_key=SECRET)
    store.save(Profile(local_p, kind="compatible", base_url="http://localhost:11434/v1"))

    assert store.client_kwargs(openai_p) == {"api_key": SECRET, "base_url": "https://api.openai.com/v1",
                                             "organization": "org-1", "project": "proj-1"}
    kw = store.client_kwargs(azure_p)
    assert kw["azure_endpoint"] == "https://res.openai.azure.com" and kw["api_version"] == "2024-06-01"
    import openai
    assert isinstance(make_client(store, azure_p), openai.AzureOpenAI)
    assert store.client_kwargs(local_p)["api_key"] == "not-needed"   # keyless local server

    store.save(Profile(unique("nokey")))
    with pytest.raises(MissingApiKey):
        store.client_kwargs(store.list()[-1].name)
    for p in store.list():
        store.delete(p.name)


def test_key_pasted_into_another_field_is_refused(real_keyring, store):
    with pytest.raises(ValueError, match="looks like an API key"):
        store.save(Profile(unique(), organization=SECRET))
    assert not store.path.exists()


# --- environment profile ------------------------------------------------------------------------

def test_env_profile_is_listed_and_read_only(store, monkeypatch):
    assert store.list() == []
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1")
    env = store.list()[0]
    assert (env.name, env.kind, env.read_only) == (ENV_PROFILE_NAME, "env", True)
    assert env.base_url == "http://127.0.0.1:9999/v1"
    assert store.api_key(ENV_PROFILE_NAME) == SECRET
    assert store.client_kwargs(ENV_PROFILE_NAME)["base_url"] == "http://127.0.0.1:9999/v1"
    with pytest.raises(ValueError):
        store.save(env)
    with pytest.raises(ValueError):
        store.save(Profile(ENV_PROFILE_NAME), api_key="sk-other")
    with pytest.raises(ValueError):
        store.delete(ENV_PROFILE_NAME)
    assert not store.path.exists()


# --- no usable keyring --------------------------------------------------------------------------

def test_no_backend_refuses_to_store_and_explains(no_keyring, store, monkeypatch):
    usable, why = keyring_status()
    assert not usable and "fail.Keyring" in why and "apt install gnome-keyring" in why

    with pytest.raises(KeyringUnavailable) as exc:
        store.save(Profile("work"), api_key=SECRET)
    message = str(exc.value)
    assert "apt install gnome-keyring" in message and "OPENAI_API_KEY" in message
    assert SECRET not in message
    assert not store.path.exists()                     # no profile, and certainly no plaintext key

    store.save(Profile("keyless", kind="compatible", base_url="http://localhost:1234/v1"))
    assert not store.has_key("keyless")
    assert store.api_key("keyless") is None            # a keyless local server works without a keyring
    store.delete("keyless")                            # nothing in a keyring to remove

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)       # the environment still works
    assert store.api_key(ENV_PROFILE_NAME) == SECRET
    assert store.client_kwargs(ENV_PROFILE_NAME)["api_key"] == SECRET


def test_unreachable_secret_service_is_an_error_not_a_fallback(store, monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.SecretService.Keyring())
    try:
        usable, why = keyring_status()
        assert not usable and "not reachable" in why
        with pytest.raises(KeyringUnavailable) as exc:
            store.save(Profile("work"), api_key=SECRET)
        assert SECRET not in str(exc.value) and exc.value.__cause__ is None
        assert not store.path.exists()
    finally:
        keyring.set_keyring(previous)


# --- profiles.json ------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"{not json", b'{"profiles": [{"name": "x", "kind": "weird"}]}',
                                     b'{"profiles": "nope"}', b"\xff\xfe"])
def test_corrupt_file_is_reported_and_left_alone(no_keyring, store, content):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)
    assert store.list() == []
    assert str(store.path) in store.load_error and "left unchanged" in store.load_error
    assert store.path.read_bytes() == content

    store.save(Profile("fresh", kind="compatible", base_url="http://localhost:1/v1"))
    assert [p.name for p in ProfileStore(store.path).list()] == ["fresh"]
    backups = list(store.path.parent.glob("profiles.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == content


def test_default_path_is_under_the_config_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path / "cfg"))
    assert ProfileStore().path == tmp_path / "cfg" / "profiles.json"


# --- test_connection over real HTTP -------------------------------------------------------------

def test_connection_lists_the_simulators_models(real_keyring, store):
    name = unique()
    with Simulator() as sim:
        store.save(Profile(name, base_url=sim.base_url, kind="compatible"), api_key=SECRET)
        models = test_connection(store, name)
        assert sim.request_count == 1
    assert "gpt-4o-mini" in models and models == sorted(models)
    store.delete(name)


def test_connection_sends_the_keyring_key(real_keyring, store):
    name = unique()
    with echoing_models_server(SECRET) as url:
        store.save(Profile(name, base_url=url, kind="compatible"), api_key=SECRET)
        assert test_connection(store, name) == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
    store.delete(name)


def test_connection_errors_carry_no_secret(real_keyring, store):
    refused = unique()
    store.save(Profile(refused, base_url=closed_port_url(), kind="compatible"), api_key=SECRET)
    with pytest.raises(ConnectionTestFailed) as exc:
        test_connection(store, refused, timeout=5)
    assert "connect" in str(exc.value).lower() and SECRET not in str(exc.value)

    wrong = unique()
    with echoing_models_server("sk-the-right-one") as url:
        store.save(Profile(wrong, base_url=url, kind="compatible"), api_key=SECRET)
        with pytest.raises(ConnectionTestFailed) as exc:
            test_connection(store, wrong)
    message = str(exc.value)
    assert message.startswith("HTTP 401") and SECRET not in message and SECRET[8:] not in message
    store.delete(refused)
    store.delete(wrong)


def test_monitor_profiles_imports_no_qt():
    code = "import sys, monitor.profiles; sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_connection_timeout_is_a_short_message(real_keyring, store):
    name = unique()
    with Simulator(SimulatorConfig(latency_ms=3000)) as sim:
        store.save(Profile(name, base_url=sim.base_url, kind="compatible"), api_key=SECRET)
        with pytest.raises(ConnectionTestFailed, match=r"^No answer within 0.5 s\.$"):
            test_connection(store, name, timeout=0.5)
    store.delete(name)


def test_compatible_profile_without_key_works_with_no_keyring(tmp_path):
    import keyring
    import keyring.backends.fail

    from monitor.profiles import KeyringUnavailable, Profile, ProfileStore

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        store = ProfileStore(tmp_path / "profiles.json")
        store.save(Profile(name="local", kind="compatible", base_url="http://127.0.0.1:11434/v1"))
        assert store.client_kwargs("local")["api_key"] == "not-needed"
        store.save(Profile(name="cloud", kind="openai"))
        with pytest.raises(KeyringUnavailable):
            store.client_kwargs("cloud")
    finally:
        keyring.set_keyring(previous)
