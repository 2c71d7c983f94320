"""The non-chat entry point: answers from a file, verdicts as JSON, clear errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.core.texts import ContentError
from bot.eligibility.cli import EligibilityInputError, run_file
from tests.eligibility.conftest import CONTENT_DIR

#: The caller's "today" (the CLI takes it from its clock); files without ``on:`` use it.
TODAY = date(2027, 3, 15)

BANH_PIA = """
on: 2026-11-26
facts:
  facility_type: ho_kinh_doanh
  unit_kind: xa
  province_kind: thanh_pho_trung_uong
  activity: san_xuat
  products: bánh pía
  support_wanted: may_moc_thiet_bi
  machine_cost: 700000000
  is_full_line: false
  prior_state_support_same_content: false
  counterpart_funds: true
"""


def test_yaml_answers_give_json_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(BANH_PIA, encoding="utf-8")
    result = run_file(path, content_root=CONTENT_DIR, today=TODAY)
    assert json.loads(json.dumps(result)) == result
    assert result["evaluated_on"] == "2026-11-26"
    [verdict] = result["verdicts"]  # type: ignore[misc]
    assert verdict["outcome"] == "likely_eligible"
    assert verdict["support"]["max_amount"] == 300_000_000
    assert "amount" not in verdict["support"]  # named for what it is: a maximum
    assert verdict["support"]["capped"] is True
    assert {line["rule"] for line in verdict["trace"]} >= {"registered", "location_area"}


def test_json_answers_and_an_explicit_day(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    facts = {
        "facility_type": "ho_kinh_doanh",
        "unit_kind": "xa",
        "activity": "san_xuat",
        "support_wanted": "may_moc_thiet_bi",
        "machine_cost": 600_000_000,
        "prior_state_support_same_content": False,
        "counterpart_funds": True,
    }
    path.write_text(json.dumps(facts), encoding="utf-8")
    result = run_file(path, content_root=CONTENT_DIR, today=TODAY, on=date(2018, 5, 10))
    [verdict] = result["verdicts"]  # type: ignore[misc]
    assert verdict["support"]["max_amount"] == 200_000_000


@pytest.mark.parametrize(
    "change",
    [
        "  facility_type: chua_dang_ky\n  machine_cost: 100000000\n",
        "  facility_type: doanh_nghiep_lon\n  machine_cost: 900000000\n  is_full_line: true\n",
    ],
    ids=["unregistered individual", "large firm"],
)
def test_a_refused_programme_carries_no_amount_nor_documents(tmp_path: Path, change: str) -> None:
    """Issue 15 (7): the stored verdict of a "likely not eligible" programme shows no sum."""
    kept = [
        line
        for line in BANH_PIA.splitlines(keepends=True)
        if not line.lstrip().startswith(("facility_type", "machine_cost", "is_full_line"))
    ]
    path = tmp_path / "answers.yaml"
    path.write_text("".join(kept) + change, encoding="utf-8")
    [verdict] = run_file(path, content_root=CONTENT_DIR, today=TODAY)["verdicts"]  # type: ignore[misc]
    assert verdict["outcome"] == "likely_not_eligible"
    assert verdict["support"] is None
    assert verdict["documents"] == []
    assert "000000" not in json.dumps(verdict)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("facility_type: cong_ty_lon\n", "facility_type: expected one of"),
        ("facilty_type: ho_kinh_doanh\n", "unknown fact 'facilty_type'"),
        ("machine_cost: 4 trăm triệu\n", "machine_cost: expected a whole number"),
        ("registered: có\n", "registered: expected true or false"),
        ("on: hôm nay\nfacility_type: ho_kinh_doanh\n", "'on' must be a date"),
        ("- a\n- b\n", "expected a mapping"),
        ("facility_type: [\n", "answers.yaml:"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EligibilityInputError, match=message):
        run_file(path, content_root=CONTENT_DIR, today=TODAY)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="file not found"):
        run_file(tmp_path / "none.json", content_root=CONTENT_DIR, today=TODAY)


def test_a_file_without_a_day_is_evaluated_on_the_callers_today(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("facility_type: ho_kinh_doanh\n", encoding="utf-8")
    result = run_file(path, content_root=CONTENT_DIR, today=TODAY)
    assert result["evaluated_on"] == "2027-03-15"
