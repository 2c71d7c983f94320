"""The intent and topic classifier: TF-IDF features and a linear model, trained from content.

What was measured (``bench/understanding.py --compare`` on ``tests/fixtures/nlu/eval.yaml``)
and why this design won:

* **Features.** Owners type with, without and with misplaced diacritics, with chat
  abbreviations and typos. So each message is first read by the :class:`Lexicon` (folded,
  "ko"/"dc"/"sdt" expanded, numbers dropped), then described twice: character n-grams (2 to 5,
  inside word boundaries) of that text, which survive typos and word-splitting ("hotro",
  "may moc"); and words and word pairs after synonym groups and stop words ("triển lãm" and
  "hội chợ" are one term), which carry the topic. Both are TF-IDF weighted.
* **Model.** Logistic regression gives probabilities that can be thresholded (confident, not
  sure, out of scope) and beat a linear SVM, nearest neighbours and the older search index on
  the evaluation set (numbers in ``bench/README.md``).
* **Groups.** The model decides between *groups*: an action ("delete my data"), a programme,
  a general question, an eligibility rule, or out of scope. Sections of one programme
  ("Mức hỗ trợ", the FAQ on the maximum) share most words, so a probability split between
  them is not doubt about the topic. The answer inside a group is the label whose own
  examples are closest (cosine similarity), which also keeps the model small when a
  programme holds a thousand FAQ entries.

Training takes a second or two; :func:`train_cached` keeps the fitted model in a cache file
named by the hash of everything it was trained from, so start-up normally only reads it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import pickle
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu.lexicon import Lexicon

log = logging.getLogger(__name__)

#: Bump when the features or the model change, so an old cache file is never read.
FORMAT_VERSION = 2
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
#: Weight of the word features next to the character ones (both L2-normalised).
WORD_WEIGHT = 0.8
#: Inverse regularisation strength of the logistic regression (measured: 30 to 100 beat 10).
REGULARISATION_C = 30.0
MAX_ITERATIONS = 2000
#: Bounds the model's size whatever the content grows to.
MAX_CHAR_FEATURES = 60_000
MAX_WORD_FEATURES = 20_000
CACHE_ENV = "KHUYENCONG_CACHE_DIR"
CACHE_SUBDIR = "khuyencong"
CACHE_PREFIX = "nlu-"
#: Symbols (emoji) kept as features: "👍" alone says "thanks".
_SYMBOL_CATEGORY = "So"
#: A phone number reads as the word "sđt": typing one means "contact me".
_PHONE = re.compile(r"\+?\d(?:[\s.\-]?\d){8,}")
PHONE_WORD = " sdt "
#: Negation words: dropped as stop words ("không" also ends questions), so the word after
#: them are marked ("!nhận", "!gửi"), so "nhận tin" differs from "không nhận tin".
NEGATIONS = frozenset({"khong", "dung", "chang", "cha", "ngung", "thoi"})
_NEGATION_PREFIX = "!"
#: "không muốn nhận": the negation reaches this many words.
NEGATION_SPAN = 2


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence: ``label`` is what to answer with (an intent, a document, a rule),
    ``group`` what the model decides between (see the module docstring)."""

    text: str
    label: str
    group: str


@dataclass(frozen=True, slots=True)
class Guess:
    """A group with its probability and the best label inside it."""

    group: str
    label: str
    score: float


class Classifier:
    """A fitted model; :meth:`rank` is the only thing the bot calls per message."""

    def __init__(
        self,
        *,
        lexicon: Lexicon,
        chars: TfidfVectorizer,
        words: TfidfVectorizer,
        model: LogisticRegression,
        examples: Any,
        labels: Sequence[str],
        groups: Sequence[str],
    ) -> None:
        self._lexicon = lexicon
        self._chars = chars
        self._words = words
        self._model = model
        self._classes: tuple[str, ...] = tuple(str(name) for name in model.classes_)
        # The per-message path avoids scikit-learn's per-call validation (about 4 ms a
        # message on a busy machine): the same analysers, vocabularies, idf weights and
        # coefficients, applied to one message with plain dict look-ups and numpy.
        self._char_analyser = chars.build_analyzer()
        self._char_vocabulary: dict[str, int] = chars.vocabulary_
        self._char_idf = chars.idf_.astype(np.float64)
        self._word_vocabulary: dict[str, int] = words.vocabulary_
        self._word_idf = words.idf_.astype(np.float64)
        self._word_offset = len(self._char_vocabulary)
        self._coefficients = np.ascontiguousarray(model.coef_.T, dtype=np.float64)
        self._intercepts = model.intercept_.astype(np.float64)
        #: Every training example's feature row (L2-normalised), for the label inside a group.
        self._examples = examples
        self._labels = tuple(labels)
        self._groups = np.asarray(groups)
        #: Group → (its examples' rows as a transposed matrix, their labels): a query is
        #: compared with the examples of its few best groups only.
        self._by_group: dict[str, tuple[Any, tuple[str, ...]]] = {}
        for group in set(groups):
            rows = np.flatnonzero(self._groups == group)
            self._by_group[group] = (
                examples[rows].T.tocsr(),
                tuple(self._labels[row] for row in rows),
            )

    @classmethod
    def train(cls, examples: Sequence[Example], lexicon: Lexicon) -> Classifier:
        """Fit on ``examples``; at least two groups are needed."""
        if len({example.group for example in examples}) < 2:
            msg = "the classifier needs examples of at least two groups"
            raise ValueError(msg)
        chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=CHAR_NGRAMS,
            sublinear_tf=True,
            max_features=MAX_CHAR_FEATURES,
            dtype=np.float32,
        )
        words = TfidfVectorizer(
            analyzer=str.split,
            sublinear_tf=True,
            max_features=MAX_WORD_FEATURES,
            dtype=np.float32,
        )
        surfaces, terms = zip(
            *(analyse(example.text, lexicon) for example in examples), strict=True
        )
        char_rows = chars.fit_transform(surfaces)
        word_rows = words.fit_transform([_with_pairs(text) for text in terms])
        features = _combine(char_rows, word_rows)
        groups = [example.group for example in examples]
        model = LogisticRegression(C=REGULARISATION_C, max_iter=MAX_ITERATIONS)
        model.fit(features, groups)
        return cls(
            lexicon=lexicon,
            chars=chars,
            words=words,
            model=model,
            examples=features.tocsr(),
            labels=[example.label for example in examples],
            groups=groups,
        )

    @property
    def groups(self) -> tuple[str, ...]:
        return self._classes

    def features(self, text: str) -> Any:
        """The message's feature row as scikit-learn computes it (tests compare with it)."""
        surface, terms = analyse(text, self._lexicon)
        return _combine(
            self._chars.transform([surface]), self._words.transform([_with_pairs(terms)])
        )

    def _vector(self, text: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The same row as :meth:`features`, as (column indices, values)."""
        surface, terms = analyse(text, self._lexicon)
        chars = _weights(self._char_analyser(surface), self._char_vocabulary, self._char_idf)
        words = _weights(_with_pairs(terms).split(), self._word_vocabulary, self._word_idf)
        indices = np.concatenate([chars[0], words[0] + self._word_offset])
        values = np.concatenate([chars[1], words[1] * WORD_WEIGHT])
        norm = float(np.sqrt(values @ values))
        return indices, values / norm if norm else values

    def mentions_other_topic(self, text: str) -> bool:
        """True when the text names a topic the Center does not deal with ("vay vốn")."""
        tokens = self._lexicon.tokens(text)
        return any(term.key in self._lexicon.other_topics for term in self._lexicon.terms(tokens))

    def rank(self, text: str, *, limit: int = 3) -> list[Guess]:
        """The ``limit`` most likely groups, best first, each with its closest label."""
        indices, values = self._vector(text)
        logits = values @ self._coefficients[indices] + self._intercepts
        exponentials = np.exp(logits - logits.max())
        probabilities = exponentials / exponentials.sum()
        order = np.argsort(-probabilities)[:limit]
        guesses = []
        for index in order:
            group = self._classes[index]
            columns, labels = self._by_group[group]
            label = labels[0]
            if len(labels) > 1 and labels.count(label) != len(labels) and len(indices):
                label = labels[int(np.argmax(_similarities(columns, indices, values)))]
            guesses.append(Guess(group, label, float(probabilities[index])))
        return guesses


def analyse(text: str, lexicon: Lexicon) -> tuple[str, str]:
    """The text as the features see it: folded words with abbreviations expanded (plus any
    emoji), and the terms after synonyms and stop words."""
    tokens = lexicon.tokens(_PHONE.sub(PHONE_WORD, text))
    symbols = [char for char in text if unicodedata.category(char) == _SYMBOL_CATEGORY]
    negated = [
        f"{_NEGATION_PREFIX}{after.key}"
        for position, before in enumerate(tokens)
        if before.key in NEGATIONS
        for after in tokens[position + 1 : position + 1 + NEGATION_SPAN]
        if after.key not in NEGATIONS
    ]
    surface = " ".join([token.key for token in tokens] + symbols)
    terms = " ".join([term.key for term in lexicon.terms(tokens)] + symbols + negated)
    return surface, terms


def _weights(
    grams: list[str], vocabulary: dict[str, int], idf: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Sublinear TF-IDF of the known grams, L2-normalised (as ``TfidfVectorizer`` does)."""
    counts: dict[int, int] = {}
    for gram in grams:
        column = vocabulary.get(gram)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    if not counts:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
    values = (np.log(np.fromiter(counts.values(), dtype=np.float64)) + 1.0) * idf[indices]
    return indices, values / np.sqrt(values @ values)


def _similarities(
    columns: Any, indices: np.ndarray[Any, Any], values: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """``values @ columns[indices]`` for a CSR matrix (features × examples), gathered with
    numpy: scipy's row slicing costs more than the product for one short message."""
    starts = columns.indptr[indices]
    lengths = columns.indptr[indices + 1] - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(columns.shape[1])
    shifts = starts - np.concatenate(([0], np.cumsum(lengths)[:-1]))
    positions = np.repeat(shifts, lengths) + np.arange(total)
    weights = columns.data[positions] * np.repeat(values, lengths)
    return np.bincount(columns.indices[positions], weights=weights, minlength=columns.shape[1])


def _with_pairs(terms: str) -> str:
    """Terms plus adjacent pairs joined by "+" (word bigrams without a second vectoriser)."""
    words = terms.split()
    return " ".join(words + [f"{a}+{b}" for a, b in itertools.pairwise(words)])


def _combine(char_rows: Any, word_rows: Any) -> Any:
    combined = sparse.hstack([char_rows, word_rows * WORD_WEIGHT], format="csr")
    norms = np.sqrt(np.asarray(combined.multiply(combined).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ combined


# --- the cache --------------------------------------------------------------------------------


def training_hash(examples: Sequence[Example], lexicon: Lexicon) -> str:
    """Everything the model depends on: the examples, the lexicon, the code's format and the
    library version (a pickle from another scikit-learn is not read)."""
    digest = hashlib.sha256()
    header = {"format": FORMAT_VERSION, "sklearn": sklearn.__version__}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for example in examples:
        digest.update(f"{example.group}\t{example.label}\t{example.text}\n".encode())
    digest.update(repr(sorted(lexicon.abbreviations.items())).encode())
    digest.update(repr(sorted(lexicon.accented_abbreviations.items())).encode())
    digest.update(repr(sorted(lexicon.synonyms.items())).encode())
    digest.update(repr(sorted(lexicon.stop_words)).encode())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CACHE_SUBDIR


def train_cached(
    examples: Sequence[Example], lexicon: Lexicon, *, cache_dir: Path | None = None
) -> Classifier:
    """Read the model fitted on exactly these examples from the cache, or fit and store it.

    The cache is only an optimisation: a missing, unreadable or unwritable cache means
    training again, never an error.
    """
    folder = cache_dir or default_cache_dir()
    path = folder / f"{CACHE_PREFIX}{training_hash(examples, lexicon)[:32]}.pickle"
    try:
        with path.open("rb") as handle:
            state = pickle.load(handle)
        return Classifier(lexicon=lexicon, **state)
    except (OSError, pickle.UnpicklingError, EOFError, TypeError, AttributeError):
        pass
    classifier = Classifier.train(examples, lexicon)
    state = {
        "chars": classifier._chars,
        "words": classifier._words,
        "model": classifier._model,
        "examples": classifier._examples,
        "labels": classifier._labels,
        "groups": [str(group) for group in classifier._groups],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as temporary:
            pickle.dump(state, temporary, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temporary.name).replace(path)
    except OSError as exc:
        log.warning("classifier cache not written: %s", type(exc).__name__)
    return classifier
