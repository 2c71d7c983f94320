"""Deciding whether the bot understood a typed message well enough to act on it.

:class:`Interpreter` (the bot's) reads the classifier's ranking: a confident guess is acted
on, an unsure one offers the nearest topics or actions, and out of scope gets the honest
fallback. :class:`Understanding` is the older search-index decision, kept as the baseline
the benchmark compares with.

:class:`Understanding` wraps an :class:`~bot.nlu.index.Index` with a confidence threshold:
above it the bot answers with the best document; below it the bot says it is not sure and
offers the nearest topics as buttons (and a person), so a wrong answer is never given with
confidence. The threshold is a constructor argument so tests and the benchmark can vary it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from bot.nlu.classifier import Classifier, Guess
from bot.nlu.index import Index, Match
from bot.nlu.intents import OUT_OF_SCOPE

#: Calibrated on tests/fixtures/questions.yaml: in-scope questions score well above, and
#: out-of-scope ones (weather, bank loans, selling a house) stay below.
DEFAULT_THRESHOLD = 0.6
#: How many nearest topics to offer when the bot is not sure.
NEAREST_COUNT = 2
#: A topic scoring below this shares too little with the question to be worth offering.
MIN_NEAREST_SCORE = 0.15
#: Decisions remembered per interpreter, by exact text: owners send the same few questions
#: and words ("hồ sơ gồm gì", "ok", "cảm ơn") over and over, and a decision depends on the
#: text alone. Bounded, so a flood of distinct texts costs memory once, not without end.
DECISIONS_REMEMBERED = 4_096
#: Longer texts are not remembered: they are rarely sent twice word for word.
REMEMBERED_TEXT_CHARS = 200


@dataclass(frozen=True, slots=True)
class Answer:
    """``best`` is the document to answer with, or ``None`` when not sure; ``nearest`` are the
    closest topics (best first), to offer as choices either way."""

    best: Match | None
    nearest: list[Match]


class Understanding:
    """Answers a query with the best match above ``threshold``, or with the nearest topics."""

    def __init__(self, index: Index, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0 < threshold <= 1:
            msg = f"threshold must be in (0, 1]: {threshold}"
            raise ValueError(msg)
        self.index = index
        self.threshold = threshold

    def answer(self, query: str) -> Answer:
        matches = self.index.search(query, limit=NEAREST_COUNT)
        nearest = [match for match in matches if match.score >= MIN_NEAREST_SCORE]
        best = matches[0] if matches and matches[0].score >= self.threshold else None
        return Answer(best=best, nearest=nearest)


# --- the classifier's decision ----------------------------------------------------------------

#: Calibrated on tests/fixtures/nlu/eval.yaml (``bench/understanding.py --sweep``): a group
#: this likely is acted on; so is one at least RATIO times likelier than the next, above FLOOR.
CONFIDENT = 0.4
CONFIDENT_RATIO = 2.0
CONFIDENT_FLOOR = 0.2
#: A group below this is not worth offering as a "did you mean" button.
NEAREST_FLOOR = 0.05
#: How many nearest topics or actions to offer when not sure.
OFFERED = 3
#: Greetings and thanks often open a real question ("dạ em chào cô, nhà em muốn đi hội chợ");
#: in a message longer than this many words they give way to a topic at least this likely.
SOCIAL_GROUPS = frozenset({"greeting", "thanks", "goodbye"})
SOCIAL_MAX_WORDS = 4
SOCIAL_YIELD_FLOOR = 0.2
#: Document labels ("may_moc_thiet_bi.levels", "general.trung_tam") contain it; intents not.
DOCUMENT_SEPARATOR = "."


class Verdict(StrEnum):
    ACT = "act"
    UNSURE = "unsure"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a typed message: act on ``label``, offer ``nearest``, or say it is not
    something the Center answers."""

    verdict: Verdict
    label: str
    score: float
    nearest: tuple[Guess, ...]


class Interpreter:
    """Turns the classifier's ranking into a decision, with the calibrated thresholds."""

    def __init__(
        self,
        classifier: Classifier,
        *,
        confident: float = CONFIDENT,
        ratio: float = CONFIDENT_RATIO,
        floor: float = CONFIDENT_FLOOR,
        remember: int = DECISIONS_REMEMBERED,
    ) -> None:
        if not 0 < floor <= confident <= 1:
            msg = f"thresholds must satisfy 0 < floor <= confident <= 1: {floor}, {confident}"
            raise ValueError(msg)
        self.classifier = classifier
        self.confident = confident
        self.ratio = ratio
        self.floor = floor
        self._remember = remember
        self._remembered: OrderedDict[str, Decision] = OrderedDict()

    def read(self, text: str) -> Decision:
        """The decision for ``text``; the same text always gets the same decision."""
        remembered = self._remembered.get(text)
        if remembered is not None:
            self._remembered.move_to_end(text)
            return remembered
        decision = self._decide(text)
        if len(text) <= REMEMBERED_TEXT_CHARS:
            self._remembered[text] = decision
            if len(self._remembered) > self._remember:
                self._remembered.popitem(last=False)
        return decision

    def _decide(self, text: str) -> Decision:
        reading = self.classifier.read(text, limit=OFFERED + 1)
        guesses = _yield_social(text, reading.guesses)
        top = guesses[0]
        runner_up = guesses[1].score if len(guesses) > 1 else 0.0
        nearest = tuple(
            guess
            for guess in guesses
            if guess.group != OUT_OF_SCOPE and guess.score >= NEAREST_FLOOR
        )[:OFFERED]
        # A question naming a topic the Center does not deal with ("vay tiền mua máy") is
        # never answered with a programme, whatever else it mentions; actions still are.
        if top.group == OUT_OF_SCOPE or (DOCUMENT_SEPARATOR in top.label and reading.other_topic):
            return Decision(Verdict.OUT_OF_SCOPE, OUT_OF_SCOPE, top.score, nearest)
        sure = top.score >= self.confident or (
            top.score >= self.floor and top.score >= self.ratio * runner_up
        )
        if sure:
            return Decision(Verdict.ACT, top.label, top.score, nearest)
        if not nearest:
            return Decision(Verdict.OUT_OF_SCOPE, OUT_OF_SCOPE, top.score, nearest)
        return Decision(Verdict.UNSURE, top.label, top.score, nearest)


def _yield_social(text: str, guesses: list[Guess]) -> list[Guess]:
    """Drop greetings and thanks from the ranking of a longer message that also asks about
    something, scaling the others up to the probability left (see :data:`SOCIAL_GROUPS`)."""
    if len(text.split()) <= SOCIAL_MAX_WORDS or not any(
        guess.group in SOCIAL_GROUPS for guess in guesses
    ):
        return guesses
    social = sum(guess.score for guess in guesses if guess.group in SOCIAL_GROUPS)
    others = [guess for guess in guesses if guess.group not in SOCIAL_GROUPS]
    if not others or others[0].score < SOCIAL_YIELD_FLOOR or social >= 1:
        return guesses
    return [Guess(g.group, g.label, g.score / (1 - social)) for g in others]
