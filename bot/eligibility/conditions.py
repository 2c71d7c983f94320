"""A small, safe condition language for eligibility rules (no ``eval``).

Conditions are plain YAML data, parsed once at load time into immutable objects::

    {fact: facility_type, in: [ho_kinh_doanh, hop_tac_xa]}
    {fact: registered, equals: true}
    {fact: machine_cost, greater_than: 0}
    {fact: unit_code, is_unknown: true}
    {all: [...]}   {any: [...]}   {not: ...}   true   false

Evaluation is three-valued (Kleene logic): a fact that was not asked or was skipped is
*unknown*, and a test on it yields ``None`` rather than ``False``, so an unanswered question
can never make a rule pass silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.texts import ContentError

#: ``True`` / ``False`` / ``None`` (unknown).
Truth = bool | None

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda value, operand: bool(value == operand),
    "in": lambda value, operand: value in operand,
    "greater_than": lambda value, operand: bool(value > operand),
    "at_least": lambda value, operand: bool(value >= operand),
    "less_than": lambda value, operand: bool(value < operand),
    "at_most": lambda value, operand: bool(value <= operand),
}
_NUMERIC = frozenset({"greater_than", "at_least", "less_than", "at_most"})
_PRESENCE = frozenset({"is_unknown", "is_known"})


class Condition:
    """Base class; :meth:`test` returns ``True``, ``False`` or ``None`` (unknown)."""

    def test(self, facts: Mapping[str, object]) -> Truth:
        raise NotImplementedError

    def facts(self) -> frozenset[str]:
        """Every fact name the condition reads (checked against the questionnaire)."""
        raise NotImplementedError

    def comparisons(self) -> list[FactTest]:
        """Every leaf test, so the loader can check values against the fact's choices."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Constant(Condition):
    value: bool

    def test(self, facts: Mapping[str, object]) -> Truth:
        return self.value

    def facts(self) -> frozenset[str]:
        return frozenset()

    def comparisons(self) -> list[FactTest]:
        return []


@dataclass(frozen=True, slots=True)
class FactTest(Condition):
    fact: str
    operator: str
    operand: Any

    def test(self, facts: Mapping[str, object]) -> Truth:
        value = facts.get(self.fact)
        known = value is not None
        if self.operator == "is_unknown":
            return (not known) == bool(self.operand)
        if self.operator == "is_known":
            return known == bool(self.operand)
        if not known:
            return None
        if self.operator in _NUMERIC and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            return None
        return _COMPARISONS[self.operator](value, self.operand)

    def facts(self) -> frozenset[str]:
        return frozenset({self.fact})

    def comparisons(self) -> list[FactTest]:
        return [self]


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def test(self, facts: Mapping[str, object]) -> Truth:
        results = [part.test(facts) for part in self.parts]
        if any(result is False for result in results):
            return False
        return None if any(result is None for result in results) else True

    def facts(self) -> frozenset[str]:
        return frozenset().union(*(part.facts() for part in self.parts))

    def comparisons(self) -> list[FactTest]:
        return [leaf for part in self.parts for leaf in part.comparisons()]


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def test(self, facts: Mapping[str, object]) -> Truth:
        results = [part.test(facts) for part in self.parts]
        if any(result is True for result in results):
            return True
        return None if any(result is None for result in results) else False

    def facts(self) -> frozenset[str]:
        return frozenset().union(*(part.facts() for part in self.parts))

    def comparisons(self) -> list[FactTest]:
        return [leaf for part in self.parts for leaf in part.comparisons()]


@dataclass(frozen=True, slots=True)
class Not(Condition):
    part: Condition

    def test(self, facts: Mapping[str, object]) -> Truth:
        result = self.part.test(facts)
        return None if result is None else not result

    def facts(self) -> frozenset[str]:
        return self.part.facts()

    def comparisons(self) -> list[FactTest]:
        return self.part.comparisons()


def parse_condition(raw: object, *, where: str) -> Condition:
    """Build a :class:`Condition` from YAML data; ``where`` names the file and rule in errors."""
    if isinstance(raw, bool):
        return Constant(raw)
    if not isinstance(raw, Mapping):
        msg = f"{where}: a condition must be a mapping or true/false, got {raw!r}"
        raise ContentError(msg)
    keys = set(raw)
    if len(keys) == 1 and keys <= {"all", "any"}:
        key = next(iter(keys))
        items = raw[key]
        if not isinstance(items, list) or not items:
            msg = f"{where}: '{key}' needs a non-empty list of conditions"
            raise ContentError(msg)
        parts = tuple(parse_condition(item, where=where) for item in items)
        return AllOf(parts) if key == "all" else AnyOf(parts)
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], where=where))
    if "fact" in keys and len(keys) == 2:
        (operator,) = keys - {"fact"}
        fact = raw["fact"]
        operand = raw[operator]
        if not isinstance(fact, str) or not fact:
            msg = f"{where}: 'fact' must be a fact name"
            raise ContentError(msg)
        if operator not in _COMPARISONS and operator not in _PRESENCE:
            known = ", ".join(sorted([*_COMPARISONS, *_PRESENCE]))
            msg = f"{where}: unknown operator {operator!r} (use one of: {known})"
            raise ContentError(msg)
        if operator == "in" and not isinstance(operand, list):
            msg = f"{where}: 'in' needs a list"
            raise ContentError(msg)
        if operator in _NUMERIC and (isinstance(operand, bool) or not isinstance(operand, int)):
            msg = f"{where}: {operator!r} needs a whole number"
            raise ContentError(msg)
        if operator in _PRESENCE and not isinstance(operand, bool):
            msg = f"{where}: {operator!r} needs true or false"
            raise ContentError(msg)
        return FactTest(fact, operator, tuple(operand) if operator == "in" else operand)
    msg = f"{where}: cannot read condition {dict(raw)!r}"
    raise ContentError(msg)
