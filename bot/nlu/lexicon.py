"""The words the bot knows about owners' chat: abbreviations, synonyms and stop words.

Staff keep three files under ``content/nlu/``: ``abbreviations.yaml`` (full word → the short
and chat spellings owners type: "ko", "dc", "mmtb"…), ``synonyms.yaml`` (groups of phrases that
mean the same topic: "hội chợ" ≈ "triển lãm" ≈ "gian hàng"; and ``other_topics``, topics the
Center does not deal with, such as bank loans) and ``stopwords.yaml`` (polite fillers and
question words that say nothing about the topic, and phrases such as "nhà nước").
:func:`load_lexicon` reads them once; :class:`Lexicon` turns a text into the tokens and terms
the search index compares.

Matching is on the folded (diacritic-free) form, because most owners type without diacritics.
One refinement keeps that from going wrong: a token typed *with* diacritics only matches an
entry written with exactly those diacritics, so "hồng" (pink) is never read as "hong" (không)
and "nhà" (house) is never dropped as the particle "nha".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.core.checks import Problem
from bot.core.texts import ContentError, load_yaml
from bot.nlu.normalize import fold, normalize

NLU_DIR = "nlu"
ABBREVIATIONS_FILE = "abbreviations.yaml"
SYNONYMS_FILE = "synonyms.yaml"
STOP_WORDS_FILE = "stopwords.yaml"

#: Prefix of the term standing for a synonym group; tokens never contain "_", so no clash.
CONCEPT_PREFIX = "_"
#: The "concept" of a stop phrase: the phrase is dropped.
DROP = ""
#: Sections of ``synonyms.yaml``: groups of the Center's topics, and topics it does not cover.
GROUPS_KEY = "groups"
OTHER_TOPICS_KEY = "other_topics"
#: A synonym group needs at least two phrases, or it says nothing.
MIN_GROUP_SIZE = 2

_TOKEN = re.compile(r"[^\W_]+")
#: "300tr", "50k", "2tr5": a number glued to a unit is read as two tokens.
_NUMBER_UNIT = re.compile(r"^(\d+)([^\W\d_]+)(\d*)$")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: as typed (``norm``, NFC lower case) and folded (``key``).

    ``corrected`` marks a word the index changed to a known word (a typo fix), so the match
    counts it with less confidence.
    """

    norm: str
    key: str
    corrected: bool = False

    @property
    def plain(self) -> bool:
        """Typed without diacritics (đ aside), so its meaning is the folded one."""
        return self.norm.replace("đ", "d") == self.key

    @classmethod
    def of(cls, text: str) -> Token:
        norm = normalize(text)
        return cls(norm, fold(norm))


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Abbreviations, synonym groups and stop words, ready for fast look-up."""

    #: Folded plain spelling → the tokens it stands for ("dc" → được).
    abbreviations: Mapping[str, tuple[Token, ...]]
    #: Spelling typed with diacritics ("hông") → the tokens it stands for.
    accented_abbreviations: Mapping[str, tuple[Token, ...]]
    #: Folded phrase (tuple of keys) → the concept term of its group (``DROP`` for a stop
    #: phrase).
    synonyms: Mapping[tuple[str, ...], str]
    #: Synonym and stop phrases as written (NFC words), for matching typed-with-care text.
    written_phrases: frozenset[tuple[str, ...]]
    #: Concepts of topics the Center does not deal with (bank loans, jobs…).
    other_topics: frozenset[str]
    #: Stop words as written (with diacritics) and folded.
    stop_words: frozenset[str]
    stop_keys: frozenset[str]
    #: First word of a synonym or stop phrase → words in the longest phrase it starts.
    phrase_heads: Mapping[str, int] = field(init=False)

    def __post_init__(self) -> None:
        heads: dict[str, int] = {}
        for phrase in self.synonyms:
            heads[phrase[0]] = max(heads.get(phrase[0], 0), len(phrase))
        object.__setattr__(self, "phrase_heads", MappingProxyType(heads))

    def chat_keys(self) -> frozenset[str]:
        """Folded stop words, abbreviations and their expansions: never typo-fixed."""
        keys = set(self.stop_keys) | set(self.abbreviations)
        for expansion in (*self.abbreviations.values(), *self.accented_abbreviations.values()):
            keys.update(token.key for token in expansion)
        return frozenset(keys)

    def known_keys(self) -> frozenset[str]:
        """Folded words this lexicon understands without any document."""
        return self.chat_keys() | frozenset(word for phrase in self.synonyms for word in phrase)

    def synonym_keys(self, concepts: Collection[str]) -> frozenset[str]:
        """Folded words of the phrases of ``concepts`` (typos of them are worth fixing).

        Only concepts the documents use count: a group kept apart so that "máy bay" is not
        read as a machine must never become the target of a typo fix ("máy sấy")."""
        return frozenset(
            word
            for phrase, concept in self.synonyms.items()
            if concept in concepts
            for word in phrase
        )

    def synonym_bigrams(self, concepts: Collection[str]) -> frozenset[tuple[str, str]]:
        """Pairs of adjacent folded words inside the phrases of ``concepts`` ("thiet", "bi")."""
        return frozenset(
            pair
            for phrase, concept in self.synonyms.items()
            if concept in concepts
            for pair in itertools.pairwise(phrase)
        )

    def tokens(self, text: str) -> list[Token]:
        """Split ``text`` into tokens, dropping numbers and expanding abbreviations."""
        result: list[Token] = []
        for word in _TOKEN.findall(normalize(text)):
            for piece in _split_number_unit(word):
                if piece.isdigit():
                    continue  # amounts and years say nothing about the topic
                token = Token(piece, fold(piece))
                result.extend(self.expand(token))
        return result

    def expand(self, token: Token) -> tuple[Token, ...]:
        """The tokens an abbreviation or chat spelling stands for (or the token itself)."""
        if token.plain:
            expansion = self.abbreviations.get(token.key)
        else:
            expansion = self.accented_abbreviations.get(token.norm)
        if expansion is None:
            return (token,)
        if token.corrected:
            return tuple(replace(part, corrected=True) for part in expansion)
        return expansion

    def terms(self, tokens: Iterable[Token], *, strict: bool = False) -> list[Token]:
        """Replace synonym phrases by their concept and drop stop words.

        A plain word whose folded form is a stop word ("nha": nhé or nhà?) is taken as the stop
        word; a word typed with other diacritics than the stop word ("nhà") is kept.
        ``strict`` (for the Center's own documents, typed with care) makes words written with
        diacritics match only a phrase written the same way: "công nhận" is not "công nhân".
        Owners' queries are matched leniently, so "máy mọc" still means "máy móc".
        """
        words = list(tokens)
        result: list[Token] = []
        index = 0
        while index < len(words):
            concept, size = self._concept_at(words, index, strict=strict)
            if concept == DROP:
                index += size  # a stop phrase ("nhà nước")
                continue
            if concept is not None:
                corrected = any(word.corrected for word in words[index : index + size])
                result.append(Token(concept, concept, corrected=corrected))
                index += size
                continue
            word = words[index]
            index += 1
            if not self._is_stop_word(word):
                result.append(word)
        return result

    def _concept_at(
        self, words: list[Token], start: int, *, strict: bool
    ) -> tuple[str | None, int]:
        longest = self.phrase_heads.get(words[start].key, 0)
        for size in range(min(longest, len(words) - start), 0, -1):
            window = words[start : start + size]
            concept = self.synonyms.get(tuple(word.key for word in window))
            if concept is None:
                continue
            accented = strict and not any(word.plain for word in window)
            if accented and tuple(word.norm for word in window) not in self.written_phrases:
                continue
            return concept, size
        return None, 0

    def _is_stop_word(self, word: Token) -> bool:
        return word.norm in self.stop_words or (word.plain and word.key in self.stop_keys)


def load_lexicon(root: Path) -> Lexicon:
    """Read ``<root>/nlu/*.yaml``; a malformed file raises :class:`ContentError` naming it."""
    folder = root / NLU_DIR
    plain, accented = _load_abbreviations(folder / ABBREVIATIONS_FILE)
    synonyms, written, other_topics = _load_synonyms(folder / SYNONYMS_FILE)
    stop_path = folder / STOP_WORDS_FILE
    stop_words, stop_phrases = _load_stop_words(stop_path)
    for phrase in stop_phrases:
        key = tuple(token.key for token in phrase)
        if synonyms.get(key, DROP) != DROP:
            msg = f"{stop_path}: {' '.join(key)!r} is also a synonym phrase"
            raise ContentError(msg)
        synonyms[key] = DROP
        written.add(tuple(token.norm for token in phrase))
    return Lexicon(
        abbreviations=plain,
        accented_abbreviations=accented,
        synonyms=synonyms,
        written_phrases=frozenset(written),
        other_topics=other_topics,
        stop_words=stop_words,
        stop_keys=frozenset(fold(word) for word in stop_words),
    )


def check_lexicon(root: Path) -> list[Problem]:
    """Problems in ``<root>/nlu/*.yaml`` (empty when all is well), for the content check."""
    try:
        load_lexicon(root)
    except ContentError as exc:
        return [Problem.from_line(line, default=root / "nlu") for line in str(exc).splitlines()]
    return []


def concept_name(phrase: str) -> str:
    """The term standing for the synonym group whose first phrase is ``phrase``."""
    return CONCEPT_PREFIX + "_".join(fold(phrase).split())


def _split_number_unit(word: str) -> tuple[str, ...]:
    match = _NUMBER_UNIT.match(word)
    if match is None:
        return (word,)
    return tuple(part for part in match.groups() if part)


def _phrase_tokens(text: str) -> tuple[Token, ...]:
    return tuple(Token(word, fold(word)) for word in _TOKEN.findall(normalize(text)))


def _load_abbreviations(
    path: Path,
) -> tuple[dict[str, tuple[Token, ...]], dict[str, tuple[Token, ...]]]:
    data = load_yaml(path)
    if not isinstance(data, dict) or not data:
        msg = f"{path}: expected a mapping of full words to lists of short spellings"
        raise ContentError(msg)
    plain: dict[str, tuple[Token, ...]] = {}
    accented: dict[str, tuple[Token, ...]] = {}
    for full, forms in data.items():
        expansion = _phrase_tokens(str(full)) if isinstance(full, str) else ()
        if not expansion:
            msg = f"{path}: {full!r}: the full word must be text"
            raise ContentError(msg)
        for form in _string_list(path, str(full), forms):
            token = Token.of(form)
            if _TOKEN.fullmatch(token.norm) is None:
                msg = f"{path}: {full}: {form!r} must be one word (letters and digits)"
                raise ContentError(msg)
            table, key = (plain, token.key) if token.plain else (accented, token.norm)
            previous = table.get(key)
            if previous is not None and previous != expansion:
                msg = f"{path}: {form!r} is listed for two different words"
                raise ContentError(msg)
            table[key] = expansion
    return plain, accented


def _load_synonyms(
    path: Path,
) -> tuple[dict[tuple[str, ...], str], set[tuple[str, ...]], frozenset[str]]:
    """Phrase → concept for every group, the phrases as written, and the other topics."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get(GROUPS_KEY), list):
        msg = f"{path}: expected {GROUPS_KEY}: (and {OTHER_TOPICS_KEY}:), each a list of groups"
        raise ContentError(msg)
    unknown = sorted(str(key) for key in data if key not in {GROUPS_KEY, OTHER_TOPICS_KEY})
    if unknown:
        msg = f"{path}: unknown section {unknown[0]!r}"
        raise ContentError(msg)
    synonyms: dict[tuple[str, ...], str] = {}
    written: set[tuple[str, ...]] = set()
    other_topics: set[str] = set()
    for section in (GROUPS_KEY, OTHER_TOPICS_KEY):
        groups = data.get(section) or []
        if not isinstance(groups, list):
            msg = f"{path}: {section}: expected a list of groups (each a list of phrases)"
            raise ContentError(msg)
        for number, group in enumerate(groups, start=1):
            where = f"{section} group {number}"
            phrases = _string_list(path, where, group)
            if len(phrases) < MIN_GROUP_SIZE:
                msg = f"{path}: {where} needs at least {MIN_GROUP_SIZE} phrases"
                raise ContentError(msg)
            concept = concept_name(phrases[0])
            if section == OTHER_TOPICS_KEY:
                other_topics.add(concept)
            for phrase in phrases:
                tokens = _phrase_tokens(phrase)
                key = tuple(token.key for token in tokens)
                if not key:
                    msg = f"{path}: {where}: {phrase!r} has no word"
                    raise ContentError(msg)
                previous = synonyms.get(key)
                if previous is not None and previous != concept:
                    msg = f"{path}: {phrase!r} is in two groups"
                    raise ContentError(msg)
                synonyms[key] = concept
                written.add(tuple(token.norm for token in tokens))
    return synonyms, written, frozenset(other_topics)


def _load_stop_words(path: Path) -> tuple[frozenset[str], list[tuple[Token, ...]]]:
    """Single stop words (as written) and stop phrases (dropped as a whole)."""
    data = load_yaml(path)
    words: set[str] = set()
    phrases: list[tuple[Token, ...]] = []
    for entry in _string_list(path, "stop words", data):
        tokens = _phrase_tokens(entry)
        if " ".join(token.norm for token in tokens) != normalize(entry) or not tokens:
            msg = f"{path}: {entry!r} must be words (letters and digits)"
            raise ContentError(msg)
        if len(tokens) == 1:
            words.add(tokens[0].norm)
        else:
            phrases.append(tokens)
    return frozenset(words), phrases


def _string_list(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        msg = f"{path}: {where}: expected a non-empty list of texts"
        raise ContentError(msg)
    if not all(isinstance(item, str | int) and str(item).strip() for item in value):
        msg = f"{path}: {where}: every entry must be a non-empty text"
        raise ContentError(msg)
    return [str(item).strip() for item in value]
