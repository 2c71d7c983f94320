"""A small search index over example questions, built once and queried on every typed message.

Why this design, and not plain rapidfuzz or plain BM25:

* Whole-string fuzzy matching (rapidfuzz ``token_set_ratio`` over every phrase) has no notion
  of which words matter: "hỗ trợ" and "không" weigh as much as "hội chợ", so an out-of-scope
  question that happens to share the filler words scores well, and its cost grows with every
  phrase (a full scan per query).
* BM25 weighs words by rarity (idf) and is fast with an inverted index, but its raw score is
  unbounded and cannot say "not sure": a question about the weather still ranks *some*
  document first.

So the index keeps BM25's parts and adds what a chat bot needs:

1. **Analysis** (:class:`~bot.nlu.lexicon.Lexicon`): fold diacritics, expand abbreviations
   ("mmtb", "dc", "ko"), map synonym phrases to one concept ("triển lãm" → hội chợ), drop
   stop words. Queries without diacritics and with misplaced ones ("hổ trợ máy mọc") fold to
   the same key as the documents.
2. **Typo fixing with rapidfuzz**: a query word found neither in the documents nor in the
   lexicon is replaced by the closest document word within a small Damerau–Levenshtein
   distance ("tiet bi" → "thiet bi"), and counts with less confidence.
3. **Score in [0, 1]**: the idf-weighted share of the query that a document explains, mostly
   judged against its single best phrase (an example question, so word order and context
   count) and partly against the whole document (words spread over its keywords). A query
   word unknown to every document carries the highest weight, which is exactly what pushes
   "thời tiết", "bóng đá" and "vay ngân hàng" below the threshold. BM25 breaks ties.

Everything is precomputed into posting lists, so a query touches only the phrases that share
one of its terms: well under a millisecond with a thousand documents.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.nlu.lexicon import Lexicon, Token

#: BM25 parameters (the usual values); only used to break ties between equal scores.
BM25_K1 = 1.2
BM25_B = 0.75
#: Share of the score decided by the best single phrase; the rest by the whole document.
PHRASE_SHARE = 0.75
#: Even a phrase with many more words than the query keeps this share of the phrase score.
PHRASE_FLOOR = 0.7
#: A word fixed by typo correction counts this much of a word typed right.
CORRECTION_CREDIT = 0.8
#: Words shorter than this are never typo-fixed: two or three letters leave no room for a typo.
MIN_CORRECTABLE = 3
#: From this length a word may be two edits away from the word meant.
LONG_WORD = 6
SHORT_WORD_EDITS = 1
LONG_WORD_EDITS = 2
#: How many candidate corrections rapidfuzz returns before the context picks one.
CORRECTION_CANDIDATES = 5
#: Remembered typo candidates (the same misspellings come back all day); cleared when full.
CORRECTION_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """Something the bot can answer with: ``phrases`` are example questions and keywords."""

    id: str
    title: str
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """A document and how well it explains the query, from 0 (not at all) to 1."""

    id: str
    score: float


@dataclass(slots=True)
class _Postings:
    """Where each term occurs: which phrases, and which documents with their BM25 part."""

    phrases: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    documents: dict[str, list[tuple[int, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


class Index:
    """An inverted index over :class:`SearchDocument` phrases; see the module docstring."""

    def __init__(
        self,
        *,
        lexicon: Lexicon,
        ids: Sequence[str],
        idf: dict[str, float],
        unknown_idf: float,
        postings: _Postings,
        phrase_document: Sequence[int],
        phrase_weight: Sequence[float],
        vocabulary: dict[str, int],
        bigrams: frozenset[tuple[str, str]],
    ) -> None:
        self._lexicon = lexicon
        self._ids = tuple(ids)
        self._idf = idf
        self._unknown_idf = unknown_idf
        self._phrase_postings = dict(postings.phrases)
        self._document_postings = dict(postings.documents)
        self._phrase_document = tuple(phrase_document)
        self._phrase_weight = tuple(phrase_weight)
        #: Folded document words with their document frequency (typo fixes prefer common ones).
        self._vocabulary = vocabulary
        #: Typo fixes aim at document words and at synonym words the documents may not use.
        self._choices = tuple(sorted(set(vocabulary) | lexicon.synonym_keys()))
        self._known = lexicon.known_keys() | frozenset(vocabulary)
        self._bigrams = bigrams
        self._corrections: dict[str, tuple[str, ...]] = {}

    @classmethod
    def build(cls, docs: Iterable[SearchDocument], lexicon: Lexicon) -> Index:
        """Analyse every phrase once; duplicate document ids are a programming error."""
        documents = list(docs)
        ids = [doc.id for doc in documents]
        if len(set(ids)) != len(ids):
            duplicates = sorted(key for key, count in Counter(ids).items() if count > 1)
            msg = f"duplicate search document ids: {', '.join(duplicates)}"
            raise ValueError(msg)
        vocabulary: Counter[str] = Counter()
        phrase_terms: list[frozenset[str]] = []
        phrase_document: list[int] = []
        document_terms: list[Counter[str]] = []
        bigrams = set(lexicon.synonym_bigrams())
        for number, doc in enumerate(documents):
            counts: Counter[str] = Counter()
            words: set[str] = set()
            for phrase in (doc.title, *doc.phrases):
                tokens = lexicon.tokens(phrase)
                words.update(token.key for token in tokens)
                keys = [token.key for token in tokens]
                bigrams.update(itertools.pairwise(keys))
                terms = [term.key for term in lexicon.terms(tokens)]
                if not terms:
                    continue
                counts.update(terms)
                phrase_terms.append(frozenset(terms))
                phrase_document.append(number)
            vocabulary.update(words)
            document_terms.append(counts)

        total = len(documents)
        frequency: Counter[str] = Counter()
        for counts in document_terms:
            frequency.update(counts.keys())
        idf = {term: _idf(total, count) for term, count in frequency.items()}
        lengths = [sum(counts.values()) for counts in document_terms]
        average = (sum(lengths) / total) if total else 0.0

        postings = _Postings()
        for number, unique_terms in enumerate(phrase_terms):
            for term in unique_terms:
                postings.phrases[term].append(number)
        for number, counts in enumerate(document_terms):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[number] / average) if average else 0
            for term, count in counts.items():
                weight = idf[term] * count * (BM25_K1 + 1) / (count + norm)
                postings.documents[term].append((number, weight))
        return cls(
            lexicon=lexicon,
            ids=ids,
            idf=idf,
            unknown_idf=_idf(total, 0),
            postings=postings,
            phrase_document=phrase_document,
            phrase_weight=[sum(idf[term] for term in terms) for terms in phrase_terms],
            vocabulary=dict(vocabulary),
            bigrams=frozenset(bigrams),
        )

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, *, limit: int = 2) -> list[Match]:
        """The ``limit`` documents that best explain ``query``, best first (may be empty)."""
        terms = self.analyse(query)
        if not terms or limit <= 0:
            return []
        weights = {term.key: self._idf.get(term.key, self._unknown_idf) for term in terms}
        credits: dict[str, float] = {}
        for term in terms:
            credit = CORRECTION_CREDIT if term.corrected else 1.0
            credits[term.key] = max(credits.get(term.key, 0.0), credit)
        total = sum(weights.values())

        phrase_hits: defaultdict[int, float] = defaultdict(float)
        document_hits: defaultdict[int, float] = defaultdict(float)
        bm25: defaultdict[int, float] = defaultdict(float)
        for key, weight in weights.items():
            gained = weight * credits[key]
            for phrase in self._phrase_postings.get(key, ()):
                phrase_hits[phrase] += gained
            for document, part in self._document_postings.get(key, ()):
                document_hits[document] += gained
                bm25[document] += part

        best_phrase: defaultdict[int, float] = defaultdict(float)
        for phrase, gained in phrase_hits.items():
            coverage = min(1.0, gained / self._phrase_weight[phrase]) if gained else 0.0
            score = gained / total * (PHRASE_FLOOR + (1 - PHRASE_FLOOR) * coverage)
            document = self._phrase_document[phrase]
            best_phrase[document] = max(best_phrase[document], score)

        ranked = sorted(
            (
                (PHRASE_SHARE * best_phrase[document] + (1 - PHRASE_SHARE) * gained / total),
                bm25[document],
                document,
            )
            for document, gained in document_hits.items()
        )
        ranked.reverse()
        return [
            Match(self._ids[document], round(min(1.0, score), 4))
            for score, _, document in ranked[:limit]
        ]

    def analyse(self, query: str) -> list[Token]:
        """The query's terms after abbreviations, typo fixes, synonyms and stop words."""
        words = self._lexicon.tokens(query)
        tokens: list[Token] = []
        for position, token in enumerate(words):
            fixed = None
            if token.key not in self._known and len(token.key) >= MIN_CORRECTABLE:
                before = words[position - 1].key if position else ""
                after = words[position + 1].key if position + 1 < len(words) else ""
                fixed = self._correct(token.key, before=before, after=after)
            tokens.append(token if fixed is None else Token(fixed, fixed, corrected=True))
        return self._lexicon.terms(tokens)

    def _correct(self, word: str, *, before: str, after: str) -> str | None:
        """The word meant by a typo, if the documents make it clear enough.

        A short Vietnamese syllable one edit away from a known one is most often another real
        word ("bong" is not a typo of "cong"), so a fix is taken only when a neighbour confirms
        it ("tiet bi" → "thiet bi": the documents say "thiết bị") or when the word is long.
        """
        candidates = self._candidates(word)
        for candidate in candidates:
            if (before, candidate) in self._bigrams or (candidate, after) in self._bigrams:
                return candidate
        if candidates and len(word) >= LONG_WORD:
            return candidates[0]
        return None

    def _candidates(self, word: str) -> tuple[str, ...]:
        """Known words within the allowed edits: fewest edits first, then the most used."""
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        edits = LONG_WORD_EDITS if len(word) >= LONG_WORD else SHORT_WORD_EDITS
        found = process.extract(
            word,
            self._choices,
            scorer=DamerauLevenshtein.distance,
            score_cutoff=edits,
            limit=CORRECTION_CANDIDATES,
        )
        ranked = sorted(
            (distance, -self._vocabulary.get(choice, 0), choice) for choice, distance, _ in found
        )
        candidates = tuple(choice for _, _, choice in ranked)
        if len(self._corrections) >= CORRECTION_CACHE_SIZE:
            self._corrections.clear()
        self._corrections[word] = candidates
        return candidates


def _idf(total: int, frequency: int) -> float:
    """BM25's idf, kept positive for words found in every document."""
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
