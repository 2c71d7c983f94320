"""The label inside a very large group, found with numpy.

Imported by :class:`bot.nlu.classifier.Classifier` only when the content has a group past
``NUMPY_GROUP_ENTRIES`` feature entries (about a thousand FAQ entries on one programme): the
label step walks every entry of the query's columns in the group, which plain Python does at
about 50 ns an entry (8 ms at the 99th percentile with 1,000 FAQ entries) and numpy's
gathers at a tenth of that. The real content's groups stay under it by far, so the bot's
process does not pay numpy's 15 MB for them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.nlu.model import Floats, Indices

_IndexArray = npt.NDArray[np.intp]
_FloatArray = npt.NDArray[np.float64]


class LargeGroup:
    """One group's examples transposed (features × the group's examples, CSR) as numpy
    arrays, and the closest example to a query."""

    def __init__(self, *, indptr: Indices, indices: Indices, data: Floats, size: int) -> None:
        self._indptr: _IndexArray = np.asarray(indptr, dtype=np.intp)
        self._indices: _IndexArray = np.asarray(indices, dtype=np.intp)
        self._data: _FloatArray = np.asarray(data, dtype=np.float64)
        self._size = size

    def closest(self, columns: list[int], values: list[float]) -> int:
        """The number (in the group) of the example with the highest cosine similarity to
        the query; the first of equals, as ``max`` over the plain similarities picks."""
        query_columns = np.asarray(columns, dtype=np.intp)
        starts = self._indptr[query_columns]
        lengths = self._indptr[query_columns + 1] - starts
        total = int(lengths.sum())
        if not total:
            return 0
        shifts = starts - np.concatenate(([0], np.cumsum(lengths)[:-1]))
        positions = np.repeat(shifts, lengths) + np.arange(total)
        weights = self._data[positions] * np.repeat(np.asarray(values), lengths)
        similarities = np.bincount(self._indices[positions], weights=weights, minlength=self._size)
        return int(np.argmax(similarities))


__all__ = ["LargeGroup"]
