"""The real catalogue: programmes, figures on given days, search documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.messages import MAX_CHOICE_ID_BYTES
from bot.nlu import SearchDocument, fold
from bot.policy import SEARCH_SECTIONS, Catalogue, Scope
from tests.conftest import FIXTURES

REQUIRED = (
    "may_moc_thiet_bi",
    "mo_hinh_trinh_dien",
    "hoi_cho_trien_lam",
    "website_tmdt",
    "dao_tao_tu_van",
)
CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "policy" / "figure_dates.yaml").read_text(encoding="utf-8")
)


def test_required_programmes_exist_in_order(catalogue: Catalogue) -> None:
    ids = [p.id for p in catalogue.programmes]
    assert [i for i in ids if i in REQUIRED] == list(REQUIRED)
    assert catalogue.programme("website_tmdt").title.startswith("Hỗ trợ")


def test_unknown_programme_and_figure_raise_key_error(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError):
        catalogue.programme("nope")
    with pytest.raises(KeyError):
        catalogue.figure("may_moc_thiet_bi.nope")
    with pytest.raises(KeyError):
        catalogue.figure("nope.national_rate_max")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['key']}@{c['day']}")
def test_figure_in_force(catalogue: Catalogue, case: dict[str, Any]) -> None:
    value = catalogue.figure(case["key"]).at(case["day"])
    if case["citation"] is None:
        assert value is None
        return
    assert value is not None
    expected = None if case["value"] is None else Decimal(str(case["value"]))
    assert value.value == expected
    assert value.known is case["known"]
    assert value.reference.citation() == case["citation"]


def test_local_figures_are_never_known(catalogue: Catalogue) -> None:
    local = [f for f in catalogue.figures() if f.scope is Scope.LOCAL]
    assert len(local) >= len(REQUIRED)
    for figure in local:
        assert all(not value.known for value in figure.values), figure.key


def test_uncertain_old_levels_are_kept_for_staff(catalogue: Catalogue) -> None:
    value = catalogue.figure("dao_tao_tu_van.trademark_amount_max").at(dt.date(2026, 11, 26))
    assert value is not None
    assert value.historical_reference is not None
    assert value.historical_reference.value == Decimal(35_000_000)
    assert not value.known


def test_search_documents_cover_every_section_faq_and_general(catalogue: Catalogue) -> None:
    documents = catalogue.search_documents()
    assert all(isinstance(d, SearchDocument) for d in documents)
    ids = [d.id for d in documents]
    assert len(ids) == len(set(ids))
    for programme in catalogue.programmes:
        for section in SEARCH_SECTIONS:
            assert f"{programme.id}.{section}" in ids
        for entry in programme.faq:
            assert f"{programme.id}.faq.{entry.slug}" in ids
    assert "general.khuyen_cong_la_gi" in ids
    for document in documents:
        assert document.title
        assert document.phrases, document.id
        assert len(f"policies:doc:{document.id}".encode()) <= MAX_CHOICE_ID_BYTES
        catalogue.resolve(document.id)


def test_phrases_come_with_and_without_diacritics(catalogue: Catalogue) -> None:
    for programme in catalogue.programmes:
        phrases = [p for section in SEARCH_SECTIONS for p in programme.phrases[section]]
        folded = [p for p in phrases if fold(p) == p.lower()]
        accented = [p for p in phrases if fold(p) != p.lower()]
        assert folded, programme.id
        assert accented, programme.id


def test_resolve_rejects_unknown_documents(catalogue: Catalogue) -> None:
    for doc_id in (
        "may_moc_thiet_bi.nope",
        "may_moc_thiet_bi.faq.nope",
        "general.nope",
        "x.summary",
    ):
        with pytest.raises(KeyError):
            catalogue.resolve(doc_id)


def test_content_root_is_a_parameter(tmp_path: Path, catalogue: Catalogue) -> None:
    # Loading from another root must not reuse the real content (no module-level state).
    from bot.core.texts import ContentError
    from bot.policy import load_catalogue

    (tmp_path / "programmes").mkdir()
    (tmp_path / "general.yaml").write_text("entries: []\n", encoding="utf-8")
    (tmp_path / "labels").mkdir()
    empty = load_catalogue(tmp_path)
    assert empty.programmes == ()
    (tmp_path / "general.yaml").write_text("nothing: 1\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"general.yaml:1:"):
        load_catalogue(tmp_path)
