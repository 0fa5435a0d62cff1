"""Reply text and token counting for the built-in simulator (monitor/simulator.py).

Token counts come from monitor/tokens.py, which only loads tiktoken encodings already in its cache, so
the simulator never blocks on a download offline; without them counts are estimates (len(text)/4).
"""
from __future__ import annotations

import json
import random
import re
from typing import Any

from . import tokens

# --- token counting: the same loader and cookbook formula the monitor uses (monitor/tokens.py) ------

IMAGE_TOKENS = 85  # a low-detail image


def get_encoding(model: str):
    """The tiktoken encoding for the model, or None when its file is not cached (never downloads)."""
    return tokens.encoding_for(model)


def encode(text: str, model: str) -> list[int]:
    enc = get_encoding(model)
    if enc is not None:
        return enc.encode(text, disallowed_special=())
    # Fallback "tokens": 4-character slices, so prefix caching and truncation still behave.
    return [hash(text[i:i + 4]) for i in range(0, len(text), 4)]


def count(text: str, model: str) -> int:
    return tokens.count_text(model, text).tokens if text else 0


def truncate(text: str, n: int, model: str) -> str:
    """The first n tokens of text."""
    enc = get_encoding(model)
    if enc is not None:
        return enc.decode(enc.encode(text, disallowed_special=())[:max(0, n)])
    return text[:max(0, n) * 4]


def content_text(content: Any) -> tuple[str, int]:
    """(text, extra image tokens) of a message content: a string or a list of parts."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts, extra = [], 0
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") in ("image_url", "input_image", "image"):
                    extra += IMAGE_TOKENS
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts), extra
    return json.dumps(content), 0


def chat_prompt_tokens(messages: list, model: str, tools: Any = None) -> int:
    """The OpenAI cookbook formula (3 per message + field tokens, +1 per name, +3 reply priming)."""
    return tokens.count_chat_prompt(model, [m for m in messages if isinstance(m, dict)], tools=tools).tokens


# --- reply text -----------------------------------------------------------------------------------

_SENTENCES = (
    "That is a great question, and the short answer is that it depends on your constraints.",
    "In most cases the simplest approach works best: start small, measure, then iterate.",
    "Here is how I would think about it.",
    "First, make sure the inputs are well defined and that you know what a good result looks like.",
    "Second, keep an eye on latency and cost, because both grow with the length of the prompt.",
    "Caching repeated prefixes of long prompts can cut cost and time to first token noticeably.",
    "A common pitfall is to optimise too early, before you have real traffic to look at.",
    "Logging every call with its token usage makes it much easier to spot regressions.",
    "If the answer needs to be exact, ask the model to show its reasoning step by step.",
    "Shorter prompts are usually cheaper, but clear instructions matter more than brevity.",
    "You can compare models side by side on the same prompts to see which one fits your budget.",
    "Streaming the response lets users see the first words almost immediately.",
    "Rate limits are easier to live with when requests are retried with exponential backoff.",
    "For structured output, describe the schema you expect and validate what comes back.",
    "Temperature controls how adventurous the wording is; lower values are more predictable.",
    "Overall, the best results come from a tight loop of trying, measuring and adjusting.",
    "Let me know if you would like a more detailed walkthrough or a code example.",
    "The sky looks blue because air scatters short wavelengths of sunlight more than long ones.",
    "Python's standard library covers a surprising amount of ground before you need a dependency.",
    "Good names and small functions do more for readability than clever tricks.",
)
_BULLETS = (
    "Define the goal and how you will measure success",
    "Collect a small, representative set of examples",
    "Start with the simplest prompt that could work",
    "Track cost, latency and errors for every call",
    "Compare variants on the same inputs",
    "Keep what helps and drop what does not",
    "Document the decisions for your teammates",
)
_ROBOT = ("Beep bloop!", "Bloop beep boop.", "Beep beep, bloop.", "Whirr... beep bloop.", "Boop!")
_POEM = (
    "Tokens drift like autumn leaves,\nEach one counted, none deceives.",
    "Silent servers hum at night,\nStreaming words in pale blue light.",
    "A prompt goes out, an answer flows,\nThe latency chart gently grows.",
)
_ARITH = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/x×÷]|plus|minus|times|divided by)\s*(-?\d+(?:\.\d+)?)", re.I)
_OPS = {"+": "+", "plus": "+", "-": "-", "minus": "-", "*": "*", "x": "*", "×": "*", "times": "*",
        "/": "/", "÷": "/", "divided by": "/"}


def _arith(prompt: str) -> str | None:
    m = _ARITH.search(prompt)
    if not m:
        return None
    a, b, op = float(m.group(1)), float(m.group(3)), _OPS[m.group(2).lower()]
    if op == "/" and b == 0:
        return "Division by zero is undefined, so there is no answer to that one."
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]
    shown = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return f"{m.group(1)} {op} {m.group(3)} = {shown}. The answer is {shown}."


def make_reply(prompt: str, rng: random.Random) -> str:
    """A plausible reply (roughly 20-120 tokens) to the last user text."""
    p = prompt.lower()
    if "robot" in p:
        return " ".join(rng.choice(_ROBOT) for _ in range(rng.randint(3, 8)))
    answer = _arith(prompt)
    if answer:
        return answer
    if any(w in p for w in ("bullet", "list ", "steps", "checklist")):
        items = rng.sample(_BULLETS, rng.randint(3, 6))
        return "Here you go:\n" + "\n".join(f"- {item}" for item in items)
    if any(w in p for w in ("poem", "haiku", "rhyme")):
        return rng.choice(_POEM)
    if re.match(r"\s*(hi|hello|hey)\b", p):
        return "Hello! How can I help you today? " + rng.choice(_SENTENCES)
    if "summar" in p or "tl;dr" in p:
        return "In short: " + " ".join(rng.sample(_SENTENCES, 2))
    return " ".join(rng.sample(_SENTENCES, rng.randint(2, 6)))


def _fill_schema(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value matching a (simple) JSON schema, for response_format json_schema."""
    if not isinstance(schema, dict) or depth > 6:
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _fill_schema(schema[key][0], rng, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {k: _fill_schema(v, rng, depth + 1) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_fill_schema(schema.get("items") or {"type": "string"}, rng, depth + 1)]
    if kind == "integer":
        return rng.randint(1, 100)
    if kind == "number":
        return round(rng.random() * 100, 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return rng.choice(_SENTENCES)


def make_json_reply(prompt: str, rng: random.Random, schema: Any = None) -> str:
    """Valid JSON text: filled from the schema when there is one, else a small answer object."""
    if schema is not None:
        return json.dumps(_fill_schema(schema, rng))
    return json.dumps({"answer": make_reply(prompt, rng), "confidence": round(0.5 + rng.random() / 2, 2)})


# --- the judge ------------------------------------------------------------------------------------
# A request is a judge's when its last user message holds "RUBRIC:" and the graded text between <output>
# and </output> (the shape monitor/experiments/scorers.judge_messages sends). The verdict is a rule, so
# tests can predict it: the phrases the rubric puts in double quotes must all appear in the output
# (case-insensitive). PASS/FAIL: PASS when all appear (or the rubric quotes nothing). A 1–5 score (the
# system message asks for one "1 to 5"): 1 + 4 × the share of quoted phrases found, rounded; 5 when nothing is quoted.
_JUDGED = re.compile(r"<output>\n?(.*?)\n?</output>", re.S)
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")


def judge_reply(messages: Any) -> str | None:
    """The simulated judge's reply to a judge prompt, else None (not a judge request)."""
    if not isinstance(messages, list):
        return None
    system = " ".join(content_text(m.get("content"))[0] for m in messages
                      if isinstance(m, dict) and m.get("role") in ("system", "developer"))
    last = next((content_text(m.get("content"))[0] for m in reversed(messages)
                 if isinstance(m, dict) and m.get("role") == "user"), "")
    graded = _JUDGED.search(last)
    if "RUBRIC:" not in last or graded is None:
        return None
    rubric = last.split("RUBRIC:", 1)[1].split("\n\nPROMPT:", 1)[0]
    output = graded.group(1).lower()
    phrases = [a or b for a, b in _QUOTED.findall(rubric)]
    found = [p for p in phrases if p.lower() in output]
    missing = [p for p in phrases if p.lower() not in output]
    if not phrases:
        reason = "The output meets the rubric."
    elif missing:
        reason = "The output is missing " + ", ".join(f'"{p}"' for p in missing) + "."
    else:
        reason = "The output includes " + ", ".join(f'"{p}"' for p in found) + "."
    if "1 to 5" in system:
        score = 5 if not phrases else 1 + round(4 * len(found) / len(phrases))
        return f"{score}\n{reason}"
    return f"{'FAIL' if missing else 'PASS'}\n{reason}"
