"""One certainty per fact, everywhere owners read it (issue 15, items 5, 12, 14), and the
verdict message says which reading is uncertain."""

from __future__ import annotations

import re
from datetime import date

from bot.core.content import Content
from bot.eligibility import EligibilityContent, evaluate
from bot.policy import Catalogue
from tests.eligibility.conftest import CONTENT_DIR

DAY = date(2026, 11, 26)
CAVEAT = "cách hiểu này Trung tâm đang xác nhận"
BASE: dict[str, object] = {
    "facility_type": "ho_kinh_doanh",
    "unit_code": 31569,
    "unit_name": "Xã Phú Tâm",
    "unit_kind": "xa",
    "province_code": 92,
    "province_name": "Thành phố Cần Thơ",
    "province_kind": "thanh_pho_trung_uong",
    "activity": "san_xuat",
    "products": "bánh pía",
    "support_wanted": "may_moc_thiet_bi",
    "machine_cost": 400_000_000,
    "is_full_line": False,
    "prior_state_support_same_content": False,
    "counterpart_funds": True,
}


def _message(content: EligibilityContent, catalogue: Catalogue, **facts: object) -> str:
    [verdict] = evaluate(content, catalogue, {**BASE, **facts}, on=DAY)
    return Content(CONTENT_DIR).texts.render("eligibility/verdict", verdict=verdict, names=[])


def test_a_plain_xa_carries_no_caveat(content: EligibilityContent, catalogue: Catalogue) -> None:
    assert CAVEAT not in _message(content, catalogue)


def test_a_ward_of_a_central_city_says_the_reading_is_uncertain(
    content: EligibilityContent, catalogue: Catalogue
) -> None:
    text = _message(
        content,
        catalogue,
        unit_kind="phuong",
        unit_name="Phường Sóc Trăng",
        in_craft_village=False,
    )
    assert CAVEAT in text
    assert "có thể không thuộc diện" in text
    assert "Tối đa" not in text  # no amount on a refusal


def test_the_craft_village_check_is_shown_as_a_staff_check(
    content: EligibilityContent, catalogue: Catalogue
) -> None:
    text = _message(content, catalogue, unit_kind="phuong", in_craft_village=True)
    assert "Cán bộ sẽ kiểm tra" in text
    assert "Cần cán bộ Trung tâm xem xét" in text


def test_the_counterpart_clause_is_marked_unconfirmed(
    content: EligibilityContent, catalogue: Catalogue
) -> None:
    text = _message(content, catalogue, counterpart_funds=False)
    assert "Có khả năng chưa đủ điều kiện" in text
    assert "điều khoản quy định riêng điều kiện này Trung tâm đang xác nhận" in text


def test_uncertain_priorities_keep_the_caveat_out_of_the_citation(
    content: EligibilityContent,
) -> None:
    uncertain = [p for p in content.priorities if not p.certain]
    assert {p.id for p in uncertain} >= {"women_owned", "ethnic_minority_owner"}
    for priority in uncertain:
        assert "báo chí" not in priority.citation, priority.id
        assert priority.uncertainty, priority.id


def test_the_decree_235_priority_is_uncertain_in_every_text() -> None:
    """The programme pages and the general FAQ say what priorities.yaml says."""
    pattern = re.compile(r"phụ nữ\*\*.*Nghị định 235/2025")
    files = [CONTENT_DIR / "general.yaml", *sorted((CONTENT_DIR / "programmes").glob("*.yaml"))]
    found = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if pattern.search(line):
                found += 1
                assert "đang xác nhận" in line, path.name
    assert found >= len(files) - 1
