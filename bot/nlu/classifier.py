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

Serving and training are apart: this module (the standard library only) ranks the groups
from the plain arrays of :class:`bot.nlu.model.ModelData`; ``bot.nlu.training`` fits them
with scikit-learn; both read messages with ``bot.nlu.features``.
The serving process never imports scikit-learn, scipy or numpy (about 120 MB of its memory,
issue 16; numpy only for content with a group past :data:`NUMPY_GROUP_ENTRIES`, see
``bot.nlu.large_groups``):
:func:`train_cached` reads the fitted model from a cache file named by the hash of everything
it was trained from, and on a miss fits it in a child process (``isolated=True``, the bot's
path) or in this one (tests and benches, which import scikit-learn anyway).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import json
import logging
import math
import operator
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.nlu.features import (
    WORD_WEIGHT,
    Example,
    TrainingRow,
    analyse,
    with_pairs,
    word_ngrams,
)
from bot.nlu.lexicon import Lexicon
from bot.nlu.model import (
    FORMAT_VERSION,
    READ_ERRORS,
    Floats,
    Indices,
    ModelData,
    float_array,
    index_array,
)

if TYPE_CHECKING:
    from bot.nlu.large_groups import LargeGroup

log = logging.getLogger(__name__)

CACHE_ENV = "KHUYENCONG_CACHE_DIR"
CACHE_SUBDIR = "khuyencong"
CACHE_PREFIX = "nlu-"
CACHE_SUFFIX = ".npz"
#: Characters of the training hash in the cache file's name.
CACHE_HASH_CHARS = 32
#: The module run as ``python -m`` to fit in a child process.
TRAINING_MODULE = "bot.nlu.training"
#: The distribution whose version is part of the training hash (read without importing it).
SKLEARN_DISTRIBUTION = "scikit-learn"
MIN_GROUPS = 2
#: A group whose examples carry fewer labels needs no similarity to pick one.
MIN_LABELS = 2
#: Words whose character n-gram columns a classifier remembers (a few MB at most).
MAX_CACHED_WORDS = 20_000
#: A group with more feature entries than this finds its label with numpy
#: (``bot.nlu.large_groups``): about a thousand FAQ entries on one programme. The real
#: content's largest group has under 10,000.
NUMPY_GROUP_ENTRIES = 30_000
#: The package folder's parent, put on the training child's ``PYTHONPATH``.
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Guess:
    """A group with its probability and the best label inside it."""

    group: str
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class _GroupExamples:
    """One group's examples: their labels and, when the labels differ, the examples' feature
    rows transposed (features × the group's examples, CSR), so a query's columns reach only
    the examples that have them."""

    labels: tuple[str, ...]
    indptr: Indices | None = None
    indices: Indices | None = None
    data: Floats | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One message read by the classifier: its ranking, and whether it names a topic the
    Center does not deal with."""

    guesses: list[Guess]
    other_topic: bool


class Classifier:
    """A fitted model; :meth:`rank` is the only thing the bot calls per message.

    Features are computed here with plain dict look-ups and the standard library, exactly as
    scikit-learn's vectorisers would (``tests/nlu/test_training.py`` compares them)."""

    def __init__(
        self, *, lexicon: Lexicon, model: ModelData, numpy_above: int = NUMPY_GROUP_ENTRIES
    ) -> None:
        self._lexicon = lexicon
        self.model = model
        self._char_vocabulary = {term: column for column, term in enumerate(model.char_terms)}
        self._word_vocabulary = {term: column for column, term in enumerate(model.word_terms)}
        self._word_offset = len(model.char_terms)
        #: Word → its known character n-gram columns: a word's n-grams never reach past it,
        #: and owners' words repeat, so most are looked up once (bounded, cleared when full).
        self._word_columns: dict[str, tuple[int, ...]] = {}
        #: Each class's weights by feature (a column of the coefficients), so a message's
        #: logit for the class is one C-level gather and one sum.
        classes = len(model.classes)
        self._class_weights = tuple(
            model.coefficients[number::classes] for number in range(classes)
        )
        self._by_group = _split_by_group(model)
        self._large = _large_groups(self._by_group, above=numpy_above)

    @classmethod
    def train(
        cls, examples: Sequence[Example], lexicon: Lexicon, *, isolated: bool = False
    ) -> Classifier:
        """Fit on ``examples`` (at least two groups); ``isolated`` fits in a child process,
        so this one never imports scikit-learn."""
        return cls(lexicon=lexicon, model=ModelData.from_bytes(_fit(examples, lexicon, isolated)))

    @property
    def groups(self) -> tuple[str, ...]:
        return self.model.classes

    def vector(self, text: str) -> tuple[list[int], list[float]]:
        """The message's L2-normalised feature row as (column indices, values)."""
        return self._vector(*analyse(text, self._lexicon))

    def _vector(self, surface: str, terms: str) -> tuple[list[int], list[float]]:
        model = self.model
        columns = itertools.chain.from_iterable(map(self._columns, surface.lower().split()))
        char_columns, char_values = _weights(Counter(columns), model.char_idf)
        known = map(self._word_vocabulary.get, with_pairs(terms).split())
        words = Counter(column for column in known if column is not None)
        word_columns, word_values = _weights(words, model.word_idf)
        offset = self._word_offset
        indices = [*char_columns, *(column + offset for column in word_columns)]
        values = [*char_values, *(value * WORD_WEIGHT for value in word_values)]
        norm = math.sqrt(sum(map(operator.mul, values, values)))
        return indices, [value / norm for value in values] if norm else values

    def _columns(self, word: str) -> tuple[int, ...]:
        columns = self._word_columns.get(word)
        if columns is None:
            if len(self._word_columns) >= MAX_CACHED_WORDS:
                self._word_columns.clear()
            known = map(self._char_vocabulary.get, word_ngrams(word))
            columns = self._word_columns[word] = tuple(c for c in known if c is not None)
        return columns

    def rank(self, text: str, *, limit: int = 3) -> list[Guess]:
        """The ``limit`` most likely groups, best first, each with its closest label."""
        return self.read(text, limit=limit).guesses

    def read(self, text: str, *, limit: int = 3) -> Reading:
        """:meth:`rank`, and whether the text names a topic the Center does not deal with
        ("vay vốn"), from one analysis of the text (the lexicon's reading is a third of the
        time of a message)."""
        surface, terms = analyse(text, self._lexicon)
        other_topic = any(word in self._lexicon.other_topics for word in terms.split())
        model = self.model
        indices, values = self._vector(surface, terms)
        logits = _logits(self._class_weights, model.intercepts, indices, values)
        highest = max(logits)
        exponentials = [math.exp(logit - highest) for logit in logits]
        total = sum(exponentials)
        best_first = sorted(range(len(logits)), key=logits.__getitem__, reverse=True)
        guesses = []
        for index in best_first[:limit]:
            group = model.classes[index]
            examples = self._by_group[group]
            label = examples.labels[0]
            if examples.indptr is not None and indices:
                label = examples.labels[self._closest(group, examples, indices, values)]
            guesses.append(Guess(group, label, exponentials[index] / total))
        return Reading(guesses, other_topic)

    def _closest(
        self, group: str, examples: _GroupExamples, indices: list[int], values: list[float]
    ) -> int:
        """The number (in the group) of the example closest to the query."""
        large = self._large.get(group)
        if large is not None:
            return large.closest(indices, values)
        similarities = _similarities(examples, indices, values)
        return max(range(len(similarities)), key=similarities.__getitem__)


def _large_groups(by_group: dict[str, _GroupExamples], *, above: int) -> dict[str, LargeGroup]:
    """The groups past ``above`` entries, with numpy (imported only if there are any)."""
    large = [
        (group, examples.indptr, examples.indices, examples.data, len(examples.labels))
        for group, examples in by_group.items()
        if examples.indptr is not None
        and examples.indices is not None
        and examples.data is not None
        and len(examples.data) > above
    ]
    if not large:
        return {}
    from bot.nlu.large_groups import LargeGroup

    return {
        group: LargeGroup(indptr=indptr, indices=indices, data=data, size=size)
        for group, indptr, indices, data, size in large
    }


def _logits(
    class_weights: Sequence[Floats], intercepts: Floats, indices: list[int], values: list[float]
) -> list[float]:
    """Each class's logit: the message's values times that class's weights of its columns
    (``itemgetter`` gathers them in C, ``sum(map(mul))`` multiplies and adds in C)."""
    if not indices:
        return list(intercepts)
    if len(indices) == 1:
        (column,) = indices
        (value,) = values
        return [
            weights[column] * value + bias
            for weights, bias in zip(class_weights, intercepts, strict=True)
        ]
    gather = operator.itemgetter(*indices)
    return [
        sum(map(operator.mul, values, gather(weights)), bias)
        for weights, bias in zip(class_weights, intercepts, strict=True)
    ]


def _split_by_group(model: ModelData) -> dict[str, _GroupExamples]:
    """Each group's examples, with their own transposed rows when their labels differ."""
    class_of_example = [model.classes.index(group) for group in model.groups]
    members: list[list[int]] = [[] for _ in model.classes]
    for example, number in enumerate(class_of_example):
        members[number].append(example)
    # Example → its position among its group's examples.
    position = [0] * len(model.labels)
    for numbers in members:
        for place, example in enumerate(numbers):
            position[example] = place
    split = [
        len({model.labels[example] for example in numbers}) >= MIN_LABELS for numbers in members
    ]
    rows: list[tuple[Indices, Indices, Floats]] = [
        (index_array([0]), index_array(()), float_array(())) for _ in model.classes
    ]
    indptr, examples, data = model.example_indptr, model.example_indices, model.example_data
    for feature in range(len(indptr) - 1):
        for entry in range(indptr[feature], indptr[feature + 1]):
            example = examples[entry]
            number = class_of_example[example]
            if split[number]:
                rows[number][1].append(position[example])
                rows[number][2].append(data[entry])
        for number, (group_indptr, group_indices, _) in enumerate(rows):
            if split[number]:
                group_indptr.append(len(group_indices))
    by_group = {}
    for number, group in enumerate(model.classes):
        labels = tuple(model.labels[example] for example in members[number])
        if split[number]:
            group_indptr, group_indices, group_data = rows[number]
            by_group[group] = _GroupExamples(labels, group_indptr, group_indices, group_data)
        else:
            by_group[group] = _GroupExamples(labels)
    return by_group


def _weights(counts: Counter[int], idf: Floats) -> tuple[list[int], list[float]]:
    """Sublinear TF-IDF of the known grams' counts, L2-normalised (as ``TfidfVectorizer``)."""
    if not counts:
        return [], []
    columns = list(counts)
    values = [(math.log(tf) + 1.0) * idf[column] for column, tf in counts.items()]
    norm = math.sqrt(sum(map(operator.mul, values, values)))
    return columns, [value / norm for value in values]


def _similarities(
    examples: _GroupExamples, indices: list[int], values: list[float]
) -> list[float]:
    """Cosine similarity of the query with each of the group's examples: ``values`` times
    the query's columns of the group's CSR matrix. Only the entries of the query's columns
    are touched: with 1,000 FAQ entries groups are big and a query's columns reach few of
    their examples."""
    assert examples.indptr is not None and examples.indices is not None
    assert examples.data is not None
    indptr, members, data = examples.indptr, examples.indices, examples.data
    similarities = [0.0] * len(examples.labels)
    for column, value in zip(indices, values, strict=True):
        start, end = indptr[column], indptr[column + 1]
        for member, weight in zip(members[start:end], data[start:end], strict=True):
            similarities[member] += value * weight
    return similarities


# --- training and the cache -------------------------------------------------------------------


def _fit(examples: Sequence[Example], lexicon: Lexicon, isolated: bool) -> bytes:
    """The fitted model's file content, fitted here or in a child process."""
    if len({example.group for example in examples}) < MIN_GROUPS:
        msg = "the classifier needs examples of at least two groups"
        raise ValueError(msg)
    rows = [TrainingRow.of(example, lexicon) for example in examples]
    if not isolated:
        from bot.nlu.training import fit

        return fit(rows).data().to_bytes()
    return _fit_in_child(rows)


def _fit_in_child(rows: Sequence[TrainingRow]) -> bytes:
    """Run ``python -m bot.nlu.training`` on ``rows`` (JSON on its stdin): scikit-learn and
    scipy live and die with that process. Its errors go to this process's stderr."""
    paths = [str(_PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    payload = json.dumps([[row.surface, row.terms, row.label, row.group] for row in rows])
    with tempfile.TemporaryDirectory(prefix="khuyencong-nlu-") as folder:
        output = Path(folder) / f"model{CACHE_SUFFIX}"
        subprocess.run(
            [sys.executable, "-m", TRAINING_MODULE, str(output)],
            input=payload.encode(),
            stdout=subprocess.DEVNULL,
            env=environment,
            check=True,
        )
        return output.read_bytes()


def training_hash(examples: Sequence[Example], lexicon: Lexicon) -> str:
    """Everything the model depends on: the examples, the lexicon, the code's format and the
    version of the library that fits it (another scikit-learn may fit another model)."""
    digest = hashlib.sha256()
    header = {
        "format": FORMAT_VERSION,
        "sklearn": importlib.metadata.version(SKLEARN_DISTRIBUTION),
    }
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
    examples: Sequence[Example],
    lexicon: Lexicon,
    *,
    cache_dir: Path | None = None,
    isolated: bool = False,
) -> Classifier:
    """Read the model fitted on exactly these examples from the cache, or fit and store it
    (``isolated``: in a child process, see :meth:`Classifier.train`).

    The cache is only an optimisation: a missing, unreadable or unwritable cache means
    training again, never an error.
    """
    folder = cache_dir or default_cache_dir()
    name = training_hash(examples, lexicon)[:CACHE_HASH_CHARS]
    path = folder / f"{CACHE_PREFIX}{name}{CACHE_SUFFIX}"
    try:
        return Classifier(lexicon=lexicon, model=ModelData.from_bytes(path.read_bytes()))
    except READ_ERRORS as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("classifier cache not read, training again: %s", type(exc).__name__)
    content = _fit(examples, lexicon, isolated)
    classifier = Classifier(lexicon=lexicon, model=ModelData.from_bytes(content))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as temporary:
            temporary.write(content)
        Path(temporary.name).replace(path)
    except OSError as exc:
        log.warning("classifier cache not written: %s", type(exc).__name__)
    return classifier


__all__ = [
    "Classifier",
    "Example",
    "Guess",
    "TrainingRow",
    "analyse",
    "default_cache_dir",
    "train_cached",
    "training_hash",
]
