"""The one place that knows what a secret looks like, and removes it from anything stored or exported.

Two kinds of rules:
- known secrets: every credential the client holds (its api_key, Authorization / api-key / token header
  values, default and per-call) is replaced wherever it appears, whatever its shape (Azure and vLLM keys
  have no `sk-` prefix);
- patterns, for when the secrets are unknown: OpenAI-style keys, `Bearer …`, JWTs, and values written
  after a credential name (`api-key: …`, `"api_key": "…"`).
Dict keys that name a credential (`api_key`, `authorization`, `extra_headers`, …) are dropped with their
value.  Secrets shorter than MIN_SECRET_LEN are not replaced: "ollama" is a placeholder, not a key, and
replacing it would mangle every output that mentions it.

Where: capture.finalize (writer thread) applies known secrets and patterns to what the server sent
(output, response_model, error) and known secrets and key names to request and attributes;
boards/export.py runs every exported record through scrub_record (patterns and key names); the app's and
profiles' error messages go through scrub().
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
MIN_SECRET_LEN = 8

# Dict keys (request parameters, attributes, exported fields) that hold credentials: dropped at any depth.
_KEY_NAMES = (r"api[-_]?key|authorization|proxy-authorization|(?:extra|default)?[-_]?headers|x-api-key|api-key|cookie|"
              r"set-cookie|password|secret|client[-_]?secret|bearer|access[-_]?token|refresh[-_]?token|id[-_]?token")
SECRET_KEY_NAMES = re.compile(rf"^(?:{_KEY_NAMES})$", re.I)
_KEY_IN_JSON = re.compile(rf'"(?:{_KEY_NAMES})": ')      # such a key in json.dumps text, lowered
# Header names whose values are credentials (Authorization, api-key, X-Auth-Token, Cookie, ...).
# Any "*key*" name counts: gateways use their own (Azure API Management's Ocp-Apim-Subscription-Key, x-goog-api-key).
SECRET_HEADER_NAMES = re.compile(r"auth|key|token|secret|cookie|password|credential|signature|subscription", re.I)

# (cues, pattern, replacement): a pattern only runs when one of its cues is in the text lowered and without
# "-" / "_" (a cue holding "-" is looked for in the text as it is).  Substring tests run in C; a regex
# alternation over every text costs ten times more.
_TOKEN = r"[A-Za-z0-9_\-.~+/=*]"
_SECRET_PATTERNS = (
    # an OpenAI-style key: sk-…, sk-proj-…
    (("sk-",), re.compile(r"\bsk-[A-Za-z0-9_\-*.]{3,}"), "sk-" + MASK),
    # a bearer credential as in an echoed Authorization header (a token has a digit: "bearer bonds" is prose)
    (("bearer",), re.compile(rf"\b([Bb]earer|BEARER)\s+(?={_TOKEN}*\d){_TOKEN}{{8,}}"), r"\1 " + MASK),
    # a JWT (Azure AD tokens, gateways)
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), MASK),
    # a value written after a credential name: `api-key: x`, `"api_key": "x"`, `Authorization: Basic x`
    (("apikey", "authorization", "accesstoken", "refreshtoken", "idtoken", "clientsecret"),
     re.compile(r"""(\b(?:x-)?api[-_]?key|\bauthorization|\b(?:access|refresh|id)[-_]?token|\bclient[-_]?secret)"""
                r"""(["']?\s*[:=]\s*["']?)((?:Bearer|Basic)\s+)?(?!(?:Bearer|Basic)\s)[^\s"',;}\[\]]{4,}""", re.I),
     r"\1\2\3" + MASK),
)
_CUES = tuple(cue for cues, _, _ in _SECRET_PATTERNS for cue in cues)
# The only characters whose lower() holds an ASCII letter (İ -> "i̇", the Kelvin sign -> "k"): a text
# without them keeps every cue it has when JSON-escaped (see covered_by_json).
_LOWERS_TO_ASCII = ("\u0130", "\u212a")
_ESCAPED_LOWERS_TO_ASCII = tuple(json.dumps(c)[1:-1] for c in _LOWERS_TO_ASCII)   # as json.dumps writes them


def _folded(text: str) -> str:
    return text.lower().replace("-", "").replace("_", "")


def _has(text: str, folded: str, cues: tuple) -> bool:
    for cue in cues:
        if cue in (text if "-" in cue else folded):
            return True
    return False


# Each cue with its rarest letter: a text without that letter (one memchr pass) cannot hold the cue, so most
# prose skips most scans.  (A scan per cue over every reply was a large part of the writer's cost per record.)
_RARITY = "zqxjkvbpygwfmuclhdrsnioate"
_TEXT_CUES = tuple(cue for cue in _CUES if "-" in cue)                 # looked for in the text as it is
_GUARDED_CUES = tuple((cue, min((c for c in cue if c in _RARITY), key=_RARITY.index, default=""))
                      for cue in _CUES if "-" not in cue)


def _has_cue(text: str, lowered: str) -> bool:
    """Exactly _has(text, _folded(text), _CUES), given text.lower()."""
    for cue in _TEXT_CUES:
        if cue in text:
            return True
    folded = lowered.replace("-", "").replace("_", "")
    for cue, guard in _GUARDED_CUES:
        if guard in folded and cue in folded:
            return True
    return False


def covered_by_json(text: str, escaped: str, json_text: str) -> bool:
    """Whether json_needs_scrub(json_text, s, patterns=True) being False proves needs_scrub(text, s) False:
    `escaped` (text as JSON escapes it) sits in json_text, and escaping removes no cue (it only rewrites
    quotes, backslashes, control and non-ASCII characters) nor a secret (escaping maps each character on its
    own, so an escaped secret sits in the escaped text).  Lets the writer scan a reply's text once."""
    if not text.isascii():
        for char in _LOWERS_TO_ASCII:
            if char in text:
                return False
    return escaped in json_text


def needs_scrub(text: str, secrets: Iterable[str] = ()) -> bool:
    """Whether scrub_text could change text."""
    return _has_cue(text, text.lower()) or _holds_secret(text, secrets)


def json_needs_scrub(text: str, secrets: Iterable[str] = (), *, patterns: bool = False) -> bool:
    """Whether json.dumps text holds a known secret (as JSON escapes it) or a credential-named key, and
    with `patterns` (text a server sent: the stored reply) anything shaped like a credential.
    (Patterns are not looked for in a request's own text at store time; exports apply them.)"""
    if _holds_secret(text, secrets):
        return True
    lowered = text.lower()
    if patterns and (_has_cue(text, lowered) or any(e in text for e in _ESCAPED_LOWERS_TO_ASCII)):
        return True         # (a JSON-escaped İ or Kelvin sign may hide a cue that lower() would reveal)
    return _KEY_IN_JSON.search(lowered) is not None    # (one regex pass: its literal '"' prefix is a fast scan)


def _holds_secret(text: str, secrets: Iterable[str]) -> bool:
    if not secrets:
        return False
    for form in _secret_forms(secrets if type(secrets) is tuple else tuple(secrets)):
        if form in text:
            return True
    return False


@functools.lru_cache(maxsize=256)
def _secret_forms(secrets: tuple) -> tuple[str, ...]:
    """Each secret, and also as JSON escapes it when that differs (a client's secrets repeat: worked out once)."""
    forms: list[str] = []
    for secret in secrets:
        forms.append(secret)
        if not (secret.isascii() and secret.isprintable() and '"' not in secret and "\\" not in secret):
            forms.append(json.dumps(secret)[1:-1])
    return tuple(forms)


def secrets_of_headers(headers: Any) -> tuple[str, ...]:
    """The credential values among headers (a dict or httpx.Headers): the whole value and, for
    'Bearer x', also x."""
    found: list[str] = []
    try:
        items = list(headers.items()) if headers is not None else []
    except Exception:
        return ()
    for name, value in items:
        name, value = _header_text(name), _header_text(value)      # httpx takes bytes names and values too
        if isinstance(name, str) and isinstance(value, str) and SECRET_HEADER_NAMES.search(name):
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token.strip())
    return tuple(found)


def _header_text(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("latin-1")       # what httpx does with non-UTF-8 header bytes
    return value


def secrets_of_client(client: Any) -> tuple[str, ...]:
    """Every credential an openai client holds: its api_key and credential-like default headers."""
    found: list[str] = []
    key = getattr(client, "api_key", None)
    if isinstance(key, str):
        found.append(key)
    for attr in ("default_headers", "auth_headers"):
        try:
            found.extend(secrets_of_headers(getattr(client, attr, None)))
        except Exception:
            pass
    return usable_secrets(found)


def usable_secrets(secrets: Iterable[Any]) -> tuple[str, ...]:
    """Distinct secrets long enough to replace safely, longest first (so a token inside its 'Bearer x'
    header value is not half-replaced)."""
    unique = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN}
    return tuple(sorted(unique, key=len, reverse=True))


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """text without the given secrets and without anything shaped like a credential."""
    if not needs_scrub(text, secrets):
        return text
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LEN and secret in text:
            text = text.replace(secret, MASK)
    folded = _folded(text)
    for cues, pattern, replacement in _SECRET_PATTERNS:
        if _has(text, folded, cues):
            text = pattern.sub(replacement, text)
    return text


def scrub(text: str, *secrets: str | None) -> str:
    """scrub_text with the secrets as arguments (the profiles' and the app's error messages)."""
    return scrub_text(text, usable_secrets(secrets))


def _scrub(value: Any, secrets: tuple, depth: int) -> Any:
    """A copy of nested dicts/lists (a record read back from a store: plain JSON, at most
    capture.MAX_STORED_DEPTH deep) without credential-named keys, every string scrubbed."""
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if not isinstance(value, (Mapping, list, tuple)):
        return value
    if depth > 100:
        return "<too deep>"                  # unscrubbed text must not leave; no store written now nests so
    if isinstance(value, Mapping):
        return {k: _scrub(v, secrets, depth + 1) for k, v in value.items()
                if not (isinstance(k, str) and SECRET_KEY_NAMES.match(k))}
    return [_scrub(v, secrets, depth + 1) for v in value]


def scrub_record(d: dict[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """A record as a dict (Record.to_dict()) with every text field scrubbed: used again at export, where
    the client's secrets are unknown and only the patterns apply."""
    secrets = tuple(secrets)
    return {k: _scrub(v, secrets, 0) if k in ("request", "attributes", "response") or isinstance(v, str) else v
            for k, v in d.items()}
