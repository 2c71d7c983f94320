"""The day a data request must be acknowledged by: working days, weekends skipped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.leads import load_notices
from bot.leads.requests import working_days_after
from tests.conftest import CONTENT_DIR


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 4)),  # Monday → Wednesday
        (date(2026, 3, 5), date(2026, 3, 9)),  # Thursday → Monday
        (date(2026, 3, 6), date(2026, 3, 10)),  # Friday → Tuesday
        (date(2026, 3, 7), date(2026, 3, 10)),  # Saturday → Tuesday
    ],
)
def test_two_working_days(received: date, expected: date) -> None:
    assert working_days_after(received, 2) == expected


def test_the_time_and_its_rule_are_content() -> None:
    rule = load_notices(CONTENT_DIR).data_requests
    assert rule.acknowledge_within_working_days == 2
    assert "356/2025/NĐ-CP" in rule.citation


def test_the_owner_notice_names_the_law_and_the_decree() -> None:
    """Issue 15 (15): the text owners read names Law 91/2025/QH15 and Decree 356/2025."""
    text = load_notices(CONTENT_DIR).lead.text
    assert "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15" in text
    assert "Nghị định 356/2025/NĐ-CP" in text


def test_a_missing_time_is_a_content_error(tmp_path: Path) -> None:
    from bot.core.texts import ContentError

    (tmp_path / "privacy").mkdir()
    source = (CONTENT_DIR / "privacy" / "notice.yaml").read_text(encoding="utf-8")
    broken = source.replace(
        "acknowledge_within_working_days: 2", "acknowledge_within_working_days: 0"
    )
    (tmp_path / "privacy" / "notice.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ContentError, match="acknowledge_within_working_days"):
        load_notices(tmp_path)
