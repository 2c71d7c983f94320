"""Reading typed answers: "co", "ko", "hộ kinh doanh", "2", "1 3"…

Owners type on cheap phones, often without diacritics; every comparison is made on the
folded form (:func:`bot.nlu.fold`). Nothing is guessed: an answer that matches no option
is refused and the flow asks again with the question's ``reask`` text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.eligibility.model import Option, Question
from bot.eligibility.model import Settings as EligibilitySettings
from bot.nlu import fold

_PUNCTUATION = re.compile(r"[.!?,;:()\"'…]+")
_LIST_SEPARATORS = re.compile(r"[\s,;/+&]+|\bva\b")
YES = "yes"
NO = "no"


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What a typed answer means: a value, "unknown" (the owner does not know), or nothing."""

    ok: bool
    value: object = None
    unknown: bool = False


NOT_UNDERSTOOD = Interpretation(ok=False)
UNKNOWN = Interpretation(ok=True, value=None, unknown=True)


def _key(text: str) -> str:
    return _PUNCTUATION.sub(" ", fold(text)).strip()


def _option_keys(option: Option) -> set[str]:
    return {_key(option.label), _key(option.id.replace("_", " ")), *option.synonyms}


def is_unknown_answer(text: str, settings: EligibilitySettings) -> bool:
    key = _key(text)
    return key in settings.unknown_words or fold(text).strip() in settings.unknown_words


def interpret_choice_text(question: Question, text: str) -> str | None:
    """The option a typed text names: its number, label, id or a synonym."""
    key = _key(text)
    if not key:
        return None
    if key.isdigit():
        index = int(key) - 1
        return question.options[index].id if 0 <= index < len(question.options) else None
    exact = [option.id for option in question.options if key in _option_keys(option)]
    if len(exact) == 1:
        return exact[0]
    # A longer sentence naming exactly one option ("nhà em là hộ kinh doanh").
    padded = f" {key} "
    contained = [
        option.id
        for option in question.options
        if any(f" {word} " in padded for word in _option_keys(option) if len(word) > 2)
    ]
    return contained[0] if len(set(contained)) == 1 else None


def interpret_yes_no(
    question: Question, text: str, settings: EligibilitySettings
) -> Interpretation:
    """``True``/``False`` from "có", "ko", a relabelled option ("Cả dây chuyền") or 1/2."""
    if is_unknown_answer(text, settings):
        return UNKNOWN
    if question.options:
        chosen = interpret_choice_text(question, text)
        if chosen is not None:
            return Interpretation(ok=True, value=chosen == YES)
    key = _key(text)
    if key in settings.yes_words or (key == "1" and not question.options):
        return Interpretation(ok=True, value=True)
    if key in settings.no_words or (key == "2" and not question.options):
        return Interpretation(ok=True, value=False)
    first = key.split(" ", 1)[0] if key else ""
    if first in settings.no_words:
        return Interpretation(ok=True, value=False)
    if first in settings.yes_words:
        return Interpretation(ok=True, value=True)
    return NOT_UNDERSTOOD


def interpret_multi_text(
    question: Question, text: str, settings: EligibilitySettings
) -> list[str] | None:
    """The options named by "1 3", "1, 3", "nữ và khmer"; ``[]`` for "không"; else ``None``."""
    key = _key(text)
    if not key:
        return None
    if key in settings.no_words or key in settings.unknown_words:
        return []
    whole = interpret_choice_text(question, key)
    if whole is not None:
        return [whole]
    chosen: list[str] = []
    for part in (piece for piece in _LIST_SEPARATORS.split(key) if piece):
        option = interpret_choice_text(question, part)
        if option is None:
            return None
        if option not in chosen:
            chosen.append(option)
    return chosen or None
