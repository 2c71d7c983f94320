"""parse_money and parse_number against the tables in tests/fixtures/parsing/money.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.parsing import MAX_MONEY, ParseError, ParseReason, parse_money, parse_number

TABLE: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "parsing" / "money.yaml").read_text(
        encoding="utf-8"
    )
)


def test_table_is_large_enough() -> None:
    assert len(TABLE["valid"]) >= 30
    assert len(TABLE["invalid"]) >= 10


@pytest.mark.parametrize(("text", "expected"), TABLE["valid"])
def test_valid_amounts(text: str, expected: int) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(("text", "reason"), TABLE["invalid"])
def test_invalid_amounts(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_money(text)
    assert caught.value.reason is ParseReason(reason)


@pytest.mark.parametrize(("text", "expected"), TABLE["numbers_valid"])
def test_valid_counts(text: str, expected: int) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(("text", "reason"), TABLE["numbers_invalid"])
def test_invalid_counts(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_number(text)
    assert caught.value.reason is ParseReason(reason)


def test_separator_rule_thousands_versus_decimal() -> None:
    # Three digits after one separator group thousands; fewer are a decimal with a unit.
    assert parse_money("1.500") == 1_500
    assert parse_money("1.500 triệu") == 1_500_000_000
    assert parse_money("1.5 triệu") == 1_500_000
    assert parse_money("1.50 triệu") == 1_500_000


def test_maximum_is_inclusive() -> None:
    assert parse_money(f"{MAX_MONEY}") == MAX_MONEY
    with pytest.raises(ParseError):
        parse_money(f"{MAX_MONEY + 1}")


def test_count_maximum_is_a_keyword() -> None:
    assert parse_number("120", maximum=200) == 120
    with pytest.raises(ParseError) as caught:
        parse_number("250", maximum=200)
    assert caught.value.reason is ParseReason.TOO_LARGE


def test_error_message_does_not_echo_the_input() -> None:
    with pytest.raises(ParseError) as caught:
        parse_money("500 triệu máy cắt")
    assert "500" not in str(caught.value)
