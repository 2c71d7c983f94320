"""The questionnaire: order, ``ask_if``, implied facts, and no path longer than the limit."""

from __future__ import annotations

from collections.abc import Iterator

from bot.eligibility import (
    LOCATION_FACTS,
    AnswerType,
    EligibilityContent,
    Question,
    next_question,
    programmes_in_scope,
    with_implied,
)

#: (unit_kind, province_kind) pairs a location answer can produce, plus "not found".
PLACES = [
    ("xa", "thanh_pho_trung_uong"),
    ("phuong", "thanh_pho_trung_uong"),
    ("phuong", "tinh"),
    ("dac_khu", "thanh_pho_trung_uong"),
    (None, None),
]


def _branch_facts(content: EligibilityContent) -> frozenset[str]:
    """Facts some ``ask_if`` reads: only their values change which questions come next."""
    names: set[str] = set()
    for question in content.questions:
        if question.ask_if is not None:
            names |= question.ask_if.facts()
    return frozenset(names)


def _answers(question: Question, branching: frozenset[str]) -> list[dict[str, object]]:
    if question.type is AnswerType.LOCATION:
        return [
            {**dict.fromkeys(LOCATION_FACTS), "unit_kind": kind, "province_kind": province}
            for kind, province in PLACES
        ]
    values: list[object]
    if question.type is AnswerType.CHOICE:
        values = [option.id for option in question.options]
    elif question.type is AnswerType.YES_NO:
        values = [True, False]
    elif question.type is AnswerType.MULTI_CHOICE:
        values = [[]]
    elif question.type in {AnswerType.MONEY, AnswerType.NUMBER}:
        values = [1]
    else:
        values = ["x"]
    if question.allow_unknown:
        values.append(None)
    if question.fact not in branching:
        values = values[:1] + ([None] if question.allow_unknown else [])
    return [{question.fact: value} for value in values]


def _paths(
    content: EligibilityContent, facts: dict[str, object], asked: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    question = next_question(content, facts)
    if question is None:
        yield asked
        return
    for answer in _answers(question, _branch_facts(content)):
        yield from _paths(content, {**facts, **answer}, (*asked, question.id))


def test_no_path_asks_more_than_the_limit(content: EligibilityContent) -> None:
    starts: list[dict[str, object]] = [{}] + [
        {"support_wanted": programme} for programme in content.programme_ids
    ]
    paths = [path for start in starts for path in _paths(content, start, ())]
    longest = max(paths, key=len)
    assert len(paths) > 100  # the enumeration really branches
    assert len(longest) <= content.settings.max_questions == 12, longest
    assert all(len(path) == len(set(path)) for path in paths)  # nothing asked twice


def test_the_craft_village_question_only_for_wards_of_central_cities(
    content: EligibilityContent,
) -> None:
    base = {"facility_type": "ho_kinh_doanh"}
    ward = {**base, "unit_code": 1, "unit_kind": "phuong", "province_kind": "thanh_pho_trung_uong"}
    question = next_question(content, ward)
    assert question is not None and question.id == "in_craft_village"
    province_ward = {**ward, "province_kind": "tinh"}
    question = next_question(content, province_ward)
    assert question is not None and question.id == "activity"
    unknown = {**base, "unit_code": None, "unit_kind": None, "province_kind": None}
    question = next_question(content, unknown)
    assert question is not None and question.id == "activity"


def test_machine_questions_only_when_machinery_may_be_wanted(content: EligibilityContent) -> None:
    facts: dict[str, object] = {
        "facility_type": "ho_kinh_doanh",
        "unit_code": 1,
        "unit_kind": "xa",
        "province_kind": "tinh",
        "activity": "san_xuat",
        "products": "x",
    }
    for wanted, expected in (
        ("may_moc_thiet_bi", "machine_cost"),
        ("tat_ca", "machine_cost"),
        ("mo_hinh_trinh_dien", "new_technology"),
        ("hoi_cho_trien_lam", "prior_support"),
    ):
        question = next_question(content, {**facts, "support_wanted": wanted})
        assert question is not None and question.id == expected, wanted


def test_a_skipped_answer_counts_as_answered(content: EligibilityContent) -> None:
    question = next_question(content, {"facility_type": None})
    assert question is not None and question.id == "location"


def test_implied_facts_never_override_given_ones(content: EligibilityContent) -> None:
    assert with_implied(content, {"facility_type": "ho_kinh_doanh"})["registered"] is True
    assert with_implied(content, {"facility_type": "chua_dang_ky"})["registered"] is False
    given = {"facility_type": "ho_kinh_doanh", "registered": False}
    assert with_implied(content, given)["registered"] is False
    assert "registered" not in with_implied(content, {"facility_type": None})


def test_back_clears_implied_facts(content: EligibilityContent) -> None:
    question = content.question("facility_type")
    assert question is not None
    assert set(question.produced_facts()) == {"facility_type", "registered"}
    location = content.question("location")
    assert location is not None and set(location.produced_facts()) == set(LOCATION_FACTS)


def test_scope_follows_the_support_wanted(content: EligibilityContent) -> None:
    assert programmes_in_scope(content, {"support_wanted": "website_tmdt"}) == ("website_tmdt",)
    assert programmes_in_scope(content, {"support_wanted": "tat_ca"}) == content.programme_ids
    assert programmes_in_scope(content, {}) == content.programme_ids


def test_all_programmes_ask_the_demonstration_question(content: EligibilityContent) -> None:
    """Issue 15 (8): with "Tất cả" the demonstration model is in play, so new_technology is
    asked (and the longest path still fits in 12, checked above)."""
    facts: dict[str, object] = {
        "facility_type": "ho_kinh_doanh",
        "unit_code": 1,
        "unit_kind": "xa",
        "province_kind": "tinh",
        "activity": "san_xuat",
        "products": "x",
        "support_wanted": "tat_ca",
        "machine_cost": 1,
        "is_full_line": False,
    }
    question = next_question(content, facts)
    assert question is not None and question.id == "new_technology"
    for only in ("may_moc_thiet_bi", "hoi_cho_trien_lam", "website_tmdt", "dao_tao_tu_van"):
        asked = next_question(content, {**facts, "support_wanted": only})
        assert asked is None or asked.id != "new_technology", only


def test_many_workers_is_a_priority_line_not_a_question(content: EligibilityContent) -> None:
    """The count question was folded into the priorities list to keep paths within 12."""
    assert content.question("workers_count") is None
    priorities = content.question("priorities")
    assert priorities is not None
    assert [o.fact for o in priorities.options if o.id == "workers"] == ["many_workers"]
