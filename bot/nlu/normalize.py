"""Text normalisation for Vietnamese chat input.

Two forms are used: :func:`normalize` keeps diacritics (Unicode NFC, lower case, single
spaces) for display and exact matching; :func:`fold` drops every diacritic and maps đ to d,
so "hòa", "hoà" and "hoa" share one key, as owners typing on cheap phones expect.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFC, lower case, collapsed white space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()


def fold(text: str) -> str:
    """A diacritic-free key: NFD, combining marks removed, đ→d, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.replace("đ", "d")).strip()
