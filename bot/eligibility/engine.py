"""The verdict per support programme: pure, synchronous and deterministic.

Each programme lists its rules; every rule passes, fails or cannot be decided (a fact was
not asked or skipped); a ``staff_check`` rule only hands a question to staff. A failed
``not_eligible`` rule makes the programme *likely not eligible* (then no amount and no
documents are given); otherwise any failed ``needs_review`` rule, staff check or undecided
rule sends it to staff; only when every rule passed is it *likely eligible*. The rules that
decided the outcome are marked, so the message can say why and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from bot.eligibility.area import outside_province
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

#: Where the owner's province name goes in ``outside_province.next_step`` (rules.yaml).
PROVINCE_SLOT = "{province}"


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
    truth = None if rule.staff_check else rule.pass_if.test(facts)
    if rule.staff_check:  # neither passed nor failed: a question handed to staff
        result, explanation, todo = RuleResult.STAFF_CHECK, rule.explain_fail, rule.todo
    elif truth is True:
        result, explanation, todo = RuleResult.PASSED, rule.explain_pass, ""
    elif truth is False:
        result, explanation, todo = RuleResult.FAILED, rule.explain_fail, rule.todo
    else:
        result, explanation, todo = RuleResult.UNKNOWN, rule.explain_unknown, rule.todo_unknown
    return RuleOutcome(
        rule_id=rule.id,
        result=result,
        explanation=explanation,
        citation=rule.citation,
        todo=todo,
        on_fail=rule.on_fail,
        certain=rule.certain,
        citation_certain=rule.citation_certain,
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
        if line.result in {RuleResult.UNKNOWN, RuleResult.STAFF_CHECK}
        or (line.result is RuleResult.FAILED and line.on_fail is OnFail.NEEDS_REVIEW)
    ]
    if blocking:
        outcome, decisive = Outcome.LIKELY_NOT_ELIGIBLE, blocking
    elif doubtful:
        outcome, decisive = Outcome.NEEDS_REVIEW, doubtful
    else:
        outcome, decisive = Outcome.LIKELY_ELIGIBLE, lines
    chosen = {id(line) for line in decisive}
    trace = tuple(replace(line, decisive=id(line) in chosen) for line in lines)
    priorities = tuple(
        PriorityMatch(p.id, p.label, p.citation, p.certain, p.uncertainty)
        for p in content.priorities
        if p.when.test(facts) is True
    )
    refused = outcome is Outcome.LIKELY_NOT_ELIGIBLE
    documents = tuple(
        document.text
        for document in content.documents
        if not refused
        and (not document.programmes or programme.id in document.programmes)
        and (document.when is None or document.when.test(facts) is True)
    )
    elsewhere = outside_province(facts, center_province_code=content.settings.center_province_code)
    next_step = programme.next_step[outcome]
    if elsewhere is not None and content.outside_next_step and not refused:
        next_step = content.outside_next_step.replace(PROVINCE_SLOT, elsewhere)
    return ProgrammeVerdict(
        programme_id=programme.id,
        programme_name=programme.name,
        outcome=outcome,
        trace=trace,
        support=None if refused else estimate_support(programme.support, catalogue, facts, on=on),
        priorities=priorities,
        documents=documents,
        next_step=next_step,
        evaluated_on=on,
        outside_province=elsewhere,
    )
