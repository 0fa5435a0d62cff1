"""Scores of an experiment cell: the contract's asserts, and an LLM judge.

Every assert gives a Score (value 1.0/0.0, passed, a reason in words). A judge asks a model to grade the
output against a rubric — PASS/FAIL, or a score from 1 to 5 that passes at `min_score` — through the same
instrumented client as the experiment, so its calls are logged (attribute `judge: true`) and priced.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import pricing

SOURCES = ("assert", "judge", "human")
JUDGE_SCALES = ("pass_fail", "score")
_SCORE_RUBRIC = re.compile(r"\b1\s*(?:-|–|to)\s*5\b")


@dataclass
class Score:
    name: str                  # the assert's label, or "human"
    value: float | None        # 1.0 / 0.0 for asserts, 1–5 for a scored judge or a human rating
    passed: bool
    reason: str = ""
    source: str = "assert"     # "assert" | "judge" | "human"

    def to_json(self) -> dict:
        return {"pass": self.passed, "score": self.value, "reason": self.reason}


def assert_label(a: dict) -> str:
    """The name a score is stored and shown under, e.g. "contains: limit" (or the assert's own label)."""
    if a.get("label"):
        return str(a["label"])
    kind = a["type"]
    if kind == "judge":
        rubric = " ".join(str(a.get("rubric", "")).split())
        return f"judge: {rubric[:40]}{'…' if len(rubric) > 40 else ''}"
    if kind in ("is_json",):
        return kind
    if kind == "json_schema":
        return "json_schema"
    value = a.get("value")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{kind}: {value}"


def unique_labels(asserts: Sequence[dict]) -> list[str]:
    """Labels of the asserts, made unique with " #2", " #3" suffixes."""
    seen: dict[str, int] = {}
    out = []
    for a in asserts:
        label = assert_label(a)
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def judge_scale(a: dict) -> str:
    """pass_fail unless the assert says "score" or its rubric asks for a 1–5 score."""
    scale = a.get("scale")
    if scale in JUDGE_SCALES:
        return scale
    return "score" if _SCORE_RUBRIC.search(str(a.get("rubric", ""))) else "pass_fail"


# -- asserts -----------------------------------------------------------------------------------------

def check(a: dict, output: str, latency_ms: float | None, cost_usd: float | None) -> tuple[bool, str]:
    """(passed, reason) of one non-judge assert on a successful call's output."""
    kind, value = a["type"], a.get("value")
    if kind == "contains":
        ok = str(value) in output
        return ok, f"{'contains' if ok else 'does not contain'} {str(value)!r}"
    if kind == "not_contains":
        ok = str(value) not in output
        return ok, f"{'does not contain' if ok else 'contains'} {str(value)!r}"
    if kind == "equals":
        ok = output.strip() == str(value).strip()
        return ok, "equals the expected text" if ok else "differs from the expected text"
    if kind == "regex":
        found = re.search(str(value), output)
        return bool(found), f"matches /{value}/" if found else f"no match for /{value}/"
    if kind in ("is_json", "json_schema"):
        try:
            data = json.loads(output)
        except ValueError as exc:
            return False, f"not JSON: {exc}"
        if kind == "is_json":
            return True, "valid JSON"
        import jsonschema

        try:
            jsonschema.validate(data, value)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
            return False, f"schema: {exc.message} at {where}"
        except jsonschema.SchemaError as exc:
            return False, f"the schema itself is invalid: {exc.message}"
        return True, "matches the schema"
    if kind == "max_latency_ms":
        if latency_ms is None:
            return False, "no latency measured"
        ok = latency_ms <= float(value)
        return ok, f"{latency_ms:,.0f} ms {'≤' if ok else '>'} {float(value):,.0f} ms"
    if kind == "max_cost_usd":
        if cost_usd is None:
            return False, "the model has no known price"
        ok = cost_usd <= float(value)
        return ok, f"${cost_usd:.6f} {'≤' if ok else '>'} ${float(value):.6f}"
    raise ValueError(f"unknown assert type {kind!r}")


# -- judge -------------------------------------------------------------------------------------------

def judge_messages(a: dict, prompt_messages: list[dict], output: str) -> list[dict]:
    """The judge's prompt. The simulator recognises its shape (see monitor/sim_text.judge_reply)."""
    if judge_scale(a) == "score":
        verdict = "On the first line write only a score from 1 to 5 (5 = fully meets the rubric)"
    else:
        verdict = "On the first line write only PASS or FAIL"
    system = (f"You are a strict evaluator. Judge the OUTPUT against the RUBRIC. {verdict}; "
              "on the next line, one sentence with your reason.")
    prompt = "\n".join(f"{m['role']}: {m['content']}" for m in prompt_messages)
    user = (f"RUBRIC:\n{a.get('rubric', '')}\n\nPROMPT:\n<prompt>\n{prompt}\n</prompt>\n\n"
            f"OUTPUT:\n<output>\n{output}\n</output>")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_VERDICT = re.compile(r"\b(PASS|FAIL)\b", re.I)
_DIGIT = re.compile(r"\b([1-5])\b")


def parse_verdict(text: str, scale: str, min_score: float) -> tuple[float | None, bool, str]:
    """(value, passed, reason) from a judge's reply; an unreadable reply fails and says so."""
    text = (text or "").strip()
    first, _, rest = text.partition("\n")
    reason = " ".join((rest or first).split())[:500]
    if scale == "score":
        found = _DIGIT.search(first) or _DIGIT.search(text)
        if not found:
            return None, False, f"the judge gave no 1–5 score: {text[:120]!r}"
        value = float(found.group(1))
        return value, value >= min_score, reason
    found = _VERDICT.search(first) or _VERDICT.search(text)
    if not found:
        return None, False, f"the judge said neither PASS nor FAIL: {text[:120]!r}"
    passed = found.group(1).upper() == "PASS"
    return (1.0 if passed else 0.0), passed, reason


def judge(client: Any, a: dict, call: Any, output: str, extra: dict | None = None,
          describe_error: Callable[[BaseException], str] = str) -> tuple[Score, float]:
    """Ask the judge model; returns its Score and the judge call's cost (0 when unknown)."""
    label = a.get("_label") or assert_label(a)
    scale = judge_scale(a)
    model = a.get("model") or call.model
    attributes = {"judge": True, "experiment": call.attributes.get("experiment"), "model": model,
                  "judged": label, "judged_model": call.model}
    from .runner import REASONING_PREFIXES

    steady = {} if model.lower().rsplit("/", 1)[-1].startswith(REASONING_PREFIXES) else {"temperature": 0}
    try:
        response = client.chat.completions.create(
            model=model, messages=judge_messages(a, call.messages, output), monitor_attributes=attributes,
            **steady, **(extra or {}))
    except Exception as exc:  # noqa: BLE001 - a failed judge fails the score, it never stops the run
        return Score(label, None, False, f"the judge call failed: {describe_error(exc)}", "judge"), 0.0
    usage = getattr(response, "usage", None)
    cost = pricing.cost_usd(getattr(response, "model", None) or model, getattr(usage, "prompt_tokens", None),
                            getattr(usage, "completion_tokens", None)) or 0.0
    text = response.choices[0].message.content if response.choices else ""
    value, passed, reason = parse_verdict(text or "", scale, float(a.get("min_score") or 4))
    return Score(label, value, passed, reason, "judge"), cost


def score_all(client: Any, call: Any, result: Any, asserts: Sequence[dict], extra: dict | None = None,
              describe_error: Callable[[BaseException], str] = str) -> tuple[dict[str, Score], float]:
    """Every assert on one cell: {label: Score} and what its judges cost. A failed call fails them all."""
    scores: dict[str, Score] = {}
    judge_cost = 0.0
    for label, a in zip(unique_labels(asserts), asserts):
        source = "judge" if a["type"] == "judge" else "assert"
        if result.status != "success":
            scores[label] = Score(label, 0.0, False, f"the call failed: {result.error or result.status}", source)
        elif source == "judge":
            scores[label], cost = judge(client, {**a, "_label": label}, call, result.output, extra, describe_error)
            judge_cost += cost
        else:
            passed, reason = check(a, result.output, result.latency_ms, result.cost_usd)
            scores[label] = Score(label, 1.0 if passed else 0.0, passed, reason, source)
    return scores, judge_cost
