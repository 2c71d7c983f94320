"""Deciding whether the bot understood a typed question well enough to answer it.

:class:`Understanding` wraps an :class:`~bot.nlu.index.Index` with a confidence threshold:
above it the bot answers with the best document; below it the bot says it is not sure and
offers the nearest topics as buttons (and a person), so a wrong answer is never given with
confidence. The threshold is a constructor argument so tests and the benchmark can vary it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.nlu.index import Index, Match

#: Calibrated on tests/fixtures/questions.yaml: in-scope questions score well above, and
#: out-of-scope ones (weather, bank loans, selling a house) stay below.
DEFAULT_THRESHOLD = 0.6
#: How many nearest topics to offer when the bot is not sure.
NEAREST_COUNT = 2
#: A topic scoring below this shares too little with the question to be worth offering.
MIN_NEAREST_SCORE = 0.15


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
