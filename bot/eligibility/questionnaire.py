"""Which question comes next, given the facts gathered so far.

The order is the order of ``questions.yaml``; a question is asked when its fact has no
entry yet (an answer of "Chưa rõ" stores ``None``, which counts as answered) and its
``ask_if`` is *true*. An ``ask_if`` that cannot be decided (its facts were skipped) does not
ask: the rules that read those facts already send the case to staff.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bot.eligibility.model import EligibilityContent, Question

#: ``support_wanted`` value meaning "not sure, check every programme".
ALL_PROGRAMMES = "tat_ca"
SUPPORT_FACT = "support_wanted"


def pending_questions(
    content: EligibilityContent, facts: Mapping[str, object]
) -> Iterator[Question]:
    """The questions still to ask, in order, as far as the current facts allow to tell."""
    for question in content.questions:
        if question.fact in facts:
            continue
        if question.ask_if is not None and question.ask_if.test(facts) is not True:
            continue
        yield question


def next_question(content: EligibilityContent, facts: Mapping[str, object]) -> Question | None:
    """The next question to ask, or ``None`` when the questionnaire is complete."""
    return next(pending_questions(content, facts), None)


def with_implied(content: EligibilityContent, facts: Mapping[str, object]) -> dict[str, object]:
    """``facts`` plus what the chosen options imply (a "hộ kinh doanh đã đăng ký" is
    registered), without overriding anything given explicitly."""
    completed = dict(facts)
    for question in content.questions:
        value = facts.get(question.fact)
        if value is None:
            continue
        for option in question.options:
            if option.id == value:
                for name, implied in option.implies:
                    completed.setdefault(name, implied)
    return completed


def programmes_in_scope(
    content: EligibilityContent, facts: Mapping[str, object]
) -> tuple[str, ...]:
    """The programmes a verdict covers: the one asked about, or all of them."""
    wanted = facts.get(SUPPORT_FACT)
    if isinstance(wanted, str) and wanted in content.programme_ids:
        return (wanted,)
    return content.programme_ids
