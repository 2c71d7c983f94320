from __future__ import annotations

import pytest

from bot.nlu import DEFAULT_THRESHOLD, Index, Understanding


def test_a_clear_question_gets_the_best_document(index: Index) -> None:
    answer = Understanding(index, threshold=DEFAULT_THRESHOLD).answer("hội chợ có mất phí ko")
    assert answer.best is not None
    assert answer.best.id == "hoi_cho_trien_lam.faq.mat_phi"
    assert answer.nearest[0] == answer.best
    assert len(answer.nearest) == 2


def test_an_unsure_question_offers_the_nearest_topics(index: Index) -> None:
    query = "HTX muốn đky ht mmtb 300tr, giấy tờ gì, bao lâu có tiền"
    strict = Understanding(index, threshold=0.99).answer(query)
    assert strict.best is None
    assert [match.id.split(".")[0] for match in strict.nearest] == ["may_moc_thiet_bi"] * 2


def test_out_of_scope_gets_no_answer(index: Index) -> None:
    answer = Understanding(index, threshold=DEFAULT_THRESHOLD).answer("thời tiết hôm nay thế nào")
    assert answer.best is None
    assert answer.nearest == []


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_the_threshold_must_be_a_share(index: Index, threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        Understanding(index, threshold=threshold)
