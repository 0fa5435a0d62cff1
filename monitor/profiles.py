"""Connection profiles: endpoints in profiles.json, API keys only in the OS keyring.

Headless on purpose (no Qt): the desktop app, the CLI and tests share it. profiles.json never
holds a secret; a missing keyring backend raises KeyringUnavailable instead of falling back to
plaintext, and no error text this module produces contains a key.
"""
from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .files import atomic_text_file
from .redact import scrub  # noqa: F401 - the one scrubber; the app imports it from here
from .paths import user_config_dir

SERVICE = "openai-monitor"
ENV_PROFILE_NAME = "Environment (OPENAI_API_KEY)"
DEMO_KEY = "sk-demo"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AZURE_API_VERSION = "2024-10-21"
KINDS = ("openai", "azure", "compatible", "env", "demo")
FILE_VERSION = 1


@dataclass
class Profile:
    name: str
    base_url: str | None = None          # None = OpenAI's default endpoint
    organization: str | None = None
    project: str | None = None
    default_model: str = DEFAULT_MODEL
    kind: str = "openai"                 # "openai" | "azure" | "compatible" | "env" | "demo"
    api_version: str | None = None       # azure only

    @property
    def read_only(self) -> bool:
        return self.kind == "env"


class KeyringUnavailable(Exception):
    """No usable OS keyring: the key can be neither stored nor read (and never goes to a file)."""


class MissingApiKey(ValueError):
    """The profile has no key stored."""


class ConnectionTestFailed(Exception):
    """test_connection failed; the message is short, user-facing and free of secrets."""


# --- keyring -----------------------------------------------------------------------------------

_FRIENDLY = {"SecretService": "Secret Service", "libsecret": "Secret Service (libsecret)",
             "kwallet": "KWallet", "macOS": "macOS Keychain", "Windows": "Windows Credential Locker"}


def _backend_id(backend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def keyring_backend_label(backend=None) -> str:
    """A short, human name for where keys go, e.g. "Secret Service"."""
    backend = backend or keyring.get_keyring()
    return _FRIENDLY.get(type(backend).__module__.rpartition(".")[2]) or backend.name


def _install_hint(backend_id: str, problem: str = "No OS keyring backend found") -> str:
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        # The usual cause over SSH, in containers and under sudo: gnome-keyring may be installed.
        problem += " and no D-Bus session bus is running (DBUS_SESSION_BUS_ADDRESS is unset)"
    return (f"{problem} (keyring backend: {backend_id}). Install and unlock a Secret Service provider "
            "(GNOME Keyring or KWallet) — on Debian/Ubuntu `sudo apt install gnome-keyring` — or set "
            "OPENAI_API_KEY in the environment. Keys are never stored in plain text.")


def _no_backend_reason(backend) -> str | None:
    """Cheap type check: why this backend can never hold a key, or None."""
    bid = _backend_id(backend)
    if isinstance(backend, (keyring.backends.fail.Keyring, keyring.backends.null.Keyring)):
        return _install_hint(bid)
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return _install_hint(bid)
    return None


def keyring_status() -> tuple[bool, str]:
    """(usable, explanation naming the backend). Probes the service, never reads a secret."""
    backend = keyring.get_keyring()
    reason = _no_backend_reason(backend)
    if reason:
        return False, reason
    try:
        backend.priority  # noqa: B018 -- SecretService's priority checks the daemon is reachable
    except Exception as exc:
        return False, _install_hint(_backend_id(backend), f"The OS keyring is not reachable: {exc}")
    return True, f"API keys are stored in {keyring_backend_label(backend)} (keyring backend: {_backend_id(backend)})."


def _usable_backend():
    backend = keyring.get_keyring()
    reason = _no_backend_reason(backend)
    if reason:
        raise KeyringUnavailable(reason)
    return backend


# Any failure inside the keyring stack (keyring, secretstorage, jeepney/dbus, OS errors) means
# "cannot use the keyring"; their classes differ per platform, so the boundary catches Exception.
def _keyring_get(name: str) -> str | None:
    backend = _usable_backend()
    try:
        return backend.get_password(SERVICE, name)
    except Exception as exc:
        raise KeyringUnavailable(f"Could not read the key of {name!r} from "
                                 f"{keyring_backend_label(backend)}: {type(exc).__name__}: {exc}") from exc


def _keyring_set(name: str, secret: str) -> None:
    backend = _usable_backend()
    try:
        backend.set_password(SERVICE, name, secret)
    except Exception as exc:
        # Not chained and scrubbed: a backend's error text could echo what it was given.
        raise KeyringUnavailable(f"Could not store the key of {name!r} in {keyring_backend_label(backend)}: "
                                 f"{type(exc).__name__}: {scrub(str(exc), secret)}") from None


def _keyring_delete(name: str) -> None:
    backend = keyring.get_keyring()
    if _no_backend_reason(backend):
        return  # nothing can have been stored there
    try:
        backend.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        pass  # no key stored for this profile
    except Exception as exc:
        raise KeyringUnavailable(f"Could not delete the key of {name!r} from "
                                 f"{keyring_backend_label(backend)}: {type(exc).__name__}: {exc}") from exc


_KEY_SHAPED = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")      # strict: a whole field that is a key


# --- profiles.json -----------------------------------------------------------------------------

class _ProfileModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    default_model: str = DEFAULT_MODEL
    kind: Literal["openai", "azure", "compatible", "demo"] = "openai"
    api_version: str | None = None


class _ProfilesFile(BaseModel):
    version: int = FILE_VERSION
    profiles: list[_ProfileModel] = []


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"


class ProfileStore:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else user_config_dir() / "profiles.json"
        self.load_error: str | None = None   # set when profiles.json exists but can't be read

    # reading
    def _load(self) -> list[Profile]:
        self.load_error = None
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.load_error = f"Could not read {self.path}: {exc.strerror or exc}."
            return []
        try:
            data = _ProfilesFile.model_validate_json(raw)
        except ValidationError as exc:
            # The file is left as it is: the user may want to repair it by hand.
            self.load_error = (f"{self.path} is not a valid profiles file ({_first_error(exc)}); "
                               "it was left unchanged and no saved profiles are loaded.")
            return []
        seen: dict[str, Profile] = {}
        for m in data.profiles:
            seen.setdefault(m.name, Profile(**m.model_dump()))
        return list(seen.values())

    def _env_profile(self) -> Profile | None:
        if not os.environ.get("OPENAI_API_KEY"):
            return None
        return Profile(ENV_PROFILE_NAME, base_url=os.environ.get("OPENAI_BASE_URL") or None,
                       organization=os.environ.get("OPENAI_ORG_ID") or None,
                       project=os.environ.get("OPENAI_PROJECT_ID") or None, kind="env")

    def list(self) -> list[Profile]:
        env = self._env_profile()
        return ([env] if env else []) + self._load()

    def get(self, name: str) -> Profile:
        for p in self.list():
            if p.name == name:
                return p
        raise KeyError(f"No profile named {name!r}")

    # writing
    def _write(self, profiles: list[Profile]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.load_error and self.path.exists():
            # Keep the unreadable file's content rather than silently replacing it.
            self.path.replace(self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}"))
        body = _ProfilesFile(profiles=[_ProfileModel(**asdict(p)) for p in profiles])
        with atomic_text_file(self.path, fsync=True) as f:
            f.write(body.model_dump_json(indent=2))
        self.load_error = None

    def _check_writable(self, profile: Profile, api_key: str | None) -> None:
        if profile.kind == "env" or profile.name == ENV_PROFILE_NAME:
            raise ValueError("The environment profile is read-only: change OPENAI_API_KEY / OPENAI_BASE_URL instead.")
        if not profile.name.strip():
            raise ValueError("A profile needs a name.")
        if profile.kind not in KINDS:
            raise ValueError(f"Unknown profile kind {profile.kind!r}.")
        for field in ("name", "base_url", "organization", "project", "default_model", "api_version"):
            value = getattr(profile, field) or ""
            if (api_key and len(api_key) >= 8 and api_key in value) or _KEY_SHAPED.fullmatch(value.strip()):
                raise ValueError(f"The {field.replace('_', ' ')} field looks like an API key; "
                                 "put the key in the API key field (it goes to the keyring).")

    def save(self, profile: Profile, api_key: str | None = None) -> None:
        """Add or replace `profile`; `api_key`, when given, goes to the keyring first so a
        keyring failure leaves profiles.json untouched."""
        self._check_writable(profile, api_key)
        if api_key:
            _keyring_set(profile.name, api_key)
        profiles = self._load()
        replaced = [profile if p.name == profile.name else p for p in profiles]
        self._write(replaced if any(p.name == profile.name for p in profiles) else profiles + [profile])

    def delete(self, name: str) -> None:
        if name == ENV_PROFILE_NAME:
            raise ValueError("The environment profile is read-only.")
        _keyring_delete(name)   # first: if the keyring fails, the profile stays for a retry
        self._write([p for p in self._load() if p.name != name])

    def rename(self, old: str, new: str) -> None:
        profiles = self._load()
        current = next((p for p in profiles if p.name == old), None)
        if current is None:
            raise KeyError(f"No profile named {old!r}")
        if new == old:
            return
        if any(p.name == new for p in self.list()):
            raise ValueError(f"A profile named {new!r} already exists.")
        moved = Profile(**{**asdict(current), "name": new})
        self._check_writable(moved, None)
        no_backend = _no_backend_reason(keyring.get_keyring())
        secret = None if no_backend else _keyring_get(old)
        if secret:
            _keyring_set(new, secret)
        self._write([moved if p.name == old else p for p in profiles])
        if secret:
            _keyring_delete(old)

    # keys
    def api_key(self, name: str) -> str | None:
        profile = self.get(name)
        if profile.kind == "env":
            return os.environ.get("OPENAI_API_KEY") or None
        if profile.kind == "demo":
            return DEMO_KEY
        try:
            return _keyring_get(name)
        except KeyringUnavailable:
            if profile.kind == "compatible":
                return None          # a local server (Ollama, vLLM) needs no key: no keyring, no problem
            raise

    def has_key(self, name: str) -> bool:
        try:
            return bool(self.api_key(name))
        except (KeyError, KeyringUnavailable):
            return False

    def client_kwargs(self, name: str) -> dict:
        """Keyword arguments for openai.OpenAI, or openai.AzureOpenAI when kind is "azure"."""
        p = self.get(name)
        key = self.api_key(name)
        if not key:
            if p.kind != "compatible":
                raise MissingApiKey(f"Profile {name!r} has no API key; enter one in Settings.")
            key = "not-needed"   # local servers ignore it, but the SDK insists on one
        if p.kind == "azure":
            if not p.base_url:
                raise ValueError(f"Profile {name!r} needs its Azure endpoint as base URL.")
            return {"api_key": key, "azure_endpoint": p.base_url,
                    "api_version": p.api_version or DEFAULT_AZURE_API_VERSION,
                    "organization": p.organization, "project": p.project}
        base_url = p.base_url
        if not base_url:
            if p.kind not in ("openai", "env"):
                raise ValueError(f"Profile {name!r} needs a base URL.")
            # Explicit, so a saved OpenAI key never follows an unrelated $OPENAI_BASE_URL.
            base_url = DEFAULT_BASE_URL
        return {"api_key": key, "base_url": base_url, "organization": p.organization, "project": p.project}


# --- using a profile ---------------------------------------------------------------------------

def make_client(store: ProfileStore, name: str, **options):
    """An openai.OpenAI (or AzureOpenAI) for the profile; options go to the constructor."""
    return _client(store.client_kwargs(name), **options)


def _client(kwargs: dict, **options):
    import openai

    cls = openai.AzureOpenAI if "azure_endpoint" in kwargs else openai.OpenAI
    return cls(**kwargs, **options)


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _status_message(exc) -> str:
    body = exc.body
    msg = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        msg = inner.get("message")
    return f"HTTP {exc.status_code}: {msg or exc.message}"


def test_connection(profile_store: ProfileStore, name: str, timeout: float = 10) -> list[str]:
    """Model ids the profile's endpoint lists. Raises ConnectionTestFailed with a short,
    secret-free message."""
    import openai

    key = None
    try:
        kwargs = profile_store.client_kwargs(name)
        key = kwargs["api_key"]
        with _client(kwargs, timeout=timeout, max_retries=0) as client:
            return sorted(m.id for m in client.models.list())
    except (KeyringUnavailable, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
    except openai.APITimeoutError:
        message = f"No answer within {timeout:g} s."
    except openai.APIConnectionError as exc:
        message = f"Could not connect: {_root_cause(exc)}"
    except openai.APIStatusError as exc:
        message = _status_message(exc)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
    raise ConnectionTestFailed(scrub(message, key)[:300]) from None


test_connection.__test__ = False   # keep pytest from collecting it when imported into a test module
