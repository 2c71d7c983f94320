"""The content check of the eligibility area."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.eligibility import check_eligibility
from tests.eligibility.conftest import CONTENT_DIR


def test_the_real_content_is_valid() -> None:
    assert check_eligibility(CONTENT_DIR) == []


def test_a_rule_edit_that_changes_a_case_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    rules = root / "eligibility" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    edited = text.replace(
        "in: [doanh_nghiep_sieu_nho, doanh_nghiep_nho, doanh_nghiep_vua,",
        "in: [doanh_nghiep_lon, doanh_nghiep_sieu_nho, doanh_nghiep_nho, doanh_nghiep_vua,",
    )
    assert edited != text
    rules.write_text(edited, encoding="utf-8")
    problems = check_eligibility(root)
    assert any(
        "Doanh nghiệp lớn" in p.message and "expected likely_not_eligible" in p.message
        for p in problems
    )


def test_a_missing_catalogue_figure_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    rules = root / "eligibility" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(
        text.replace("cap: may_moc_thiet_bi.national_amount_max", "cap: may_moc_thiet_bi.tran"),
        encoding="utf-8",
    )
    assert any(
        "'may_moc_thiet_bi.tran' is not in the catalogue" in p.message
        for p in check_eligibility(root)
    )
