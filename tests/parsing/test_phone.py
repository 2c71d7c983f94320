"""parse_phone, format_phone_vn and mask_phone against tests/fixtures/parsing/phone.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.parsing import ParseError, ParseReason, format_phone_vn, mask_phone, parse_phone

TABLE: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "parsing" / "phone.yaml").read_text(
        encoding="utf-8"
    )
)


def test_table_is_large_enough() -> None:
    assert len(TABLE["valid"]) >= 20
    assert len(TABLE["invalid"]) >= 10


@pytest.mark.parametrize("row", TABLE["valid"], ids=lambda row: row["text"])
def test_valid_numbers(row: dict[str, str]) -> None:
    e164 = parse_phone(row["text"])
    assert e164 == row["e164"]
    assert format_phone_vn(e164) == row["display"]
    assert mask_phone(e164) == row["masked"]


@pytest.mark.parametrize("row", TABLE["invalid"], ids=lambda row: row["text"] or "<empty>")
def test_invalid_numbers(row: dict[str, str]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_phone(row["text"])
    assert caught.value.reason is ParseReason(row["reason"])
    assert caught.value.suggestion == row.get("suggestion")


def test_canonical_form_is_idempotent() -> None:
    e164 = parse_phone("0912 345 678")
    assert parse_phone(e164) == e164
    assert parse_phone(format_phone_vn(e164)) == e164


@pytest.mark.parametrize("bad", ["0912345678", "+1202555010", "+84612345678"])
def test_display_helpers_refuse_non_canonical_input(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        format_phone_vn(bad)
    with pytest.raises(ValueError, match=r"."):
        mask_phone(bad)


def test_masked_number_hides_the_middle_digits() -> None:
    masked = mask_phone(parse_phone("0912345678"))
    assert "2345" not in masked
    assert masked.count("*") == 4
