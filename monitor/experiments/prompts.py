"""The saved-prompt library: a name -> numbered versions, each with messages, variables, model, parameters,
tools and a note.  Stored in the store (tables prompts, prompt_versions); versions are never edited, a save
adds the next one.  `diff` shows what changed between two versions (difflib, unified)."""
from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..templates import find_variables


@dataclass
class PromptVersion:
    name: str
    version: int
    messages: list[dict]
    model: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    tools: list[dict] = field(default_factory=list)
    note: str = ""
    created: float = 0.0

    @property
    def variables(self) -> list[str]:
        """The {variables} of every message, in order of appearance."""
        out: list[str] = []
        for m in self.messages:
            for name in find_variables(str(m.get("content") or "")):
                if name not in out:
                    out.append(name)
        return out

    @property
    def system(self) -> str:
        """The first system (or developer) message, "" when there is none."""
        return next((str(m.get("content") or "") for m in self.messages if m.get("role") in ("system", "developer")), "")

    @property
    def user(self) -> str:
        """The last user message (the template), "" when there is none."""
        return next((str(m.get("content") or "") for m in reversed(self.messages) if m.get("role") == "user"), "")

    def attributes(self) -> dict[str, Any]:
        """What a call made from this version carries, so boards can group by it."""
        return {"prompt": self.name, "prompt_version": self.version}

    def body(self) -> dict[str, Any]:
        return {"messages": self.messages, "variables": self.variables, "model": self.model,
                "params": self.params, "tools": self.tools}


class PromptLibrary:
    def __init__(self, store: Any):
        self.store = store

    def names(self) -> list[str]:
        return [r[0] for r in self.store.conn.execute("SELECT name FROM prompts ORDER BY name COLLATE NOCASE")]

    def save(self, name: str, messages: list[dict], *, model: str = "", params: dict | None = None,
             tools: list | None = None, note: str = "", now: float | None = None) -> PromptVersion:
        """Add the next version of `name` (creating the prompt); returns it."""
        name = name.strip()
        if not name:
            raise ValueError("a saved prompt needs a name")
        if not messages or not all(isinstance(m, dict) and m.get("role") for m in messages):
            raise ValueError("a saved prompt needs at least one message with a role")
        now = time.time() if now is None else now
        v = PromptVersion(name, 0, [dict(m) for m in messages], model or "", dict(params or {}), list(tools or []),
                          note, now)
        with self.store.transaction() as conn:
            row = conn.execute("SELECT id FROM prompts WHERE name = ?", (name,)).fetchone()
            if row is None:
                pid = conn.execute("INSERT INTO prompts (name, created, updated) VALUES (?, ?, ?)",
                                   (name, now, now)).lastrowid
            else:
                pid = row[0]
                conn.execute("UPDATE prompts SET updated = ? WHERE id = ?", (now, pid))
            v.version = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM prompt_versions WHERE prompt_id = ?",
                                     (pid,)).fetchone()[0]
            conn.execute("INSERT INTO prompt_versions (prompt_id, version, body, note, created) VALUES (?, ?, ?, ?, ?)",
                         (pid, v.version, json.dumps(v.body(), ensure_ascii=False), note, now))
        return v

    def versions(self, name: str) -> list[PromptVersion]:
        rows = self.store.conn.execute(
            "SELECT v.version, v.body, v.note, v.created FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id "
            "WHERE p.name = ? ORDER BY v.version", (name,)).fetchall()
        return [self._version(name, *row) for row in rows]

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """A version (the latest when None); KeyError when there is no such prompt or version."""
        versions = self.versions(name)
        if not versions:
            raise KeyError(f"no saved prompt named {name!r}")
        if version is None:
            return versions[-1]
        for v in versions:
            if v.version == version:
                return v
        raise KeyError(f"{name!r} has no version {version} (it has 1–{versions[-1].version})")

    def delete(self, name: str) -> bool:
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM prompts WHERE name = ?", (name,)).rowcount > 0

    @staticmethod
    def _version(name: str, version: int, body: str, note: str, created: float) -> PromptVersion:
        data = json.loads(body)
        return PromptVersion(name, version, data.get("messages") or [], data.get("model") or "",
                             data.get("params") or {}, data.get("tools") or [], note or "", created)


def diff(old: PromptVersion, new: PromptVersion) -> str:
    """A unified diff of two versions as readable text (messages, model, parameters, tools, note)."""
    def lines(v: PromptVersion) -> list[str]:
        out = [f"model: {v.model}"]
        for m in v.messages:
            out.append(f"[{m.get('role')}]")
            out += str(m.get("content") or "").splitlines() or [""]
        out += [f"params: {json.dumps(v.params, sort_keys=True)}", f"tools: {json.dumps(v.tools, sort_keys=True)}",
                f"note: {v.note}"]
        return out

    return "\n".join(difflib.unified_diff(lines(old), lines(new), f"{old.name} v{old.version}",
                                          f"{new.name} v{new.version}", lineterm=""))



