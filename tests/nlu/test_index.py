from __future__ import annotations

import pytest

from bot.nlu import DEFAULT_THRESHOLD, Index, Lexicon, SearchDocument
from tests.nlu.kit import read_table

OUT_OF_SCOPE = "out_of_scope"
MATCHING = read_table("matching.yaml")


@pytest.mark.parametrize(
    ("query", "expected"), [row for row in MATCHING if row[1] != OUT_OF_SCOPE]
)
def test_in_scope_queries_reach_the_right_document(
    index: Index, query: str, expected: str
) -> None:
    matches = index.search(query)
    assert matches, query
    assert matches[0].id.startswith(expected), matches
    assert matches[0].score >= DEFAULT_THRESHOLD, matches


@pytest.mark.parametrize("query", [row[0] for row in MATCHING if row[1] == OUT_OF_SCOPE])
def test_out_of_scope_queries_stay_below_the_threshold(index: Index, query: str) -> None:
    matches = index.search(query)
    assert all(match.score < DEFAULT_THRESHOLD for match in matches), matches


@pytest.mark.parametrize(
    "query",
    [
        "ho tro may moc bao nhieu tien",
        "hỗ trợ máy móc bao nhiêu tiền",
        "hổ trợ máy mọc bao nhiu tien",
    ],
)
def test_diacritics_and_misplaced_marks_do_not_change_the_result(index: Index, query: str) -> None:
    assert index.search(query, limit=1)[0].id == "may_moc_thiet_bi.levels"


def test_a_typo_is_fixed_when_its_neighbour_confirms_it(index: Index) -> None:
    assert [term.key for term in index.analyse("tiet bi")] == ["_may_moc"]
    assert all(term.corrected for term in index.analyse("tiet bi"))


def test_a_typo_is_never_fixed_into_a_topic_the_documents_do_not_cover(index: Index) -> None:
    # "máy bay" is a synonym group only to keep planes apart from machines.
    assert "_may_bay" not in [term.key for term in index.analyse("may say")]


def test_unknown_words_after_a_topic_weigh_less(index: Index) -> None:
    plain = index.search("hỗ trợ máy móc", limit=1)[0]
    qualified = index.search("hỗ trợ máy móc đóng gói", limit=1)[0]
    unrelated = index.search("đóng gói hỗ trợ máy móc", limit=1)[0]
    assert qualified.id == plain.id
    assert plain.score > qualified.score > unrelated.score


def test_a_real_word_is_fixed_only_when_it_fits_nowhere(index: Index) -> None:
    assert [term.key for term in index.analyse("thời tiết")] == ["_thoi_tiet"]
    assert [term.key for term in index.analyse("tiết bị")] == ["_may_moc"]


def test_a_short_unconfirmed_word_is_not_turned_into_a_known_one(index: Index) -> None:
    assert [term.key for term in index.analyse("bóng chuyền")] == ["bong", "chuyen"]


def test_scores_are_between_zero_and_one_and_sorted(index: Index) -> None:
    for query, _ in MATCHING:
        matches = index.search(query, limit=5)
        scores = [match.score for match in matches]
        assert all(0 <= score <= 1 for score in scores)
        assert scores == sorted(scores, reverse=True)
        assert len({match.id for match in matches}) == len(matches)


def test_limit_bounds_the_results(index: Index) -> None:
    assert len(index.search("hội chợ", limit=3)) == 3
    assert len(index.search("hội chợ", limit=1)) == 1
    assert index.search("hội chợ", limit=0) == []


def test_a_query_of_fillers_finds_nothing(index: Index) -> None:
    assert index.search("cho em hỏi với ạ") == []
    assert index.search("") == []


def test_duplicate_ids_are_refused(lexicon: Lexicon) -> None:
    doc = SearchDocument("a.summary", "Hội chợ", ("hội chợ",))
    with pytest.raises(ValueError, match=r"a\.summary"):
        Index.build([doc, doc], lexicon)


def test_an_empty_index_answers_nothing(lexicon: Lexicon) -> None:
    index = Index.build([], lexicon)
    assert len(index) == 0
    assert index.search("hội chợ") == []
