"""Runs the rule tests written as data in ``content/eligibility/cases/*.yaml``.

Each case gives a day, the facts and the expected outcome per programme (and optionally the
maximum support, the cap, flags, rule results, deciding rules, priorities, words of a rule's
explanation or to-do, the certainty of a rule's reading, the province an owner is referred to,
and programmes that must carry no support at all). A last test checks the cases together cover
every rule passing and failing (or handed to staff), and every outcome.
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
from bot.policy import Catalogue
from tests.eligibility.conftest import CASES_DIR

MIN_CASES = 40
ABSENT = "absent"
TO_CONFIRM = "to_confirm"
#: Rules that cannot fail by construction, with the reason (their failing case lives elsewhere).
CANNOT_FAIL = {
    # Every known unit it applies to is a xã, đặc khu or phường of a tỉnh, all covered by
    # Decree 235; a phường of a centrally-run city is decided by ward_craft_village.
    "location_area",
}


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
        assert support is not None
        if amount == TO_CONFIRM:
            assert support.to_confirm and support.max_amount is None
        else:
            assert not support.to_confirm
            assert support.max_amount == amount
        checks += 1
    for programme in case.get("expected_no_support") or []:
        assert verdicts[programme].support is None, "no amount on a refused programme"
        assert verdicts[programme].documents == ()
        assert verdicts[programme].to_dict()["support"] is None
        checks += 1
    for programme, cap in (case.get("expected_cap") or {}).items():
        support = verdicts[programme].support
        assert support is not None and support.cap == cap
        checks += 1
    for programme, day in (case.get("expected_effective_from") or {}).items():
        support = verdicts[programme].support
        assert support is not None and support.effective_from == day
        checks += 1
    for programme, flags in (case.get("expected_flags") or {}).items():
        support = verdicts[programme].support
        for flag, value in flags.items():
            assert getattr(support, flag) is value, flag
        checks += 1
    for programme, documents in (case.get("expected_documents_include") or {}).items():
        shown = " | ".join(verdicts[programme].documents)
        for words in documents:
            assert words in shown, words
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
    for field in ("explanation", "todo"):
        for programme, rules in (case.get(f"expected_{field}") or {}).items():
            lines = {line.rule_id: line for line in verdicts[programme].trace}
            for rule_id, words in rules.items():
                assert words in getattr(lines[rule_id], field), (rule_id, field)
            checks += 1
    for key, attribute in (("certain", "certain"), ("citation_certain", "citation_certain")):
        for programme, rules in (case.get(f"expected_{key}") or {}).items():
            lines = {line.rule_id: line for line in verdicts[programme].trace}
            for rule_id, certain in rules.items():
                assert getattr(lines[rule_id], attribute) is certain, rule_id
            checks += 1
    for programme, province in (case.get("expected_outside_province") or {}).items():
        assert verdicts[programme].outside_province == province
        refused = verdicts[programme].outcome is Outcome.LIKELY_NOT_ELIGIBLE
        if province is not None and not refused:  # referred to that province's centre
            assert province in verdicts[programme].next_step
            assert "Trung tâm Khuyến công (hoặc Sở Công Thương)" in verdicts[programme].next_step
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
        if rule.staff_check:
            assert seen[rule_id] == {RuleResult.STAFF_CHECK}, f"{rule_id} only hands to staff"
            continue
        assert RuleResult.STAFF_CHECK not in seen[rule_id], rule_id
        assert RuleResult.PASSED in seen[rule_id], f"no case where {rule_id} passes"
        if rule_id not in CANNOT_FAIL:
            assert RuleResult.FAILED in seen[rule_id], f"no case where {rule_id} fails"


def _explain(verdict: ProgrammeVerdict) -> str:
    return "; ".join(f"{line.rule_id}={line.result.value}" for line in verdict.trace)
