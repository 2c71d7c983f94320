"""Rendered answers: the figure in force on the day, its source, never an uncertain number."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.core import formatting
from bot.core.texts import Texts
from bot.policy import Catalogue, DocumentCache, FigureView, Unit, render_document
from tests.policy.conftest import TODAY

UNCONFIRMED = "cán bộ Trung tâm sẽ xác nhận"
#: Days around every change of law in the content, plus the fixed "today".
DAYS = (date(2016, 1, 1), date(2018, 5, 10), date(2018, 5, 11), date(2025, 10, 15), TODAY)
MONEY = re.compile(r"\d[\d.,]* (?:triệu|tỷ)? ?đồng")


def _all_doc_ids(catalogue: Catalogue) -> list[str]:
    ids = [d.id for d in catalogue.search_documents()]
    return ids + [f"{p.id}.details" for p in catalogue.programmes]


def _shown(view: FigureView, value: object) -> list[str]:
    """The ways ``value`` could appear in a text if it were formatted like ``view``."""
    from decimal import Decimal

    number = Decimal(str(value))
    if view.unit is Unit.VND:
        return [formatting.money_short(number), formatting.money(number)]
    if view.unit is Unit.RATIO:
        return [formatting.percent(number)]
    return []


def test_same_question_before_and_after_the_2018_circular(
    texts: Texts, catalogue: Catalogue
) -> None:
    doc = "may_moc_thiet_bi.faq.muc_toi_da"
    before = render_document(texts, catalogue, doc, day=date(2018, 5, 10)).text
    after = render_document(texts, catalogue, doc, day=date(2018, 5, 11)).text
    assert "200 triệu đồng" in before
    assert "300 triệu đồng" not in before
    assert "300 triệu đồng" in after
    assert "200 triệu đồng" not in after
    assert after.endswith("Nguồn: Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC, áp dụng từ 11/05/2018")
    assert "Thông tư liên tịch 26/2014/TTLT-BTC-BCT" in before.splitlines()[-1]


def test_technology_line_cap_is_computed_from_figures(texts: Texts, catalogue: Catalogue) -> None:
    text = render_document(texts, catalogue, "may_moc_thiet_bi.levels", day=TODAY).text
    assert "450 triệu đồng" in text
    assert "1,5 lần" in text
    old = render_document(texts, catalogue, "may_moc_thiet_bi.levels", day=date(2018, 5, 10)).text
    assert "450 triệu" not in old
    assert "dây chuyền công nghệ**: mức trần riêng cán bộ Trung tâm sẽ xác nhận" in old


@pytest.mark.parametrize("day", DAYS)
def test_every_answer_stating_a_figure_ends_with_its_sources(
    texts: Texts, catalogue: Catalogue, day: date
) -> None:
    stating = 0
    for doc_id in _all_doc_ids(catalogue):
        answer = render_document(texts, catalogue, doc_id, day=day)
        known = [view for view in answer.figures if view.known]
        if not known:
            assert "Nguồn:" not in answer.text, doc_id
            continue
        stating += 1
        lines = answer.text.splitlines()
        source_lines = [line for line in lines if line.startswith("Nguồn: ")]
        assert lines[-len(source_lines) :] == source_lines, doc_id  # sources come last
        for view in known:
            assert view.effective_from is not None
            when = (
                f"áp dụng từ {formatting.vn_date(view.effective_from)}"
                if view.effective_from_certain
                else "ngày bắt đầu áp dụng: cán bộ Trung tâm sẽ xác nhận"
            )
            assert f"Nguồn: {view.citation}, {when}" in source_lines, (doc_id, view.key)
        assert "tối đa" in answer.text, doc_id  # caps are always "tối đa", never a promise
    assert stating >= 5


@pytest.mark.parametrize("day", DAYS)
def test_uncertain_figures_are_never_shown_as_numbers(
    texts: Texts, catalogue: Catalogue, day: date
) -> None:
    checked = 0
    for doc_id in _all_doc_ids(catalogue):
        answer = render_document(texts, catalogue, doc_id, day=day)
        for view in answer.figures:
            if view.known:
                continue
            checked += 1
            assert view.text == UNCONFIRMED
            assert UNCONFIRMED in answer.text, (doc_id, view.key)
            value = catalogue.figure(view.key).at(day)
            hidden = []
            if value is not None and value.value is not None:
                hidden += _shown(view, value.value)
            if value is not None and value.historical_reference is not None:
                hidden += _shown(view, value.historical_reference.value)
            for text in hidden:
                assert text not in answer.text, (doc_id, view.key, text)
    assert checked > 0


def test_uncertain_programmes_show_no_money_at_all(texts: Texts, catalogue: Catalogue) -> None:
    for doc_id in ("website_tmdt.levels", "hoi_cho_trien_lam.faq.hoi_cho_trong_nuoc"):
        text = render_document(texts, catalogue, doc_id, day=TODAY).text
        assert not MONEY.search(text), doc_id
        assert UNCONFIRMED in text


def test_short_figure_keys_resolve_within_their_programme(
    texts: Texts, catalogue: Catalogue
) -> None:
    answer = render_document(texts, catalogue, "mo_hinh_trinh_dien.levels", day=TODAY)
    keys = {view.key for view in answer.figures}
    assert "mo_hinh_trinh_dien.national_amount_max" in keys
    assert "1 tỷ đồng" in answer.text


def test_general_answer_may_use_another_programmes_figure(
    texts: Texts, catalogue: Catalogue
) -> None:
    answer = render_document(texts, catalogue, "general.quoc_gia_dia_phuong", day=TODAY)
    assert "300 triệu đồng" in answer.text
    assert answer.states_figure
    assert answer.text.endswith("áp dụng từ 11/05/2018")


@pytest.mark.parametrize("limit", [4096, 2000])
def test_longest_answer_splits_for_each_channel(
    texts: Texts, catalogue: Catalogue, limit: int
) -> None:
    longest = max(
        (render_document(texts, catalogue, d, day=TODAY).text for d in _all_doc_ids(catalogue)),
        key=len,
    )
    text = "\n\n".join([longest] * 4)
    parts = formatting.split_text(text, limit)
    assert len(parts) >= 2
    assert all(0 < len(part) <= limit for part in parts)
    # Nothing lost: the words come back in order.
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    # Paragraphs shorter than the limit are never cut in the middle.
    for paragraph in text.split("\n\n"):
        assert any(paragraph in part for part in parts)


def test_document_cache_renders_once_per_day_and_keeps_days_apart(
    texts: Texts, catalogue: Catalogue
) -> None:
    cache = DocumentCache(texts, catalogue, size=2)
    doc = "may_moc_thiet_bi.levels"
    today = cache.render(doc, day=TODAY)
    assert cache.render(doc, day=TODAY) is today  # kept, not rendered again
    assert today.text == render_document(texts, catalogue, doc, day=TODAY).text
    old = cache.render(doc, day=date(2018, 5, 10))
    assert old.text == render_document(texts, catalogue, doc, day=date(2018, 5, 10)).text
    assert old.text != today.text  # the cap in force differs
    cache.render("may_moc_thiet_bi.documents", day=TODAY)  # a third entry: the oldest goes
    assert cache.render(doc, day=TODAY) is not today
    with pytest.raises(KeyError):
        cache.render("khong_co.levels", day=TODAY)
