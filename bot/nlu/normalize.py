"""Text normalisation for Vietnamese chat input.

Two forms are used: :func:`normalize` keeps diacritics (Unicode NFC, lower case, single
spaces, one tone-mark placement) for display and exact matching; :func:`fold` drops every
diacritic and maps đ to d, so "hòa", "hoà" and "hoa" share one key, as owners typing on cheap
phones expect.

Vietnamese has two accepted tone-mark placements ("hòa"/"hoà", "thủy"/"thuỷ", "khỏe"/"khoẻ");
keyboards and staff documents mix them, so :func:`normalize` rewrites every syllable to the
classic placement (tone on the first vowel of an open "oa", "oe", "uy"), which is also the form
most Vietnamese web text uses.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")

#: The five tone marks as combining characters (huyền, sắc, hỏi, ngã, nặng).
_TONES = frozenset("\u0300\u0301\u0309\u0303\u0323")
#: Vowel-quality marks: circumflex (â ê ô), breve (ă) and horn (ơ ư).
_QUALITY = frozenset("\u0302\u0306\u031b")
_VOWELS = frozenset("aeiouy")
#: A three-vowel cluster without a quality mark carries its tone on the middle vowel (hoài).
_TRIPHTHONG = 3


def normalize(text: str) -> str:
    """NFC, lower case, collapsed white space, classic tone-mark placement."""
    lowered = _SPACES.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()
    return _WORD.sub(_place_tone, lowered)


def fold(text: str) -> str:
    """A diacritic-free key: NFD, combining marks removed, đ→d, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.replace("đ", "d")).strip()


def _place_tone(match: re.Match[str]) -> str:
    """Move the tone mark of one syllable to its classic position; other words pass through."""
    word = match.group(0)
    if word.isascii():
        return word
    # Each letter as (base letter, quality mark, tone mark).
    letters: list[tuple[str, str, str]] = []
    tone = ""
    for char in word:
        parts = _LETTERS.get(char)
        if parts is None:
            if not (char.isascii() or char == "đ"):
                return word  # a letter Vietnamese does not use: not a Vietnamese syllable
            parts = (char, "", "")
        elif parts[2]:
            if tone:
                return word  # two tone marks: leave it as typed
            tone = parts[2]
        letters.append(parts)
    if not tone:
        return word
    target = _tone_position([(base, quality) for base, quality, _ in letters])
    if target is None:
        return word
    return "".join(
        _COMPOSED.get((base, quality, tone if index == target else ""), base)
        for index, (base, quality, _) in enumerate(letters)
    )


def _letter_table() -> dict[str, tuple[str, str, str]]:
    """Every precomposed Vietnamese vowel → (base, quality mark, tone mark)."""
    table: dict[str, tuple[str, str, str]] = {}
    for base in sorted(_VOWELS):
        for quality in ("", *sorted(_QUALITY)):
            for tone in ("", *sorted(_TONES)):
                char = unicodedata.normalize("NFC", base + quality + tone)
                if len(char) == 1:
                    table[char] = (base, quality, tone)
    return table


_LETTERS: Final[Mapping[str, tuple[str, str, str]]] = MappingProxyType(_letter_table())
_COMPOSED: Final[Mapping[tuple[str, str, str], str]] = MappingProxyType(
    {parts: char for char, parts in _LETTERS.items()}
)


def _tone_position(letters: list[tuple[str, str]]) -> int | None:
    """Index of the letter that carries the tone in the classic placement."""
    bases = "".join(base for base, _ in letters)
    start = 0
    # "qu" and "gi" (before another vowel) are consonants: quá, giá, but gì.
    if bases.startswith("qu") or (
        bases.startswith("gi") and len(bases) > 2 and bases[2] in _VOWELS
    ):
        start = 2
    cluster = []
    index = start
    while index < len(letters) and letters[index][0] not in _VOWELS:
        index += 1
    while index < len(letters) and letters[index][0] in _VOWELS:
        cluster.append(index)
        index += 1
    if not cluster:
        return None if start == 0 else start - 1  # "gì" after stripping gi: the i itself
    has_final = index < len(letters)
    if any(base in _VOWELS for base, _ in letters[index:]):
        return None  # two vowel groups: a foreign word ("café"), not one syllable
    marked = [position for position in cluster if letters[position][1]]
    if marked:
        return marked[-1]  # ươ carries the tone on ơ, uyê on ê, iê on ê
    if len(cluster) == 1:
        return cluster[0]
    if len(cluster) >= _TRIPHTHONG:
        return cluster[1]
    return cluster[1] if has_final else cluster[0]
