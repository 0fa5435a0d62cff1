"""The price table and the billing rule (shared/pricing-facts.md)."""
from __future__ import annotations

import json
import re
import threading

import pytest

from monitor import pricing
from monitor.pricing import Price, PriceFileError, PriceTable, load_price_file
from monitor.paths import resource_path


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load(user_file=None)  # built-ins only: independent of the machine's config


def approx(x: float):
    return pytest.approx(x, rel=1e-12, abs=0)


# ---- the built-in file ----------------------------------------------------------------------------

def test_builtin_file_is_valid_and_dated(table):
    raw = json.loads(resource_path("prices.json").read_text())
    assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", raw["as_of"])
    assert raw["currency"] == "USD" and raw["unit"] == "per_1m_tokens"
    assert table.as_of == raw["as_of"]
    assert table.warnings == []
    load_price_file(resource_path("prices.json"), builtin=True)  # schema-valid


@pytest.mark.parametrize("model,inp,cached,out", [
    ("gpt-3.5-turbo", 0.50, None, 1.50), ("gpt-3.5-turbo-0125", 0.50, None, 1.50),
    ("gpt-3.5-turbo-0613", 1.50, None, 2.00), ("gpt-3.5-turbo-1106", 1.00, None, 2.00),
    ("gpt-3.5-turbo-16k-0613", 3.00, None, 4.00), ("gpt-3.5-turbo-instruct", 1.50, None, 2.00),
    ("gpt-4", 30.0, None, 60.0), ("gpt-4-0613", 30.0, None, 60.0), ("gpt-4-32k", 60.0, None, 120.0),
    ("gpt-4-turbo", 10.0, None, 30.0), ("gpt-4-turbo-2024-04-09", 10.0, None, 30.0),
    ("gpt-4o", 2.50, 1.25, 10.0), ("gpt-4o-2024-08-06", 2.50, 1.25, 10.0),
    ("gpt-4o-2024-11-20", 2.50, 1.25, 10.0), ("gpt-4o-2024-05-13", 5.0, None, 15.0),
    ("gpt-4o-mini", 0.15, 0.075, 0.60), ("gpt-4o-mini-2024-07-18", 0.15, 0.075, 0.60),
    ("gpt-4.1", 2.0, 0.5, 8.0), ("gpt-4.1-mini", 0.4, 0.1, 1.6), ("gpt-4.1-nano", 0.1, 0.025, 0.4),
    ("o1", 15.0, 7.5, 60.0), ("o1-mini", 1.10, 0.55, 4.40), ("o3", 2.0, 0.5, 8.0),
    ("o3-mini", 1.10, 0.55, 4.40), ("o4-mini", 1.10, 0.275, 4.40),
    ("gpt-5", 1.25, 0.125, 10.0), ("gpt-5-mini", 0.25, 0.025, 2.0), ("gpt-5-nano", 0.05, 0.005, 0.40),
    ("text-embedding-3-small", 0.02, None, None), ("text-embedding-3-large", 0.13, None, None),
    ("text-embedding-ada-002", 0.10, None, None),
    ("ft:gpt-4o-mini-2024-07-18", 0.30, 0.15, 1.20),
])
def test_every_model_in_the_facts(table, model, inp, cached, out):
    p = table.price_for(model)
    assert p is not None, model
    assert (p.input, p.cached_input, p.output) == (inp, cached, out)


def test_ft_entry_carries_a_note():
    raw = json.loads(resource_path("prices.json").read_text())
    assert "disagree" in raw["models"]["ft:gpt-4o-mini-2024-07-18"]["note"]


def test_models_lists_canonical_names_only(table):
    names = table.models()
    assert "gpt-4o" in names and "gpt-4o-2024-05-13" in names and "text-embedding-3-small" in names
    assert "gpt-4o-2024-08-06" not in names  # a snapshot, not an entry
    assert not any(n.startswith("ft:") for n in names)
    assert len(names) == len(set(names))


# ---- billing --------------------------------------------------------------------------------------

def test_plain_call(table):
    assert table.cost_usd("gpt-4o", 1000, 500) == approx(1000 * 2.5e-6 + 500 * 10e-6)


def test_cached_tokens_are_part_of_the_prompt(table):
    assert table.cost_usd("gpt-4o", 1000, 500, cached_tokens=400) == approx(
        600 * 2.5e-6 + 400 * 1.25e-6 + 500 * 10e-6)


def test_cached_tokens_without_a_cached_price_cost_the_input_price(table):
    assert table.cost_usd("gpt-4", 1000, 100, cached_tokens=400) == approx(1000 * 30e-6 + 100 * 60e-6)


def test_cached_tokens_never_exceed_the_prompt(table):
    assert table.cost_usd("gpt-4o", 100, 0, cached_tokens=500) == approx(100 * 1.25e-6)


def test_reasoning_tokens_are_not_billed_twice(table):
    # o3-mini: 2000 completion tokens of which 1500 are reasoning -> 2000 x output, not 3500
    expected = 300 * 1.10e-6 + 2000 * 4.40e-6
    assert table.cost_usd("o3-mini", 300, 2000, reasoning_tokens=1500) == approx(expected)
    assert table.cost_usd("o3-mini", 300, 2000) == table.cost_usd("o3-mini", 300, 2000, 0, 1500)


def test_embeddings_bill_input_only(table):
    assert table.cost_usd("text-embedding-3-small", 10_000, 0) == approx(10_000 * 0.02e-6)
    assert table.cost_usd("text-embedding-3-large", 1000, None) == approx(1000 * 0.13e-6)


def test_unknown_counts(table):
    assert table.cost_usd("gpt-4o", None, 500) is None          # no prompt count: unknown, not 0
    assert table.cost_usd("gpt-4o", 1000, None) == approx(1000 * 2.5e-6)
    assert table.cost_usd("gpt-4o", 1000, 500, None, None) == approx(1000 * 2.5e-6 + 500 * 10e-6)


def test_unknown_model_costs_none_not_zero(table):
    assert table.price_for("my-local-llama") is None
    assert table.cost_usd("my-local-llama", 1000, 500) is None
    assert table.cost_usd(None, 1000, 500) is None
    assert table.price_for("") is None


def test_module_level_cost_uses_the_default_table(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path))  # no user file
    pricing.reload_default_table()
    try:
        assert pricing.cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == approx(0.15 + 0.60)
        assert pricing.default_table() is pricing.default_table()
    finally:
        pricing.reload_default_table()


def test_default_table_is_loaded_once_across_threads(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path))
    pricing.reload_default_table()
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(pricing.default_table())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(t) for t in seen}) == 1
    pricing.reload_default_table()


# ---- name resolution ------------------------------------------------------------------------------

@pytest.mark.parametrize("model,expected", [
    ("GPT-4o", "gpt-4o"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4o-2025-03-01", "gpt-4o"),                 # an unlisted dated snapshot -> its base
    ("gpt-4-0613", "gpt-4"),
    ("gpt-4-0314", "gpt-4"),                         # -MMDD form
    ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
    ("o3-mini-2025-01-31", "o3-mini"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),      # a listed snapshot keeps its own price
])
def test_snapshot_resolution(table, model, expected):
    assert table.price_for(model).model == expected


@pytest.mark.parametrize("model,expected", [
    ("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4o-mini-2099-01-01", "gpt-4o-mini"),
    ("gpt-4.1-nano", "gpt-4.1-nano"), ("gpt-4.1-mini", "gpt-4.1-mini"),
    ("o3-mini", "o3-mini"), ("o1-mini", "o1-mini"), ("gpt-5-nano", "gpt-5-nano"),
    ("gpt-4-turbo", "gpt-4-turbo"), ("gpt-4-32k", "gpt-4-32k"),
])
def test_never_resolves_to_a_shorter_sibling(table, model, expected):
    assert table.price_for(model).model == expected


@pytest.mark.parametrize("model", [
    "gpt-4o-mini-realtime-preview", "gpt-4o-audio-preview", "gpt-4-turbo-preview", "gpt-4.1-nano-x",
    "o3-pro", "o3-mini-high", "gpt-4o-search", "gpt-4-vision",
    "openai/gpt-4o", "azure/gpt-4o", "my-gpt4o-deployment", "gpt-4o-prod",
])
def test_no_prefix_guessing(model):
    # the built-in table alone (as on Python 3.10, without genai-prices) never guesses from a prefix
    assert PriceTable.load(user_file=None, maintained=False).price_for(model) is None


def test_fine_tuned_models_only_from_ft_entries():
    table = PriceTable.load(user_file=None, maintained=False)   # the built-in rule (maintained: its own test)
    p = table.price_for("ft:gpt-4o-mini-2024-07-18:my-org::abc123")
    assert p == Price("ft:gpt-4o-mini-2024-07-18", 0.30, 0.15, 1.20)
    assert table.cost_usd("ft:gpt-4o-mini-2024-07-18:my-org:custom:abc", 1000, 100, 200) == approx(
        800 * 0.30e-6 + 200 * 0.15e-6 + 100 * 1.20e-6)
    # no ft: entry for these bases: unknown, never the base model's price
    assert table.price_for("ft:gpt-4o-2024-08-06:my-org::xyz") is None
    assert table.price_for("ft:gpt-3.5-turbo-0125:my-org::xyz") is None
    assert table.cost_usd("ft:gpt-4o-2024-08-06:my-org::xyz", 1000, 100) is None


def test_ft_undated_entry_matches(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"models": {"ft:gpt-4.1-mini": {"input": 0.8, "cached_input": 0.2, "output": 3.2}}}))
    t = PriceTable.load(user_file=f)
    assert t.price_for("ft:gpt-4.1-mini-2025-04-14:org::id").model == "ft:gpt-4.1-mini"
    assert t.price_for("gpt-4.1-mini").model == "gpt-4.1-mini"  # the base keeps its own price


# ---- the user's file ------------------------------------------------------------------------------

def test_user_file_overrides_and_adds(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({
        "models": {
            "gpt-4o": {"input": 2.0, "cached_input": 1.0, "output": 8.0},
            "my-vllm-model": {"input": 0.0, "output": 0.0, "aliases": ["llama-3-8b"]},
            "ft:gpt-4o-mini-2024-07-18:my-org::abc": {"input": 0.5, "output": 2.0},
        }
    }))
    t = PriceTable.load(user_file=f)
    assert t.warnings == []
    assert t.price_for("gpt-4o") == Price("gpt-4o", 2.0, 1.0, 8.0)
    assert t.price_for("gpt-4o-2024-08-06").input == 2.0      # snapshots follow the override
    assert t.price_for("gpt-4o-2024-05-13").input == 5.0      # its own entry: untouched
    assert t.price_for("gpt-4o-mini").input == 0.15           # other built-ins untouched
    assert t.cost_usd("LLAMA-3-8B", 1000, 1000) == 0.0         # a known price of 0 is a real 0
    assert "my-vllm-model" in t.models()
    assert t.models().count("gpt-4o") == 1
    assert t.price_for("ft:gpt-4o-mini-2024-07-18:my-org::abc").input == 0.5   # exact user entry wins
    assert t.price_for("ft:gpt-4o-mini-2024-07-18:my-org::other").input == 0.30  # built-in ft entry
    assert t.as_of == PriceTable.load(user_file=None).as_of


def test_user_exact_name_beats_builtin_snapshot(tmp_path):
    f = tmp_path / "prices.json"
    f.write_text(json.dumps({"models": {"gpt-4o-2024-08-06": {"input": 9, "output": 9}}}))
    t = PriceTable.load(user_file=f)
    assert t.price_for("gpt-4o-2024-08-06").input == 9
    assert t.price_for("gpt-4o").input == 2.5


def test_default_user_file_location(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_MONITOR_CONFIG_DIR", str(tmp_path))
    (tmp_path / "prices.json").write_text(json.dumps({"models": {"house-model": {"input": 1, "output": 2}}}))
    assert PriceTable.load().price_for("house-model") == Price("house-model", 1.0, None, 2.0)


def test_missing_user_file_is_fine(tmp_path):
    t = PriceTable.load(user_file=tmp_path / "nope.json")
    assert t.warnings == [] and t.price_for("gpt-4o") is not None


@pytest.mark.parametrize("content,problem", [
    ("{not json", "not valid JSON"),
    ('{"models": {"gpt-4o": {"input": "cheap", "output": 1}}}', "models.gpt-4o.input"),
    ('{"models": {"gpt-4o": {"input": -1, "output": 1}}}', "greater than or equal to 0"),
    ('{"models": {"gpt-4o": {"input": 1, "ouput": 1}}}', "ouput"),
    ('{"models": {"gpt-4o": {"output": 1}}}', "models.gpt-4o.input: Field required"),
    ('{"models": {"gpt-4o": {"input": 1}}}', "models.gpt-4o.output: Field required"),
    ('{"models": {"gpt-4o": {"input": "2.5", "output": 1}}}', "valid number"),
    ('{"currency": "EUR", "models": {}}', "currency"),
    ('{"models": {"a": {"input": 1, "output": 1, "aliases": ["b"]}, "b": {"input": 2, "output": 1}}}', "'b' is used by both"),
    ('{"models": {"a": {"input": 1, "output": 1}, "a": {"input": 2, "output": 1}}}', "duplicate key"),
    ('[1, 2]', "(top level)"),
])
def test_malformed_user_file_warns_and_keeps_builtins(tmp_path, content, problem):
    f = tmp_path / "prices.json"
    f.write_text(content)
    with pytest.raises(PriceFileError) as err:
        load_price_file(f)
    assert str(f) in str(err.value) and problem in str(err.value)
    t = PriceTable.load(user_file=f)
    assert len(t.warnings) == 1 and str(f) in t.warnings[0] and problem in t.warnings[0]
    assert t.cost_usd("gpt-4o", 1000, 500) == approx(1000 * 2.5e-6 + 500 * 10e-6)


def test_unreadable_user_file_warns(tmp_path):
    t = PriceTable.load(user_file=tmp_path)  # a directory: exists but can't be read as a file
    assert len(t.warnings) == 1 and "cannot read" in t.warnings[0]
    assert t.price_for("gpt-4o") is not None


def test_docstring_example_is_a_valid_user_file(tmp_path):
    doc = pricing.__doc__
    start = doc.index("    {\n")
    example = doc[start:doc.index("\n    }\n", start) + 6]
    f = tmp_path / "prices.json"
    f.write_text(example)
    t = PriceTable.load(user_file=f)
    assert t.warnings == [] and t.price_for("llama-3-8b").model == "my-vllm-model"
