"""The condition language: three-valued, safe, and strict about what it accepts."""

from __future__ import annotations

import pytest

from bot.core.texts import ContentError
from bot.eligibility import parse_condition


def test_a_missing_or_null_fact_is_unknown_not_false() -> None:
    condition = parse_condition({"fact": "registered", "equals": True}, where="t")
    assert condition.test({"registered": True}) is True
    assert condition.test({"registered": False}) is False
    assert condition.test({}) is None
    assert condition.test({"registered": None}) is None


def test_kleene_logic() -> None:
    yes = {"fact": "a", "equals": 1}
    no = {"fact": "b", "equals": 1}
    unknown = {"fact": "c", "equals": 1}
    facts = {"a": 1, "b": 2}
    assert parse_condition({"all": [yes, unknown]}, where="t").test(facts) is None
    assert parse_condition({"all": [no, unknown]}, where="t").test(facts) is False
    assert parse_condition({"any": [yes, unknown]}, where="t").test(facts) is True
    assert parse_condition({"any": [no, unknown]}, where="t").test(facts) is None
    assert parse_condition({"not": unknown}, where="t").test(facts) is None
    assert parse_condition({"not": no}, where="t").test(facts) is True


def test_comparisons_and_presence() -> None:
    facts = {"n": 10, "s": "xa", "flag": True}
    assert parse_condition({"fact": "n", "at_least": 10}, where="t").test(facts) is True
    assert parse_condition({"fact": "n", "greater_than": 10}, where="t").test(facts) is False
    assert parse_condition({"fact": "n", "less_than": 11}, where="t").test(facts) is True
    assert parse_condition({"fact": "n", "at_most": 9}, where="t").test(facts) is False
    assert parse_condition({"fact": "s", "in": ["xa", "dac_khu"]}, where="t").test(facts)
    assert parse_condition({"fact": "x", "is_unknown": True}, where="t").test(facts) is True
    assert parse_condition({"fact": "s", "is_known": True}, where="t").test(facts) is True
    # A yes/no answer is never compared as a number.
    assert parse_condition({"fact": "flag", "at_least": 1}, where="t").test(facts) is None
    assert parse_condition(False, where="t").test(facts) is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fact": "a", "matches": ".*"}, "unknown operator"),
        ({"fact": "a", "in": "xa"}, "needs a list"),
        ({"fact": "a", "at_least": "10"}, "whole number"),
        ({"all": []}, "non-empty list"),
        ({"fact": "a"}, "cannot read"),
        ("__import__('os')", "must be a mapping"),
        ({"fact": "a", "is_unknown": "yes"}, "true or false"),
    ],
)
def test_bad_conditions_are_refused_with_the_place(raw: object, message: str) -> None:
    with pytest.raises(ContentError, match=message) as info:
        parse_condition(raw, where="rules.yaml: rules[3]")
    assert "rules.yaml: rules[3]" in str(info.value)
