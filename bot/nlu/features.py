"""What the classifier sees of a message: the analysed text, character n-grams, word pairs.

Shared by the serving side (``bot.nlu.classifier``) and the fitting side
(``bot.nlu.training``), so both read a message the same way; only the standard library here.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from bot.nlu.lexicon import Lexicon

#: Character n-grams inside word boundaries (scikit-learn's ``char_wb``), 2 to 5 long.
CHAR_NGRAMS = (2, 5)
#: Weight of the word features next to the character ones (both L2-normalised).
WORD_WEIGHT = 0.8
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
    ``group`` what the model decides between (see ``bot.nlu.classifier``)."""

    text: str
    label: str
    group: str


@dataclass(frozen=True, slots=True)
class TrainingRow:
    """One example as the features see it: what a training process needs, as plain strings
    (the lexicon stays in this process)."""

    surface: str
    terms: str
    label: str
    group: str

    @classmethod
    def of(cls, example: Example, lexicon: Lexicon) -> TrainingRow:
        surface, terms = analyse(example.text, lexicon)
        return cls(surface, with_pairs(terms), example.label, example.group)


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


def char_ngrams(text: str) -> list[str]:
    """scikit-learn's ``char_wb`` analyser: lower case, then each word's n-grams."""
    return [gram for word in text.lower().split() for gram in word_ngrams(word)]


def word_ngrams(word: str) -> list[str]:
    """scikit-learn's ``_char_wb_ngrams`` for one word: padded with a space on both sides,
    its n-grams for n in :data:`CHAR_NGRAMS`; a padded word no longer than n counts once,
    whole. (Its loop, which measured faster than slicing comprehensions.)"""
    padded = f" {word} "
    length = len(padded)
    shortest, longest = CHAR_NGRAMS
    grams: list[str] = []
    append = grams.append
    for size in range(shortest, longest + 1):
        offset = 0
        append(padded[:size])
        while offset + size < length:
            offset += 1
            append(padded[offset : offset + size])
        if offset == 0:
            break
    return grams


def with_pairs(terms: str) -> str:
    """Terms plus adjacent pairs joined by "+" (word bigrams without a second vectoriser)."""
    words = terms.split()
    return " ".join(words + [f"{a}+{b}" for a, b in itertools.pairwise(words)])
