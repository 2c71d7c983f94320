"""The eligibility check without a chat: answers from a YAML or JSON file, verdicts as JSON.

``khuyencong eligibility FILE`` calls :func:`run_file`. The file holds the facts (see
``content/eligibility/facts.md``), either at the top level or under ``facts:``, and may give
the day to evaluate on (``on: 2026-11-26``). Bad input raises :class:`EligibilityInputError`
with one clear line per problem, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from bot.core.texts import ContentError, load_yaml
from bot.eligibility.engine import evaluate
from bot.eligibility.loader import load_eligibility
from bot.eligibility.model import AnswerType, EligibilityContent

JSON_SUFFIX = ".json"
#: The Center's calendar: "today" is the day in Việt Nam.
#: YAML 1.1 reads a bare ``on:`` key as the boolean true.
YAML_ON = True


class EligibilityInputError(ContentError):
    """The answers file is missing, unreadable or holds facts the questionnaire does not know."""


def run_file(
    path: Path, *, content_root: Path, today: date, on: date | None = None
) -> dict[str, object]:
    """Evaluate the answers in ``path``; the result is JSON-serialisable.

    ``on`` overrides the file's ``on:``; without either, ``today`` (from the caller's clock)
    is used.
    """
    from bot.policy import load_catalogue

    raw = _read(path)
    nested = raw.get("facts")
    facts_raw: Mapping[object, object] = nested if isinstance(nested, Mapping) else raw
    day = on or _day(raw.get("on", raw.get(YAML_ON)), path) or today
    content = load_eligibility(content_root)
    facts = validate_facts(
        content, {str(k): v for k, v in facts_raw.items() if k not in {"on", YAML_ON}}, where=path
    )
    verdicts = evaluate(content, load_catalogue(content_root), facts, on=day)
    return {
        "evaluated_on": day.isoformat(),
        "answers": facts,
        "verdicts": [verdict.to_dict() for verdict in verdicts],
    }


def validate_facts(
    content: EligibilityContent, raw: Mapping[str, object], *, where: object = "facts"
) -> dict[str, object]:
    """Check every fact's name and value against the questionnaire; list all problems."""
    problems: list[str] = []
    facts: dict[str, object] = {}
    for name, value in raw.items():
        kind = content.fact_types.get(str(name))
        if kind is None:
            problems.append(f"unknown fact {name!r} (see content/eligibility/facts.md)")
            continue
        if value is None:
            facts[str(name)] = None
            continue
        problem = _check_value(content, str(name), kind, value)
        if problem:
            problems.append(f"{name}: {problem}")
        else:
            facts[str(name)] = value
    if problems:
        raise EligibilityInputError(f"{where}: " + "; ".join(problems))
    return facts


def _check_value(
    content: EligibilityContent, name: str, kind: AnswerType, value: object
) -> str | None:
    choices = content.fact_choices.get(name)
    if choices is not None:
        return None if value in choices else f"expected one of {list(choices)}, got {value!r}"
    if kind is AnswerType.YES_NO:
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind in {AnswerType.MONEY, AnswerType.NUMBER}:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"expected a whole number of at least 0, got {value!r}"
    if kind is AnswerType.MULTI_CHOICE:
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return None if ok else "expected a list of option ids"
    return None if isinstance(value, str) else f"expected a text, got {value!r}"


def _read(path: Path) -> Mapping[object, object]:
    if path.suffix.lower() == JSON_SUFFIX:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            msg = f"{path}: file not found"
            raise EligibilityInputError(msg) from exc
        except json.JSONDecodeError as exc:
            msg = f"{path}:{exc.lineno}: {exc.msg}"
            raise EligibilityInputError(msg) from exc
    else:
        try:
            data = load_yaml(path)
        except ContentError as exc:
            raise EligibilityInputError(str(exc)) from exc
    if not isinstance(data, Mapping):
        msg = f"{path}: expected a mapping of fact names to answers"
        raise EligibilityInputError(msg)
    return data


def _day(raw: object, path: Path) -> date | None:
    if raw is None or isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        msg = f"{path}: 'on' must be a date like 2026-11-26, got {raw!r}"
        raise EligibilityInputError(msg) from exc
