"""What staff read about a lead's self-check: a facility outside the Center's province that
registered anyway is marked out of area first (issue 15, item 6)."""

from __future__ import annotations

from bot.core.content import Content
from bot.leads.views import verdicts_text
from tests.conftest import CONTENT_DIR


def _record(outside: str | None) -> dict[str, object]:
    return {
        "verdicts": [
            {
                "programme": "may_moc_thiet_bi",
                "outcome": "likely_eligible",
                "outside_province": outside,
            },
            {"programme": "website_tmdt", "outcome": "needs_review", "outside_province": outside},
        ]
    }


def test_a_lead_from_another_province_is_marked_out_of_area() -> None:
    texts = Content(CONTENT_DIR).texts
    shown = verdicts_text(texts, _record("Vĩnh Long"))
    assert shown.startswith("⚠️ Ngoài địa bàn Trung tâm (cơ sở ở Vĩnh Long)")
    assert shown.count("Vĩnh Long") == 1
    assert "may_moc_thiet_bi" in shown


def test_a_lead_in_the_centers_province_is_not_marked() -> None:
    texts = Content(CONTENT_DIR).texts
    shown = verdicts_text(texts, _record(None))
    assert "Ngoài địa bàn" not in shown
    assert shown.startswith("may_moc_thiet_bi")
