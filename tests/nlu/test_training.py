"""The bot's own feature and ranking code gives what scikit-learn computes from the same fit:
the serving process reads plain arrays and never imports scikit-learn, so nothing else
checks that the two agree."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu import Lexicon, SearchDocument
from bot.nlu.classifier import NUMPY_GROUP_ENTRIES, Classifier, Guess
from bot.nlu.evaluation import load_labelled
from bot.nlu.features import CHAR_NGRAMS, Example, TrainingRow, analyse, char_ngrams
from bot.nlu.intents import load_intents, training_examples
from bot.nlu.training import Fitted, fit
from bot.policy import load_catalogue
from tests.conftest import CONTENT_DIR, FIXTURES

EVAL_SET = FIXTURES / "nlu" / "eval.yaml"
#: Scores are probabilities computed in float64 by both sides, in another order.
SCORE_TOLERANCE = 1e-9
LIMIT = 3
SMALL = [
    Example("xoá dữ liệu của tôi", "delete_data", "delete_data"),
    Example("xoa thong tin ca nhan", "delete_data", "delete_data"),
    Example("hỗ trợ mua máy móc", "may.summary", "may"),
    Example("mua máy được bao nhiêu", "may.levels", "may"),
]


@pytest.fixture(scope="module")
def messages() -> list[str]:
    return [item.text for item in load_labelled(EVAL_SET)]


@pytest.fixture(scope="module")
def fitted(lexicon: Lexicon) -> Fitted:
    documents = [
        SearchDocument(doc.id, doc.title, tuple(doc.phrases))
        for doc in load_catalogue(CONTENT_DIR).search_documents()
    ]
    examples = training_examples(documents, load_intents(CONTENT_DIR))
    return fit([TrainingRow.of(example, lexicon) for example in examples])


def _sklearn_ranks(
    fitted: Fitted, texts: Sequence[str], lexicon: Lexicon, limit: int
) -> list[list[Guess]]:
    """What :meth:`Classifier.rank` means, computed with scikit-learn and scipy."""
    rows = fitted.features(texts, lexicon)
    all_probabilities = fitted.model.predict_proba(rows)
    all_similarities = (fitted.examples @ rows.T).toarray().T
    groups = np.asarray([item.group for item in fitted.rows])
    ranks = []
    for number, probabilities in enumerate(all_probabilities):
        guesses = []
        for index in np.argsort(-probabilities)[:limit]:
            group = str(fitted.model.classes_[index])
            members = np.flatnonzero(groups == group)
            labels = [fitted.rows[member].label for member in members]
            label = labels[0]
            if len(set(labels)) > 1 and rows[number].nnz:
                label = labels[int(np.argmax(all_similarities[number][members]))]
            guesses.append(Guess(group, label, float(probabilities[index])))
        ranks.append(guesses)
    return ranks


def _same(ours: Sequence[Guess], theirs: Sequence[Guess]) -> bool:
    return [(g.group, g.label) for g in ours] == [(g.group, g.label) for g in theirs] and all(
        abs(a.score - b.score) <= SCORE_TOLERANCE for a, b in zip(ours, theirs, strict=True)
    )


def test_char_ngrams_are_scikit_learns_char_wb(messages: list[str], lexicon: Lexicon) -> None:
    analyser = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS).build_analyzer()
    odd = ["", "  ", "a", "ab", "abcd", "Ô  tô\t\nXE\u00a0máy 👍", "x" * 7]
    for text in [*odd, *messages]:
        surface, _ = analyse(text, lexicon)
        assert char_ngrams(text) == analyser(text), text
        assert char_ngrams(surface) == analyser(surface), surface


def test_features_are_scikit_learns(fitted: Fitted, messages: list[str], lexicon: Lexicon) -> None:
    classifier = Classifier(lexicon=lexicon, model=fitted.data())
    texts = [*messages, "xoá hết 👍", "zzz", ""]
    for text, sparse_row in zip(texts, fitted.features(texts, lexicon), strict=True):
        indices, values = classifier.vector(text)
        row = sparse_row.toarray().ravel()
        assert dict(zip(indices, values, strict=True)) == pytest.approx(
            {index: value for index, value in enumerate(row) if value}, rel=1e-12, abs=1e-15
        )


@pytest.mark.parametrize(
    "numpy_above",
    [NUMPY_GROUP_ENTRIES, 0],
    ids=["plain Python (the real content's groups)", "numpy (every group counted large)"],
)
def test_ranking_is_scikit_learns_on_the_evaluation_set(
    fitted: Fitted, messages: list[str], lexicon: Lexicon, numpy_above: int
) -> None:
    classifier = Classifier(lexicon=lexicon, model=fitted.data(), numpy_above=numpy_above)
    expected = _sklearn_ranks(fitted, messages, lexicon, LIMIT)
    differ = [
        text
        for text, theirs in zip(messages, expected, strict=True)
        if not _same(classifier.rank(text, limit=LIMIT), theirs)
    ]
    assert differ == []


def test_two_groups_rank_as_scikit_learns_binary_model(lexicon: Lexicon) -> None:
    """With two groups scikit-learn keeps one coefficient row (a sigmoid, not a softmax)."""
    small = fit([TrainingRow.of(example, lexicon) for example in SMALL])
    classifier = Classifier(lexicon=lexicon, model=small.data())
    texts = ["xoa du lieu", "mua may bao nhieu", "thoi tiet"]
    for text, theirs in zip(texts, _sklearn_ranks(small, texts, lexicon, 2), strict=True):
        ours = classifier.rank(text, limit=2)
        assert _same(ours, theirs), text
        assert sum(guess.score for guess in ours) == pytest.approx(1.0)
