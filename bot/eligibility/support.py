"""The maximum support a programme could give, from the dated figures of the policy catalogue.

Only the shape of the catalogue is assumed here (``figure(name).at(day)``), so the engine
stays a pure function of its inputs. A figure that is missing, ``null`` or not ``certain`` on
the day never becomes a number: the estimate says "cán bộ Trung tâm sẽ xác nhận".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from bot.eligibility.model import SupportEstimate, SupportKind, SupportSpec

#: At rate r, a cost above cap / r no longer raises the support; at 50 % that is twice the cap.
DOUBLE = 2


class Reference(Protocol):
    def citation(self) -> str: ...


class FigureValueLike(Protocol):
    @property
    def value(self) -> Decimal | None: ...
    @property
    def certain(self) -> bool: ...
    @property
    def effective_from(self) -> date: ...
    @property
    def reference(self) -> Reference: ...


class FigureLike(Protocol):
    def at(self, day: date) -> FigureValueLike | None: ...


class FigureCatalogue(Protocol):
    """What the engine needs from ``bot.policy.Catalogue``."""

    def figure(self, name: str) -> FigureLike: ...


def _value(catalogue: FigureCatalogue, name: str | None, day: date) -> FigureValueLike | None:
    """The figure in force on ``day``; ``None`` when absent, unknown or uncertain."""
    if name is None:
        return None
    try:
        figure = catalogue.figure(name)
    except LookupError:
        return None
    value = figure.at(day)
    if value is None or value.value is None or not value.certain:
        return None
    return value


def _citation(catalogue: FigureCatalogue, name: str | None, day: date) -> str:
    """The citation of a figure even when its value is uncertain (staff still need it)."""
    if name is None:
        return ""
    try:
        value = catalogue.figure(name).at(day)
    except LookupError:
        return ""
    return value.reference.citation() if value is not None else ""


def estimate_support(
    spec: SupportSpec,
    catalogue: FigureCatalogue,
    facts: Mapping[str, object],
    *,
    on: date,
) -> SupportEstimate:
    """The maximum support for one programme on ``on`` (``tối đa``, never a promise)."""
    if spec.kind is SupportKind.TO_CONFIRM:
        return SupportEstimate(kind=spec.kind, to_confirm=True, per=spec.per, note=spec.note)
    rate = _value(catalogue, spec.rate, on)
    cap = _value(catalogue, spec.cap, on)
    line = spec.line_fact is not None and facts.get(spec.line_fact) is True
    multiplier = _value(catalogue, spec.line_multiplier, on) if line else None
    citation = _citation(catalogue, spec.cap, on)
    if rate is None or cap is None or (line and multiplier is None):
        return SupportEstimate(
            kind=spec.kind,
            to_confirm=True,
            technology_line=line,
            per=spec.per,
            citation=citation,
            note=spec.note,
        )
    assert rate.value is not None and cap.value is not None  # checked by _value
    cap_amount = cap.value
    if multiplier is not None and multiplier.value is not None:
        cap_amount = cap_amount * multiplier.value
    effective = max(value.effective_from for value in (rate, cap, multiplier) if value is not None)
    cost = facts.get(spec.cost_fact) if spec.cost_fact else None
    known_cost = (
        cost
        if spec.kind is SupportKind.COST_SHARE
        and isinstance(cost, int)
        and not isinstance(cost, bool)
        and cost > 0
        else None
    )
    max_amount: int | None = None
    capped = exceeds = False
    if known_cost is not None:
        share = rate.value * known_cost
        max_amount = _whole(min(share, cap_amount))
        capped = share > cap_amount
        exceeds = known_cost > DOUBLE * cap_amount
    return SupportEstimate(
        kind=spec.kind,
        to_confirm=False,
        max_amount=max_amount,
        rate=rate.value,
        cap=_whole(cap_amount),
        cost=known_cost,
        technology_line=line,
        multiplier=multiplier.value if multiplier is not None else None,
        capped=capped,
        exceeds_double_cap=exceeds,
        per=spec.per,
        citation=citation,
        effective_from=effective,
        note=spec.note,
    )


def _whole(amount: Decimal) -> int:
    """Đồng are whole; round down so the "maximum" is never overstated."""
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))
