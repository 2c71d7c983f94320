"""``khuyencong content check`` for the eligibility area.

Besides loading the questionnaire and rules, it checks every figure a programme names exists
in the policy catalogue, renders every question and verdict template with the facts of every
rule case, and runs the cases' expected outcomes: a staff edit of ``rules.yaml`` that changes
a verdict is reported before it reaches an owner.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.core.checks import Problem
from bot.core.texts import ContentError, Texts, load_yaml
from bot.eligibility.engine import evaluate
from bot.eligibility.loader import ELIGIBILITY_DIR, load_eligibility
from bot.eligibility.model import Outcome

CASES_DIR = "cases"
#: YAML 1.1 reads a bare ``on:`` key as the boolean true.
YAML_ON = True


def check_eligibility(root: Path) -> list[Problem]:
    """The problems found; empty when all is well."""
    from bot.policy import load_catalogue

    try:
        content = load_eligibility(root)
        catalogue = load_catalogue(root)
        texts = Texts(root, globals_={"center": None})
    except ContentError as exc:
        return [Problem.from_error(exc, default=root / ELIGIBILITY_DIR)]
    rules_path = root / ELIGIBILITY_DIR / "rules.yaml"
    problems = [
        Problem(
            rules_path, 1, f"programme {programme.id!r}: figure {name!r} is not in the catalogue"
        )
        for programme in content.programmes
        for name in (
            programme.support.rate,
            programme.support.cap,
            programme.support.line_multiplier,
        )
        if name is not None and not catalogue.has_figure(name)
    ]
    for path in sorted((root / ELIGIBILITY_DIR / CASES_DIR).glob("*.yaml")):
        try:
            cases = (load_yaml(path) or {}).get("cases") or []
        except (ContentError, AttributeError) as exc:
            problems.append(Problem(path, 1, str(exc)))
            continue
        for case in cases:
            name = case.get("name", "?")
            day = case.get("on", case.get(YAML_ON))
            facts = case.get("facts") or {}
            if not isinstance(day, date) or not isinstance(facts, dict):
                problems.append(
                    Problem(path, 1, f"case {name!r}: needs 'on' (a date) and 'facts'")
                )
                continue
            try:
                verdicts = evaluate(content, catalogue, facts, on=day)
                for verdict in verdicts:
                    texts.render("eligibility/verdict", verdict=verdict, names=[])
                for question in content.questions:
                    if question.fact in facts:
                        texts.render_string(question.prompt, **facts)
            except Exception as exc:  # any template or rule failure is a content problem
                problems.append(Problem(path, 1, f"case {name!r}: {type(exc).__name__}: {exc}"))
                continue
            got = {verdict.programme_id: verdict.outcome for verdict in verdicts}
            for programme, expected in (case.get("expected") or {}).items():
                if got.get(programme) is not Outcome(expected):
                    problems.append(
                        Problem(
                            path,
                            1,
                            f"case {name!r}: {programme} is {got.get(programme)}, "
                            f"expected {expected}",
                        )
                    )
    return problems
