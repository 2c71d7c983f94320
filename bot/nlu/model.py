"""A fitted classifier as plain data: what the serving process holds, and its cache file.

Fitting needs scikit-learn, scipy and numpy (about 120 MB of memory, seconds of import),
serving only what they computed: the vocabularies and idf weights of the two TF-IDF
vectorisers, the logistic regression's coefficients, and every training example's feature
row (for the label inside a group). :class:`ModelData` is exactly that, in the standard
library's typed arrays (:mod:`array`) and strings, so ``bot.nlu.training`` can fit in a child
process and the server imports none of the three (numpy alone is 15 MB of its memory).

The file is one ``.npz`` (a zip of ``.npy`` members, as ``numpy.savez`` writes and
``numpy.load`` reads), written and read here with :mod:`zipfile` and :mod:`array`: the
arrays, and the strings as a UTF-8 JSON member; no pickle, so reading a file cannot run code.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import math
import struct
import sys
import zipfile
from array import array
from dataclasses import dataclass
from typing import Any, TypeAlias

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
    SyntaxError,
    zipfile.BadZipFile,
)

Floats: TypeAlias = "array[float]"
Indices: TypeAlias = "array[int]"

FLOAT_CODE = "d"
INDEX_CODE = "q"
BYTE_CODE = "B"

# --- the .npy format (version 1.0), as numpy.lib.format writes it ----------------------------

_NPY_MAGIC = b"\x93NUMPY"
_NPY_VERSION = b"\x01\x00"
_NPY_HEADER_LENGTH = struct.Struct("<H")
#: Bytes before the header's text: magic, version, the header's length.
_NPY_PREFIX = len(_NPY_MAGIC) + len(_NPY_VERSION) + _NPY_HEADER_LENGTH.size
#: numpy pads the header so the data starts on this boundary.
_NPY_ALIGN = 64
#: A header longer than this is not one of ours (numpy's own limit for version 1.0 files).
_NPY_MAX_HEADER = 65_535
_NPY_SUFFIX = ".npy"
#: The members' time stamp: the same model gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
#: Little-endian dtype strings and the array type codes they are read into.
_DESCR_OF_CODE = {FLOAT_CODE: "<f8", INDEX_CODE: "<i8", BYTE_CODE: "|u1"}
_CODE_OF_DESCR = {
    "<f8": FLOAT_CODE,
    "<f4": "f",
    "<i8": INDEX_CODE,
    "<i4": "i",
    "<u4": "I",
    "|u1": BYTE_CODE,
    "<u1": BYTE_CODE,
}
_FLOAT_CODES = frozenset({FLOAT_CODE, "f"})


@dataclass(frozen=True, slots=True, eq=False)
class ModelData:
    """A fitted classifier: features are the character n-gram columns, then the word ones."""

    #: Character n-grams and words in column order (the vectorisers' ``vocabulary_``).
    char_terms: tuple[str, ...]
    char_idf: Floats
    word_terms: tuple[str, ...]
    word_idf: Floats
    #: Features × classes in row order (the feature's weight for each class), and one
    #: intercept per class (the logistic regression).
    coefficients: Floats
    intercepts: Floats
    #: The groups the model decides between, in the coefficients' column order.
    classes: tuple[str, ...]
    #: Every training example's L2-normalised feature row, transposed (features × examples)
    #: as a CSR matrix: ``indices`` are example numbers, so one query column reaches every
    #: example that has it.
    example_indptr: Indices
    example_indices: Indices
    example_data: Floats
    #: Per example: its label and its group.
    labels: tuple[str, ...]
    groups: tuple[str, ...]

    def __post_init__(self) -> None:
        features = self.features
        examples = len(self.labels)
        indptr = self.example_indptr
        checks = {
            "char idf": len(self.char_idf) == len(self.char_terms),
            "word idf": len(self.word_idf) == len(self.word_terms),
            "coefficients": len(self.coefficients) == features * len(self.classes),
            "intercepts": len(self.intercepts) == len(self.classes),
            "examples": len(self.groups) == examples and set(self.groups) <= set(self.classes),
            "indptr": len(indptr) == features + 1
            and indptr[0] == 0
            and indptr[-1] == len(self.example_data)
            and all(start <= end for start, end in itertools.pairwise(indptr)),
            "indices": len(self.example_indices) == len(self.example_data)
            and _within(self.example_indices, examples),
        }
        broken = [name for name, ok in checks.items() if not ok]
        if broken:
            msg = f"inconsistent model data: {', '.join(broken)}"
            raise ValueError(msg)

    @property
    def features(self) -> int:
        return len(self.char_terms) + len(self.word_terms)

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT_VERSION,
            "char_terms": self.char_terms,
            "word_terms": self.word_terms,
            "classes": self.classes,
            "labels": self.labels,
            "groups": self.groups,
        }
        members: dict[str, tuple[array[Any], tuple[int, ...]]] = {
            "char_idf": (self.char_idf, (len(self.char_idf),)),
            "word_idf": (self.word_idf, (len(self.word_idf),)),
            "coefficients": (self.coefficients, (self.features, len(self.classes))),
            "intercepts": (self.intercepts, (len(self.intercepts),)),
            "example_indptr": (self.example_indptr, (len(self.example_indptr),)),
            "example_indices": (self.example_indices, (len(self.example_indices),)),
            "example_data": (self.example_data, (len(self.example_data),)),
        }
        meta_bytes = array(BYTE_CODE, json.dumps(meta).encode())
        members[_META] = (meta_bytes, (len(meta_bytes),))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, (values, shape) in members.items():
                info = zipfile.ZipInfo(name + _NPY_SUFFIX, date_time=_ZIP_TIME)
                archive.writestr(info, _npy_bytes(values, shape))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, content: bytes) -> ModelData:
        """Raises one of :data:`READ_ERRORS` when ``content`` is not a model of this format."""
        with zipfile.ZipFile(io.BytesIO(content)) as archive:

            def member(name: str) -> tuple[array[Any], tuple[int, ...]]:
                return _npy_array(archive.read(name + _NPY_SUFFIX))

            meta = json.loads(_bytes(member(_META)).decode())
            if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
                msg = "not a model file of this format"
                raise ValueError(msg)
            classes = _strings(meta["classes"])
            features = len(meta["char_terms"]) + len(meta["word_terms"])
            coefficients, shape = member("coefficients")
            if shape != (features, len(classes)):
                msg = "coefficients are not features × classes"
                raise ValueError(msg)
            return cls(
                char_terms=_strings(meta["char_terms"]),
                char_idf=_floats(member("char_idf")),
                word_terms=_strings(meta["word_terms"]),
                word_idf=_floats(member("word_idf")),
                coefficients=_floats((coefficients, shape)),
                intercepts=_floats(member("intercepts")),
                classes=classes,
                example_indptr=_indices(member("example_indptr")),
                example_indices=_indices(member("example_indices")),
                example_data=_floats(member("example_data")),
                labels=_strings(meta["labels"]),
                groups=_strings(meta["groups"]),
            )


def _npy_bytes(values: array[Any], shape: tuple[int, ...]) -> bytes:
    """One ``.npy`` file (version 1.0, C order, little-endian) of ``values``."""
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    header = repr(
        {"descr": _DESCR_OF_CODE[values.typecode], "fortran_order": False, "shape": shape}
    )
    padding = -(_NPY_PREFIX + len(header) + 1) % _NPY_ALIGN
    text = (header + " " * padding + "\n").encode("latin-1")
    return _NPY_MAGIC + _NPY_VERSION + _NPY_HEADER_LENGTH.pack(len(text)) + text + values.tobytes()


def _npy_array(content: bytes) -> tuple[array[Any], tuple[int, ...]]:
    """A ``.npy`` file's values and shape; raises ValueError for anything but a C-order array
    of a plain number type."""
    if len(content) < _NPY_PREFIX or not content.startswith(_NPY_MAGIC):
        msg = "not an .npy member"
        raise ValueError(msg)
    (length,) = _NPY_HEADER_LENGTH.unpack_from(content, _NPY_PREFIX - _NPY_HEADER_LENGTH.size)
    if length > _NPY_MAX_HEADER or _NPY_PREFIX + length > len(content):
        msg = "broken .npy header"
        raise ValueError(msg)
    header = ast.literal_eval(content[_NPY_PREFIX : _NPY_PREFIX + length].decode("latin-1"))
    if not isinstance(header, dict) or header.get("fortran_order") is not False:
        msg = "not a C-order .npy array"
        raise ValueError(msg)
    code = _CODE_OF_DESCR.get(header.get("descr"))  # type: ignore[arg-type]
    shape = header.get("shape")
    if (
        code is None
        or not isinstance(shape, tuple)
        or not all(isinstance(size, int) and size >= 0 for size in shape)
    ):
        msg = "unsupported .npy array"
        raise ValueError(msg)
    values = array(code)
    data = content[_NPY_PREFIX + length :]
    if len(data) != math.prod(shape) * values.itemsize:
        msg = "the .npy data does not match its shape"
        raise ValueError(msg)
    values.frombytes(data)
    if sys.byteorder != "little" and values.itemsize > 1:
        values.byteswap()
    return values, shape


def _within(indices: Indices, size: int) -> bool:
    return not len(indices) or (min(indices) >= 0 and max(indices) < size)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = "expected a list of strings"
        raise TypeError(msg)
    return tuple(value)


def _bytes(member: tuple[array[Any], tuple[int, ...]]) -> bytes:
    values, shape = member
    if values.typecode != BYTE_CODE or len(shape) != 1:
        msg = "expected bytes"
        raise TypeError(msg)
    return values.tobytes()


def _floats(member: tuple[array[Any], tuple[int, ...]]) -> Floats:
    values, _ = member
    if values.typecode not in _FLOAT_CODES:
        msg = "expected floats"
        raise TypeError(msg)
    return values if values.typecode == FLOAT_CODE else array(FLOAT_CODE, values)


def _indices(member: tuple[array[Any], tuple[int, ...]]) -> Indices:
    values, shape = member
    if values.typecode in _FLOAT_CODES or values.typecode == BYTE_CODE or len(shape) != 1:
        msg = "expected integers"
        raise TypeError(msg)
    return values if values.typecode == INDEX_CODE else array(INDEX_CODE, values)


def float_array(values: Any) -> Floats:
    """Numbers as the model's float array: an iterable of numbers, or the bytes of
    little-endian float64s (``numpy.ndarray.tobytes``, much faster than iterating it)."""
    return array(FLOAT_CODE, values)


def index_array(values: Any) -> Indices:
    """Whole numbers as the model's index array: an iterable, or the bytes of little-endian
    int64s."""
    return array(INDEX_CODE, values)


__all__ = [
    "FORMAT_VERSION",
    "READ_ERRORS",
    "Floats",
    "Indices",
    "ModelData",
    "float_array",
    "index_array",
]
