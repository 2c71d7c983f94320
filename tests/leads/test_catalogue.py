"""Lead content files load, and a malformed one names the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.texts import ContentError
from bot.leads.catalogue import load_lead_options, load_notices, load_statuses
from storage.models import LeadStatus
from tests.conftest import CONTENT_DIR


def test_every_status_has_a_name_and_notifying_ones_a_message() -> None:
    statuses = load_statuses(CONTENT_DIR)
    assert set(statuses.by_status) == set(LeadStatus)
    assert statuses.name("contacted") == "Đã liên hệ"
    assert not statuses["new"].notify_owner
    assert all(info.message for info in statuses.by_status.values() if info.notify_owner)


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("contacted", LeadStatus.CONTACTED),
        ("lienhe", LeadStatus.CONTACTED),
        ("Liên hệ", LeadStatus.CONTACTED),
        ("not_eligible", LeadStatus.NOT_ELIGIBLE),
        ("dossier_prepared", LeadStatus.DOSSIER_PREPARED),
        ("approved", None),
    ],
)
def test_staff_may_type_a_status_loosely(typed: str, status: LeadStatus | None) -> None:
    assert load_statuses(CONTENT_DIR).find(typed) == status


def test_notices_are_versioned() -> None:
    notices = load_notices(CONTENT_DIR)
    assert notices.lead.version and notices.subscription.version
    assert "{{ center.name }}" in notices.lead.text


def test_options_map_programmes_to_support_kinds() -> None:
    options = load_lead_options(CONTENT_DIR)
    assert options.kinds_for("may_moc_thiet_bi") == ("machinery",)
    assert options.kinds_for("tat_ca") == ("machinery", "trade_fair", "website")
    assert options.kinds_for("trade_fair") == ("trade_fair",)
    assert options.kinds_for("unknown") == ()


def test_a_notifying_status_without_message_is_refused(tmp_path: Path) -> None:
    shutil.copytree(CONTENT_DIR / "leads", tmp_path / "leads")
    path = tmp_path / "leads" / "statuses.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("notify_owner: false", "notify_owner: true"),
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="needs a message"):
        load_statuses(tmp_path)


def test_lead_content_check_passes_and_finds_a_missing_label(tmp_path: Path) -> None:
    from bot.leads.check import check_leads

    assert check_leads(CONTENT_DIR) == []
    shutil.copytree(CONTENT_DIR, tmp_path / "content")
    options = tmp_path / "content" / "leads" / "support_kinds.yaml"
    options.write_text(
        options.read_text(encoding="utf-8").replace("call_times: [", "call_times: [night, "),
        encoding="utf-8",
    )
    problems = check_leads(tmp_path / "content")
    assert [problem.message for problem in problems] == [
        "no label 'register.call.night' in labels/"
    ]
