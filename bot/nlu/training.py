"""Fitting the classifier with scikit-learn: TF-IDF vectorisers and a logistic regression.

Imported by the training child process (``python -m bot.nlu.training OUTPUT``, which reads
:class:`bot.nlu.features.TrainingRow` lists as JSON on stdin and writes the fitted
:class:`bot.nlu.model.ModelData` to OUTPUT), by tests and by benches; never by the serving
process, which only reads the plain arrays (see ``bot.nlu.classifier``). numpy stays here
with scikit-learn: the model reaches the server as the standard library's arrays.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu.features import CHAR_NGRAMS, WORD_WEIGHT, TrainingRow, analyse, with_pairs
from bot.nlu.lexicon import Lexicon
from bot.nlu.model import Floats, Indices, ModelData, float_array, index_array

#: Inverse regularisation strength of the logistic regression (measured: 30 to 100 beat 10).
REGULARISATION_C = 30.0
MAX_ITERATIONS = 2000
#: Bounds the model's size whatever the content grows to.
MAX_CHAR_FEATURES = 60_000
MAX_WORD_FEATURES = 20_000


class Fitted:
    """The scikit-learn objects of one fit, and the plain data the bot serves from."""

    def __init__(self, rows: Sequence[TrainingRow]) -> None:
        self.rows = tuple(rows)
        self.chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=CHAR_NGRAMS,
            sublinear_tf=True,
            max_features=MAX_CHAR_FEATURES,
            dtype=np.float32,
        )
        self.words = TfidfVectorizer(
            analyzer=str.split,
            sublinear_tf=True,
            max_features=MAX_WORD_FEATURES,
            dtype=np.float32,
        )
        char_rows = self.chars.fit_transform([row.surface for row in self.rows])
        word_rows = self.words.fit_transform([row.terms for row in self.rows])
        #: Every example's feature row (L2-normalised), for the label inside a group.
        self.examples = _combine(char_rows, word_rows).tocsr()
        self.model = LogisticRegression(C=REGULARISATION_C, max_iter=MAX_ITERATIONS)
        self.model.fit(self.examples, [row.group for row in self.rows])

    def features(self, texts: Sequence[str], lexicon: Lexicon) -> Any:
        """The messages' feature rows (a CSR matrix) as scikit-learn computes them, in float64
        like the bot's own (the fit itself is in float32, as it always was)."""
        analysed = [analyse(text, lexicon) for text in texts]
        chars = copy.copy(self.chars).set_params(dtype=np.float64)
        words = copy.copy(self.words).set_params(dtype=np.float64)
        return _combine(
            chars.transform([surface for surface, _ in analysed]),
            words.transform([with_pairs(terms) for _, terms in analysed]),
        ).tocsr()

    def data(self) -> ModelData:
        coefficients = np.asarray(self.model.coef_, dtype=np.float64)
        intercepts = np.asarray(self.model.intercept_, dtype=np.float64)
        if coefficients.shape[0] == 1:
            # Two groups: scikit-learn keeps one row and answers expit(z), which is the
            # softmax of (0, z), so the bot's softmax gets a zero row for the first group.
            coefficients = np.vstack([np.zeros_like(coefficients), coefficients])
            intercepts = np.concatenate([[0.0], intercepts])
        by_feature = self.examples.T.tocsr()
        by_feature.sort_indices()
        return ModelData(
            char_terms=_terms(self.chars),
            char_idf=_floats(self.chars.idf_),
            word_terms=_terms(self.words),
            word_idf=_floats(self.words.idf_),
            coefficients=_floats(coefficients.T),
            intercepts=_floats(intercepts),
            classes=tuple(str(name) for name in self.model.classes_),
            example_indptr=_indices(by_feature.indptr),
            example_indices=_indices(by_feature.indices),
            example_data=_floats(by_feature.data),
            labels=tuple(row.label for row in self.rows),
            groups=tuple(row.group for row in self.rows),
        )


def fit(rows: Sequence[TrainingRow]) -> Fitted:
    return Fitted(rows)


def _floats(values: Any) -> Floats:
    """A numpy array as the model's float array (C order, little-endian float64)."""
    return float_array(np.ascontiguousarray(values, dtype="<f8").tobytes())


def _indices(values: Any) -> Indices:
    return index_array(np.ascontiguousarray(values, dtype="<i8").tobytes())


def _terms(vectoriser: TfidfVectorizer) -> tuple[str, ...]:
    """The vocabulary in column order."""
    vocabulary: dict[str, int] = vectoriser.vocabulary_
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    return tuple(terms)


def _combine(char_rows: Any, word_rows: Any) -> Any:
    combined = sparse.hstack([char_rows, word_rows * WORD_WEIGHT], format="csr")
    norms = np.sqrt(np.asarray(combined.multiply(combined).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ combined


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the classifier (rows as JSON on stdin).")
    parser.add_argument("output", type=Path, help="where to write the fitted model (.npz)")
    args = parser.parse_args(argv)
    rows = [TrainingRow(*row) for row in json.load(sys.stdin.buffer)]
    args.output.write_bytes(fit(rows).data().to_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
