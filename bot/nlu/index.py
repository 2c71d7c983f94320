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
   "thời tiết", "bóng đá" and "vay ngân hàng" below the threshold; unknown words right after
   a known topic ("máy đóng gói") only qualify it and weigh less. BM25 breaks ties.

Everything is precomputed into posting lists: a query touches only the documents that share
one of its terms, and works out the phrase-level score for the few that can still win (see
:meth:`Index.search`): well under a millisecond for the real content, and a p99 under 5 ms
with a thousand documents (``bench/understanding.py``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.nlu.lexicon import CONCEPT_PREFIX, Lexicon, Token

#: BM25 parameters (the usual values); only used to break ties between equal scores.
BM25_K1 = 1.2
BM25_B = 0.75
#: BM25 is added to a document's gain at this scale: small enough never to reorder
#: documents whose gains differ, big enough to order those whose gains are equal.
BM25_TIE_SCALE = 1e-6
#: Share of the score decided by the best single phrase; the rest by the whole document.
PHRASE_SHARE = 0.75
#: Even a phrase with many more words than the query keeps this share of the phrase score.
PHRASE_FLOOR = 0.7
#: Unknown words right after a known topic ("máy" + "đóng gói") are taken as its modifiers:
#: at most this many, each weighing this share of an unknown word.
MODIFIER_SPAN = 2
MODIFIER_WEIGHT = 0.25
#: A topic the Center does not deal with weighs this many unknown words.
OTHER_TOPIC_WEIGHT = 3.0
#: A word fixed by typo correction counts this much of a word typed right.
CORRECTION_CREDIT = 0.8
#: Words shorter than this are never typo-fixed: two or three letters leave no room for a typo.
MIN_CORRECTABLE = 3
#: From this length a word may be two edits away from the word meant.
LONG_WORD = 6
SHORT_WORD_EDITS = 1
LONG_WORD_EDITS = 2
#: Most documents whose exact score is worked out per query (the rest only get a bound).
RERANK_LIMIT = 32
#: Share of a query's weight that may be left out when looking for candidates; it stays below
#: the score at which a topic is worth offering (``understanding.MIN_NEAREST_SCORE``).
SKIP_SHARE = 0.1
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


#: A document's phrases: term → the phrases (by position) holding it, and each phrase's
#: summed idf weight.
_Phrases = tuple[dict[str, tuple[int, ...]], tuple[float, ...]]


class Index:
    """An inverted index over :class:`SearchDocument` phrases; see the module docstring."""

    def __init__(
        self,
        *,
        lexicon: Lexicon,
        ids: Sequence[str],
        idf: dict[str, float],
        unknown_idf: float,
        postings: dict[str, tuple[tuple[int, ...], tuple[float, ...]]],
        phrases: Sequence[_Phrases],
        vocabulary: dict[str, int],
        bigrams: frozenset[tuple[str, str]],
    ) -> None:
        self._lexicon = lexicon
        self._ids = tuple(ids)
        self._idf = idf
        self._unknown_idf = unknown_idf
        #: Term → (its documents, the term's BM25 part in each, scaled to break ties only).
        self._postings = postings
        #: Document → its phrases, for the exact score of the few best candidates.
        self._phrases = tuple(phrases)
        #: Folded document words with their document frequency (typo fixes prefer common ones).
        self._vocabulary = vocabulary
        #: Typo fixes aim at document words and at synonym words the documents may not use.
        self._choices = tuple(sorted(set(vocabulary) | lexicon.synonym_keys(idf)))
        self._known = lexicon.known_keys() | frozenset(vocabulary)
        #: Words never typo-fixed: the documents' own words and the chat words of the lexicon.
        self._fixed_words = lexicon.chat_keys() | frozenset(vocabulary)
        #: Adjacent word pairs that confirm a typo fix (the documents' and their topics').
        self._bigrams = bigrams
        #: Every pair known anywhere, including topics the documents do not cover.
        self._pairs = bigrams | lexicon.synonym_bigrams(lexicon.synonyms.values())
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
        bigrams: set[tuple[str, str]] = set()
        document_phrases: list[list[frozenset[str]]] = []
        document_terms: list[Counter[str]] = []
        for doc in documents:
            counts: Counter[str] = Counter()
            words: set[str] = set()
            phrases: list[frozenset[str]] = []
            for phrase in (doc.title, *doc.phrases):
                tokens = lexicon.tokens(phrase)
                keys = [token.key for token in tokens]
                words.update(keys)
                bigrams.update(itertools.pairwise(keys))
                terms = [term.key for term in lexicon.terms(tokens, strict=True)]
                if terms:
                    counts.update(terms)
                    phrases.append(frozenset(terms))
            vocabulary.update(words)
            document_phrases.append(phrases)
            document_terms.append(counts)

        total = len(documents)
        frequency: Counter[str] = Counter()
        for counts in document_terms:
            frequency.update(counts.keys())
        idf = {term: _idf(total, count) for term, count in frequency.items()}
        lengths = [sum(counts.values()) for counts in document_terms]
        average = (sum(lengths) / total) if total else 0.0
        postings: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, counts in enumerate(document_terms):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[number] / average)
            for term, count in counts.items():
                weight = idf[term] * count * (BM25_K1 + 1) / (count + norm)
                postings[term].append((number, weight))
        return cls(
            lexicon=lexicon,
            ids=ids,
            idf=idf,
            unknown_idf=_idf(total, 0),
            postings={
                term: (
                    tuple(document for document, _ in found),
                    tuple(part * BM25_TIE_SCALE for _, part in found),
                )
                for term, found in postings.items()
            },
            phrases=[_phrase_table(phrases, idf) for phrases in document_phrases],
            vocabulary=dict(vocabulary),
            bigrams=frozenset(bigrams | lexicon.synonym_bigrams(idf)),
        )

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, *, limit: int = 2) -> list[Match]:
        """The ``limit`` documents that best explain ``query``, best first (may be empty).

        One pass over the posting lists gives every document its share of the query (an
        upper bound of its score) and its BM25; the exact, phrase-level score is then worked
        out for the most promising documents only, stopping as soon as no remaining document
        can beat the ones found (at most :data:`RERANK_LIMIT` documents).
        """
        terms = self.analyse(query)
        if not terms or limit <= 0:
            return []
        weights, gains = self._weigh(terms)
        total = sum(weights.values())
        skipped = _least_telling(gains, total)
        spent = sum(skipped.values())

        # One dict update per posting: the term's gain plus a tiny BM25 part that only orders
        # documents with the same gain (the best-explained first), never documents apart.
        hits: dict[int, float] = {}
        get = hits.get
        for key, gain in gains.items():
            if key in skipped:
                continue
            postings = self._postings.get(key)
            if postings is None:
                continue
            documents, parts = postings
            credit = gain / weights[key]
            for document, part in zip(documents, parts, strict=True):
                hits[document] = get(document, 0.0) + gain + part * credit
        candidates = heapq.nlargest(RERANK_LIMIT, zip(hits.values(), hits.keys(), strict=True))
        found: list[tuple[float, float, int]] = []
        floor = -1.0  # the limit-th best exact score so far
        for hit, document in candidates:
            if (hit + spent) / total < floor:
                break  # sorted by bound: no remaining document can enter the results
            term_phrases, phrase_weights = self._phrases[document]
            extra = sum(gain for key, gain in skipped.items() if key in term_phrases)
            share = (hit + extra) / total
            phrase_gains = [0.0] * len(phrase_weights)
            for key, gain in gains.items():
                for phrase in term_phrases.get(key, ()):
                    phrase_gains[phrase] += gain
            best_phrase = max(
                gained / total * (PHRASE_FLOOR + (1 - PHRASE_FLOOR) * min(1.0, gained / weight))
                for gained, weight in zip(phrase_gains, phrase_weights, strict=True)
            )
            score = PHRASE_SHARE * best_phrase + (1 - PHRASE_SHARE) * min(1.0, share)
            found.append((score, hit, document))
            if len(found) >= limit:
                found.sort(reverse=True)
                del found[limit:]
                floor = found[-1][0]
        found.sort(reverse=True)
        return [
            Match(self._ids[document], round(min(1.0, score), 4))
            for score, _, document in found[:limit]
        ]

    def _weigh(self, terms: list[Token]) -> tuple[dict[str, float], dict[str, float]]:
        """Each term's weight (its idf) and gain (the weight a match earns: less if typo-fixed).

        Vietnamese puts modifiers after the head: in "máy đóng gói" the unknown "đóng gói" only
        says which machine, so unknown words right after a known topic weigh less. A topic the
        Center does not deal with ("vay vốn") weighs more than any unknown word, so a question
        about it is not answered with a programme, whatever else it mentions.
        """
        weights: dict[str, float] = {}
        gains: dict[str, float] = {}
        modifiers = 0
        for term in terms:
            weight = self._idf.get(term.key)
            if weight is not None:
                modifiers = MODIFIER_SPAN if term.key.startswith(CONCEPT_PREFIX) else 0
            elif term.key in self._lexicon.other_topics:
                modifiers = 0
                weight = self._unknown_idf * OTHER_TOPIC_WEIGHT
            elif modifiers:
                modifiers -= 1
                weight = self._unknown_idf * MODIFIER_WEIGHT
            else:
                weight = self._unknown_idf
            credit = CORRECTION_CREDIT if term.corrected else 1.0
            weights[term.key] = weight
            gains[term.key] = max(gains.get(term.key, 0.0), weight * credit)
        return weights, gains

    def analyse(self, query: str) -> list[Token]:
        """The query's terms after abbreviations, typo fixes, synonyms and stop words."""
        words = self._lexicon.tokens(query)
        tokens: list[Token] = []
        for position, token in enumerate(words):
            fixed = None
            key = token.key
            if key not in self._fixed_words and len(key) >= MIN_CORRECTABLE:
                before = words[position - 1].key if position else ""
                after = words[position + 1].key if position + 1 < len(words) else ""
                fixed = self._correct(key, before=before, after=after, real=key in self._known)
            tokens.append(token if fixed is None else Token(fixed, fixed, corrected=True))
        return self._lexicon.terms(tokens)

    def _correct(self, word: str, *, before: str, after: str, real: bool) -> str | None:
        """The word meant by a typo, if the documents make it clear enough.

        A short Vietnamese syllable one edit away from a known one is most often another real
        word ("bong" is not a typo of "cong"), so a fix is taken only when a neighbour confirms
        it ("tiet bi" → "thiet bi": the documents say "thiết bị") or when the word is long.
        A ``real`` word (one the lexicon knows, as "tiết" in "thời tiết") is fixed only when
        it makes no known pair with its neighbours and a candidate does.
        """
        if real and ((before, word) in self._pairs or (word, after) in self._pairs):
            return None
        candidates = self._candidates(word)
        for candidate in candidates:
            if (before, candidate) in self._bigrams or (candidate, after) in self._bigrams:
                return candidate
        if candidates and len(word) >= LONG_WORD and not real:
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


def _least_telling(gains: dict[str, float], total: float) -> dict[str, float]:
    """The least telling terms ("hỗ trợ" is in nearly every document), making up at most
    :data:`SKIP_SHARE` of the query: they find no candidates of their own (a document with
    only them scores below any useful level) and are counted for the candidates only. The
    most telling term is never left out."""
    skipped: dict[str, float] = {}
    spent = 0.0
    for key, gain in sorted(gains.items(), key=lambda item: item[1])[:-1]:
        if spent + gain > SKIP_SHARE * total:
            break
        skipped[key] = gain
        spent += gain
    return skipped


def _phrase_table(phrases: Sequence[frozenset[str]], idf: dict[str, float]) -> _Phrases:
    where: defaultdict[str, list[int]] = defaultdict(list)
    for position, terms in enumerate(phrases):
        for term in terms:
            where[term].append(position)
    weights = tuple(sum(idf[term] for term in terms) for terms in phrases)
    return {term: tuple(found) for term, found in where.items()}, weights


def _idf(total: int, frequency: int) -> float:
    """BM25's idf, kept positive for words found in every document."""
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
