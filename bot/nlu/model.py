"""A fitted classifier as plain data: what the serving process holds, and its cache file.

Fitting needs scikit-learn and scipy (about 100 MB of memory, seconds of import), serving
only what they computed: the vocabularies and idf weights of the two TF-IDF vectorisers, the
logistic regression's coefficients, and every training example's feature row (for the label
inside a group). :class:`ModelData` is exactly that, in numpy arrays and strings, so
``bot.nlu.training`` can fit in a child process and the server never imports either library.

The file is one ``.npz`` (``numpy.savez``, read with ``allow_pickle=False``): the arrays, and
the strings as a UTF-8 JSON member; no pickle, so reading a file cannot run code.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: Bump when the features, the model or this file's layout change: it is part of the cache
#: file's name (``bot.nlu.classifier.training_hash``) and checked when a file is read.
FORMAT_VERSION = 3
_META = "meta"
#: Errors that mean "this is not a model file": the caller trains again.
READ_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    zipfile.BadZipFile,
)

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, eq=False)
class ModelData:
    """A fitted classifier: features are the character n-gram columns, then the word ones."""

    #: Character n-grams and words in column order (the vectorisers' ``vocabulary_``).
    char_terms: tuple[str, ...]
    char_idf: FloatArray
    word_terms: tuple[str, ...]
    word_idf: FloatArray
    #: Features × classes, and one intercept per class (the logistic regression).
    coefficients: FloatArray
    intercepts: FloatArray
    #: The groups the model decides between, in the coefficients' column order.
    classes: tuple[str, ...]
    #: Every training example's L2-normalised feature row, transposed (features × examples)
    #: as a CSR matrix: ``indices`` are example numbers, so one query column reaches every
    #: example that has it.
    example_indptr: IndexArray
    example_indices: IndexArray
    example_data: FloatArray
    #: Per example: its label and its group.
    labels: tuple[str, ...]
    groups: tuple[str, ...]

    def __post_init__(self) -> None:
        features = len(self.char_terms) + len(self.word_terms)
        examples = len(self.labels)
        checks = {
            "char idf": self.char_idf.shape == (len(self.char_terms),),
            "word idf": self.word_idf.shape == (len(self.word_terms),),
            "coefficients": self.coefficients.shape == (features, len(self.classes)),
            "intercepts": self.intercepts.shape == (len(self.classes),),
            "examples": len(self.groups) == examples and set(self.groups) <= set(self.classes),
            "indptr": self.example_indptr.shape == (features + 1,)
            and int(self.example_indptr[0]) == 0
            and int(self.example_indptr[-1]) == len(self.example_data)
            and bool(np.all(np.diff(self.example_indptr) >= 0)),
            "indices": self.example_indices.shape == self.example_data.shape
            and _within(self.example_indices, examples),
        }
        broken = [name for name, ok in checks.items() if not ok]
        if broken:
            msg = f"inconsistent model data: {', '.join(broken)}"
            raise ValueError(msg)

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT_VERSION,
            "char_terms": self.char_terms,
            "word_terms": self.word_terms,
            "classes": self.classes,
            "labels": self.labels,
            "groups": self.groups,
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "char_idf": self.char_idf,
            "word_idf": self.word_idf,
            "coefficients": self.coefficients,
            "intercepts": self.intercepts,
            "example_indptr": self.example_indptr,
            "example_indices": self.example_indices,
            "example_data": self.example_data,
            _META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        }
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, content: bytes) -> ModelData:
        """Raises one of :data:`READ_ERRORS` when ``content`` is not a model of this format."""
        with np.load(io.BytesIO(content), allow_pickle=False) as arrays:
            meta = json.loads(arrays[_META].tobytes().decode())
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
                msg = "not a model file of this format"
                raise ValueError(msg)
            return cls(
                char_terms=_strings(meta["char_terms"]),
                char_idf=_floats(arrays["char_idf"]),
                word_terms=_strings(meta["word_terms"]),
                word_idf=_floats(arrays["word_idf"]),
                coefficients=_floats(arrays["coefficients"]),
                intercepts=_floats(arrays["intercepts"]),
                classes=_strings(meta["classes"]),
                example_indptr=_indices(arrays["example_indptr"]),
                example_indices=_indices(arrays["example_indices"]),
                example_data=_floats(arrays["example_data"]),
                labels=_strings(meta["labels"]),
                groups=_strings(meta["groups"]),
            )


def _within(indices: IndexArray, size: int) -> bool:
    return not len(indices) or (int(indices.min()) >= 0 and int(indices.max()) < size)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = "expected a list of strings"
        raise TypeError(msg)
    return tuple(value)


def _floats(array: Any) -> FloatArray:
    return np.ascontiguousarray(array, dtype=np.float64)


def _indices(array: Any) -> IndexArray:
    if not np.issubdtype(np.asarray(array).dtype, np.integer):
        msg = "expected integers"
        raise TypeError(msg)
    return np.ascontiguousarray(array, dtype=np.intp)
