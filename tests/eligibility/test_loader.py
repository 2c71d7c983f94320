"""Loading the eligibility content, and refusing inconsistent content at start-up."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.texts import ContentError
from bot.eligibility import AnswerType, EligibilityContent, load_eligibility
from tests.eligibility.conftest import CONTENT_DIR


def test_real_content_loads(content: EligibilityContent) -> None:
    assert content.programme_ids == (
        "may_moc_thiet_bi",
        "mo_hinh_trinh_dien",
        "hoi_cho_trien_lam",
        "website_tmdt",
        "dao_tao_tu_van",
    )
    assert content.settings.resume_prompt_after == timedelta(hours=12)
    assert content.fact_types["machine_cost"] is AnswerType.MONEY
    assert content.fact_types["registered"] is AnswerType.YES_NO
    assert "doanh_nghiep_lon" in content.fact_choices["facility_type"]
    for rule in content.rules.values():
        assert rule.citation and rule.explain_fail and rule.explain_unknown


def test_every_rule_is_used_by_a_programme(content: EligibilityContent) -> None:
    used = {rule_id for programme in content.programmes for rule_id in programme.rules}
    assert used == set(content.rules)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR / "eligibility", root / "eligibility")
    return root


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "eligibility" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "rules.yaml",
            "{fact: registered, equals: true}",
            "{fact: registred, equals: true}",
            "unknown fact 'registred'",
        ),
        ("rules.yaml", "in: [xa, dac_khu]", "in: [xa, thi_tran]", "has no option"),
        ("rules.yaml", "on_fail: not_eligible", "on_fail: approved", "on_fail"),
        (
            "rules.yaml",
            "rules: [facility_type, registered,",
            "rules: [facility_typ, registered,",
            "unknown rules",
        ),
        (
            "questions.yaml",
            "id: women\n",
            "id: women_owned_with_a_very_long_option_identifier\n",
            "longer than 64 bytes",
        ),
        ("questions.yaml", "type: money", "type: currency", "unknown answer type"),
        (
            "priorities.yaml",
            "{fact: women_owned, equals: true}",
            "{fact: women, equals: true}",
            "unknown fact 'women'",
        ),
    ],
)
def test_inconsistent_content_is_refused(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    root = _copy(tmp_path)
    _edit(root, name, old, new)
    with pytest.raises(ContentError, match=message):
        load_eligibility(root)


def test_an_ask_if_may_only_read_earlier_answers(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(
        root,
        "questions.yaml",
        "ask_if: {fact: support_wanted, in: [may_moc_thiet_bi, tat_ca]}",
        "ask_if: {fact: counterpart_funds, equals: true}",
    )
    with pytest.raises(ContentError, match="not produced by any earlier question"):
        load_eligibility(root)


def test_a_staff_check_rule_has_no_pass_condition(tmp_path: Path) -> None:
    """Issue 15 (4): a rule that only hands a question to staff cannot also "fail"."""
    root = _copy(tmp_path)
    rules = root / "eligibility" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    marker = "  - id: activity_service_review\n    staff_check: true\n"
    assert marker in text
    rules.write_text(text.replace(marker, marker + "    pass_if: false\n"), encoding="utf-8")
    with pytest.raises(ContentError, match="staff_check rule has no pass_if"):
        load_eligibility(root)


def test_an_uncertain_priority_says_why(tmp_path: Path) -> None:
    """Issue 15 (14): the caveat is its own field, not hidden inside the citation."""
    root = _copy(tmp_path)
    path = root / "eligibility" / "priorities.yaml"
    text = path.read_text(encoding="utf-8")
    kept = "\n".join(line for line in text.splitlines() if "uncertainty:" not in line)
    path.write_text(kept + "\n", encoding="utf-8")
    with pytest.raises(ContentError, match="needs 'uncertainty'"):
        load_eligibility(root)
