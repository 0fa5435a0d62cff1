"""Read one big JSON object member by member, and one of its array members item by item, in bounded memory.

A board file is `{…header…, "records": [ {…}, {…}, … ]}`; holding a 200 MB file as one Python object took
2.2 GB.  `members()` reads a text stream in chunks and uses the standard library's C scanner
(`JSONDecoder.raw_decode`) on each value, so memory is one chunk plus the largest single value.  Duplicate
keys, at any level, are errors (json.loads would silently keep the last one)."""
from __future__ import annotations

import json
import re
from typing import IO, Any, Callable, Iterator

_WS = re.compile(r"[ \t\n\r]*")
CHUNK_CHARS = 1 << 20
ARRAY = object()          # members(): "the array member starts here; its items follow"


class JsonStreamError(ValueError):
    """Not the JSON expected; `truncated` if the text ended before the value did."""

    def __init__(self, msg: str, line: int, col: int, truncated: bool = False):
        super().__init__(f"{msg} (line {line}, column {col})")
        self.msg, self.line, self.col, self.truncated = msg, line, col, truncated


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKey(k)
            seen.add(k)
    return d


class _Reader:
    def __init__(self, f: IO[str], parse_constant: Callable[[str], Any] | None, chunk: int):
        self.f, self.chunk = f, chunk
        self.buf, self.pos, self.eof = "", 0, False
        self.lines_before = 0            # newlines in text already dropped from buf
        self.decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=parse_constant)

    def fill(self, want: int | None = None) -> bool:
        if self.eof:
            return False
        if self.pos > len(self.buf) // 2:              # drop what was consumed
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos:], 0
        data = self.f.read(max(want or 0, self.chunk))
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def where(self, pos: int | None = None) -> tuple[int, int]:
        pos = self.pos if pos is None else pos
        line = self.lines_before + self.buf.count("\n", 0, pos) + 1
        return line, pos - self.buf.rfind("\n", 0, pos)

    def error(self, msg: str, pos: int | None = None, truncated: bool = False) -> JsonStreamError:
        return JsonStreamError(msg, *self.where(pos), truncated=truncated)

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, chars: str) -> str:
        ch = self.peek()
        if not ch:
            raise self.error(f"expected {' or '.join(repr(c) for c in chars)}", truncated=True)
        if ch not in chars:
            raise self.error(f"expected {' or '.join(repr(c) for c in chars)}, found {ch!r}")
        self.pos += 1
        return ch

    def value(self) -> Any:
        if not self.peek():
            raise self.error("expected a value", truncated=True)
        want = self.chunk
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Maybe the value goes on in the next chunk: read more (doubling, so a big value costs
                # linear time) and try again; at the end of the text it is an error for good.
                if self.fill(want):
                    want *= 2
                    continue
                truncated = exc.pos >= len(self.buf.rstrip()) - 1
                raise self.error(exc.msg, exc.pos, truncated) from None
            except DuplicateKey as exc:
                raise self.error(f"duplicate key {str(exc)[:60]!r}") from None
            if end == len(self.buf) and self.fill(want):   # a number cut at the chunk's end: read on
                want *= 2
                continue
            self.pos = end
            return value


def members(f: IO[str], array_key: str, parse_constant: Callable[[str], Any] | None = None,
            chunk: int = CHUNK_CHARS) -> Iterator[tuple[str, Any]]:
    """Yield (key, value) for each member of the top-level object, except that the member `array_key`,
    when it holds an array, yields (array_key, ARRAY) and then (None, item) once per item.
    Raises JsonStreamError (duplicate keys, bad syntax, text after the object) or what parse_constant raises."""
    r = _Reader(f, parse_constant, chunk)
    r.expect("{")
    seen: set[str] = set()
    if r.peek() == "}":
        r.pos += 1
    else:
        while True:
            if r.peek() != '"':
                raise r.error("expected a key in double quotes", truncated=not r.peek())
            key_pos = r.pos
            key = r.value()
            if key in seen:
                raise r.error(f"duplicate key {key[:60]!r}", key_pos)
            seen.add(key)
            r.expect(":")
            if key == array_key and r.peek() == "[":
                r.pos += 1
                yield key, ARRAY
                if r.peek() == "]":
                    r.pos += 1
                else:
                    while True:
                        yield None, r.value()
                        if r.expect(",]") == "]":
                            break
            else:
                yield key, r.value()
            if r.expect(",}") == "}":
                break
    if r.peek():
        raise r.error("unexpected text after the end of the object")
