"""Reading typed answers, with or without diacritics."""

from __future__ import annotations

import pytest

from bot.eligibility import (
    EligibilityContent,
    Question,
    interpret_choice_text,
    interpret_multi_text,
    interpret_yes_no,
)


def _question(content: EligibilityContent, question_id: str) -> Question:
    question = content.question(question_id)
    assert question is not None
    return question


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hộ kinh doanh", "ho_kinh_doanh"),
        ("ho kinh doanh", "ho_kinh_doanh"),
        ("HKD", "ho_kinh_doanh"),
        ("1", "ho_kinh_doanh"),
        ("htx", "hop_tac_xa"),
        ("Doanh nghiep lon", "doanh_nghiep_lon"),
        ("nhà em là hộ kinh doanh", "ho_kinh_doanh"),
        ("chưa đăng ký", "chua_dang_ky"),
        ("99", None),
        ("bánh pía", None),
        ("", None),
    ],
)
def test_choice_text(content: EligibilityContent, typed: str, expected: str | None) -> None:
    assert interpret_choice_text(_question(content, "facility_type"), typed) == expected


@pytest.mark.parametrize(
    ("question_id", "typed", "value"),
    [
        ("counterpart_funds", "co", True),
        ("counterpart_funds", "Có ạ", True),
        ("counterpart_funds", "ko", False),
        ("counterpart_funds", "không", False),
        ("counterpart_funds", "khong co von", False),
        ("is_full_line", "day chuyen", True),
        ("is_full_line", "máy riêng lẻ", False),
        ("prior_support", "chưa nhận", False),
        ("prior_support", "da nhan roi", True),
        ("prior_support", "chua", False),
    ],
)
def test_yes_no(content: EligibilityContent, question_id: str, typed: str, value: bool) -> None:
    reading = interpret_yes_no(_question(content, question_id), typed, content.settings)
    assert reading.ok and reading.value is value and not reading.unknown


def test_yes_no_unknown_and_not_understood(content: EligibilityContent) -> None:
    question = _question(content, "counterpart_funds")
    assert interpret_yes_no(question, "không biết", content.settings).unknown
    assert not interpret_yes_no(question, "bánh pía", content.settings).ok


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1 3", ["women", "typical"]),
        ("1, 2", ["women", "ethnic"]),
        ("khmer", ["ethnic"]),
        ("không", []),
        ("2 2", ["ethnic"]),
        ("9", None),
        ("bánh pía", None),
    ],
)
def test_multi_text(content: EligibilityContent, typed: str, expected: list[str] | None) -> None:
    question = _question(content, "priorities")
    assert interpret_multi_text(question, typed, content.settings) == expected
