"""The verdict per support programme: pure, synchronous and deterministic.

Each programme lists its rules; every rule passes, fails or cannot be decided (a fact was
not asked or skipped). A failed ``not_eligible`` rule makes the programme *likely not
eligible*; otherwise any failed ``needs_review`` rule or undecided rule sends it to staff;
only when every rule passed is it *likely eligible*. The rules that decided the outcome are
marked, so the message can say why and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bot.eligibility.model import (
    EligibilityContent,
    OnFail,
    Outcome,
    PriorityMatch,
    Programme,
    ProgrammeVerdict,
    Rule,
    RuleOutcome,
    RuleResult,
)
from bot.eligibility.questionnaire import programmes_in_scope, with_implied
from bot.eligibility.support import FigureCatalogue, estimate_support


def evaluate(
    content: EligibilityContent,
    catalogue: FigureCatalogue,
    facts: Mapping[str, object],
    *,
    on: date,
    programmes: tuple[str, ...] | None = None,
) -> list[ProgrammeVerdict]:
    """One verdict per programme in scope (``support_wanted``, or all), in content order."""
    completed = with_implied(content, facts)
    wanted = programmes if programmes is not None else programmes_in_scope(content, completed)
    return [
        _verdict(content, catalogue, programme, completed, on=on)
        for programme in content.programmes
        if programme.id in wanted
    ]


def check_rule(rule: Rule, facts: Mapping[str, object]) -> RuleOutcome | None:
    """One rule's result, or ``None`` when the rule does not apply to this case."""
    if rule.applies_if is not None and rule.applies_if.test(facts) is not True:
        return None
    truth = rule.pass_if.test(facts)
    if truth is True:
        result, explanation, todo = RuleResult.PASSED, rule.explain_pass, ""
    elif truth is False:
        result, explanation, todo = RuleResult.FAILED, rule.explain_fail, rule.todo
    else:
        result, explanation, todo = RuleResult.UNKNOWN, rule.explain_unknown, ""
    return RuleOutcome(
        rule_id=rule.id,
        result=result,
        explanation=explanation,
        citation=rule.citation,
        todo=todo,
        on_fail=rule.on_fail,
        certain=rule.certain,
    )


def _verdict(
    content: EligibilityContent,
    catalogue: FigureCatalogue,
    programme: Programme,
    facts: Mapping[str, object],
    *,
    on: date,
) -> ProgrammeVerdict:
    lines = [
        line
        for rule_id in programme.rules
        if (line := check_rule(content.rules[rule_id], facts)) is not None
    ]
    blocking = [
        line
        for line in lines
        if line.result is RuleResult.FAILED and line.on_fail is OnFail.NOT_ELIGIBLE
    ]
    doubtful = [
        line
        for line in lines
        if line.result is RuleResult.UNKNOWN
        or (line.result is RuleResult.FAILED and line.on_fail is OnFail.NEEDS_REVIEW)
    ]
    if blocking:
        outcome, decisive = Outcome.LIKELY_NOT_ELIGIBLE, blocking
    elif doubtful:
        outcome, decisive = Outcome.NEEDS_REVIEW, doubtful
    else:
        outcome, decisive = Outcome.LIKELY_ELIGIBLE, lines
    chosen = {id(line) for line in decisive}
    trace = tuple(
        RuleOutcome(
            rule_id=line.rule_id,
            result=line.result,
            explanation=line.explanation,
            citation=line.citation,
            todo=line.todo,
            on_fail=line.on_fail,
            certain=line.certain,
            decisive=id(line) in chosen,
        )
        for line in lines
    )
    priorities = tuple(
        PriorityMatch(p.id, p.label, p.citation, p.certain)
        for p in content.priorities
        if p.when.test(facts) is True
    )
    documents = tuple(
        document.text
        for document in content.documents
        if (not document.programmes or programme.id in document.programmes)
        and (document.when is None or document.when.test(facts) is True)
    )
    return ProgrammeVerdict(
        programme_id=programme.id,
        programme_name=programme.name,
        outcome=outcome,
        trace=trace,
        support=estimate_support(programme.support, catalogue, facts, on=on),
        priorities=priorities,
        documents=documents,
        next_step=programme.next_step[outcome],
        evaluated_on=on,
    )
