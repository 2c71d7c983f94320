"""Runs the rule tests written as data in ``content/eligibility/cases/*.yaml``.

Each case gives a day, the facts and the expected outcome per programme (and optionally the
maximum support, the cap, flags, rule results, deciding rules and priorities). A last test
checks the cases together cover every rule passing and failing, and every outcome.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest
import yaml

from bot.eligibility import (
    EligibilityContent,
    Outcome,
    ProgrammeVerdict,
    RuleResult,
    evaluate,
)
from bot.eligibility.conditions import Constant
from bot.policy import Catalogue
from tests.eligibility.conftest import CASES_DIR

MIN_CASES = 40
ABSENT = "absent"
TO_CONFIRM = "to_confirm"


def _load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        cases.extend((f"{path.stem}: {case['name']}", case) for case in data["cases"])
    return cases


CASES = _load_cases()


def _run(
    content: EligibilityContent, catalogue: Catalogue, case: dict[str, Any]
) -> dict[str, ProgrammeVerdict]:
    # YAML 1.1 reads a bare ``on:`` key as the boolean true.
    day = case.get("on", case.get(True))
    assert isinstance(day, date)
    verdicts = evaluate(content, catalogue, dict(case["facts"]), on=day)
    return {verdict.programme_id: verdict for verdict in verdicts}


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= MIN_CASES
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)), "case names must be unique"


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_case(
    name: str, case: dict[str, Any], content: EligibilityContent, catalogue: Catalogue
) -> None:
    verdicts = _run(content, catalogue, case)
    checks = 0
    for programme, outcome in (case.get("expected") or {}).items():
        assert verdicts[programme].outcome is Outcome(outcome), _explain(verdicts[programme])
        checks += 1
    for programme, amount in (case.get("expected_support") or {}).items():
        support = verdicts[programme].support
        if amount == TO_CONFIRM:
            assert support.to_confirm and support.amount is None
        else:
            assert not support.to_confirm
            assert support.amount == amount
        checks += 1
    for programme, cap in (case.get("expected_cap") or {}).items():
        assert verdicts[programme].support.cap == cap
        checks += 1
    for programme, day in (case.get("expected_effective_from") or {}).items():
        assert verdicts[programme].support.effective_from == day
        checks += 1
    for programme, flags in (case.get("expected_flags") or {}).items():
        support = verdicts[programme].support
        for flag, value in flags.items():
            assert getattr(support, flag) is value, flag
        checks += 1
    for programme, rules in (case.get("expected_rules") or {}).items():
        results = {line.rule_id: line.result.value for line in verdicts[programme].trace}
        for rule_id, expected in rules.items():
            assert results.get(rule_id, ABSENT) == expected, rule_id
        checks += 1
    for programme, rule_ids in (case.get("expected_decisive") or {}).items():
        assert [line.rule_id for line in verdicts[programme].deciding] == rule_ids
        checks += 1
    for programme, priority_ids in (case.get("expected_priorities") or {}).items():
        assert [match.id for match in verdicts[programme].priorities] == priority_ids
        checks += 1
    assert checks, f"case {name!r} checks nothing"


def test_cases_cover_every_rule_and_outcome(
    content: EligibilityContent, catalogue: Catalogue
) -> None:
    seen: dict[str, set[RuleResult]] = defaultdict(set)
    outcomes: set[Outcome] = set()
    for _, case in CASES:
        for verdict in _run(content, catalogue, case).values():
            outcomes.add(verdict.outcome)
            for line in verdict.trace:
                seen[line.rule_id].add(line.result)
    assert outcomes == set(Outcome)
    for rule_id, rule in content.rules.items():
        never_passes = rule.pass_if == Constant(False)
        if not never_passes:
            assert RuleResult.PASSED in seen[rule_id], f"no case where {rule_id} passes"
        assert RuleResult.FAILED in seen[rule_id], f"no case where {rule_id} fails"


def _explain(verdict: ProgrammeVerdict) -> str:
    return "; ".join(f"{line.rule_id}={line.result.value}" for line in verdict.trace)
