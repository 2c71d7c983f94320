from __future__ import annotations

import pytest

from bot.leads.codes import (
    format_handoff_ref,
    format_lead_code,
    parse_handoff_ref,
    parse_lead_code,
)


def test_lead_code_has_year_and_six_digits() -> None:
    assert format_lead_code(123, 2026) == "KC-2026-000123"
    assert format_lead_code(1_234_567, 2027) == "KC-2027-1234567"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("KC-2026-000123", "KC-2026-000123"),
        ("kc-2026-123", "KC-2026-000123"),
        ("kc2026000123", "KC-2026-000123"),
        (" KC 2026 123 ", "KC-2026-000123"),
        ("2026-000123", None),
        ("KC-26-1", None),
        ("", None),
    ],
)
def test_lead_code_parsing(typed: str, code: str | None) -> None:
    assert parse_lead_code(typed) == code


def test_handoff_reference() -> None:
    assert format_handoff_ref(42) == "HT-42"
    assert [parse_handoff_ref(t) for t in ("HT-42", "ht42", "42", "HT-", "x")] == [
        42,
        42,
        42,
        None,
        None,
    ]
