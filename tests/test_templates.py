"""`{variable}` templates: detection, filling, escaping (monitor.templates, no Qt)."""
from __future__ import annotations

import random

import pytest

from monitor.templates import (MissingVariables, escape, find_variables, find_variables_in, missing_variables,
                               render, render_messages)

SEED_TEMPLATE = "explain the solution of the following to a {audience}: {equation}"


def test_finds_variables_in_order_of_first_use_once_each():
    assert find_variables(SEED_TEMPLATE) == ["audience", "equation"]
    assert find_variables("{b} {a} {b} {a_1}") == ["b", "a", "a_1"]
    assert find_variables_in(["{x} and {y}", "{y} then {z}"]) == ["x", "y", "z"]


def test_doubled_braces_are_literal_and_other_braces_are_text():
    assert find_variables("{{not_a_var}} and {{{real}}}") == ["real"]
    assert find_variables('json: {"key": 1} {} { spaced } {9lives} {a.b}') == []
    assert render("{{x}} {{{y}}}", {"y": "Y"}) == "{x} {Y}"
    assert render('keep {"key": 1} and {', {}) == 'keep {"key": 1} and {'


def test_render_matches_str_format_for_the_seed():
    params = {"equation": "x^2 + 4x + 9 = 0", "audience": "new student"}
    assert render(SEED_TEMPLATE, params) == SEED_TEMPLATE.format(**params)
    assert render("{{lit}} {a}", {"a": 1}) == "{{lit}} {a}".format(a=1)


def test_unfilled_variables_raise_with_their_names():
    with pytest.raises(MissingVariables) as info:
        render(SEED_TEMPLATE, {"audience": "math genius"})
    assert info.value.names == ["equation"]
    assert "{equation}" in str(info.value)
    # not strict: left as written (for estimates while typing)
    assert render(SEED_TEMPLATE, {}, strict=False) == SEED_TEMPLATE


def test_empty_values_count_as_unfilled():
    assert missing_variables(["{a} {b} {c}"], {"a": "x", "b": ""}) == ["b", "c"]


def test_render_messages_checks_every_message():
    messages = [{"role": "system", "content": "You talk to a {audience}."},
                {"role": "user", "content": "Solve {equation}."}]
    with pytest.raises(MissingVariables) as info:
        render_messages(messages, {"equation": "1+1"})
    assert info.value.names == ["audience"]
    out = render_messages(messages, {"equation": "1+1", "audience": "child"})
    assert out == [{"role": "system", "content": "You talk to a child."},
                   {"role": "user", "content": "Solve 1+1."}]
    assert messages[0]["content"] == "You talk to a {audience}."          # input untouched


def test_escape_renders_back_to_the_same_text():
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice("{}ab_ 1") for _ in range(rng.randint(0, 14)))
        escaped = escape(text)
        assert render(escaped, {}) == text
        assert find_variables(escaped) == []
    assert escape('{"a": {x}}') == '{"a": {{x}}}'          # JSON stays readable
