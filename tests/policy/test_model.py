"""Dated figures: the value in force on a day is the latest one starting on or before it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.policy import Figure, FigureValue, Reference, Scope, Unit

TT28 = Reference(document="Thông tư 28/2018/TT-BTC", article="Điều 8", clause="Khoản 4")
TTLT = Reference(
    document="Thông tư liên tịch 26/2014/TTLT-BTC-BCT",
    article="Điều 6",
    clause="Khoản 2",
    point="Điểm c",
)


def _figure() -> Figure:
    return Figure(
        key="may.cap",
        description="cap",
        unit=Unit.VND,
        scope=Scope.NATIONAL,
        values=(
            FigureValue(Decimal(200_000_000), True, date(2014, 1, 1), TTLT, Scope.NATIONAL),
            FigureValue(Decimal(300_000_000), True, date(2018, 5, 11), TT28, Scope.NATIONAL),
            FigureValue(None, False, date(2030, 1, 1), TT28, Scope.NATIONAL),
        ),
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2013, 12, 31), None),
        (date(2014, 1, 1), Decimal(200_000_000)),
        (date(2018, 5, 10), Decimal(200_000_000)),
        (date(2018, 5, 11), Decimal(300_000_000)),
        (date(2029, 12, 31), Decimal(300_000_000)),
    ],
)
def test_value_in_force_crosses_start_dates(day: date, expected: Decimal | None) -> None:
    value = _figure().at(day)
    assert (value.value if value is not None else None) == expected


def test_nothing_in_force_before_the_first_value() -> None:
    assert _figure().at(date(2000, 1, 1)) is None


def test_null_value_after_a_known_one_is_not_known() -> None:
    value = _figure().at(date(2030, 6, 1))
    assert value is not None
    assert value.value is None
    assert not value.known


def test_uncertain_number_is_not_known() -> None:
    value = FigureValue(Decimal(1), False, date(2020, 1, 1), TT28, Scope.LOCAL)
    assert not value.known


def test_citation_reads_smallest_unit_first() -> None:
    assert TT28.citation() == "Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC"
    assert TTLT.citation() == "Điểm c Khoản 2 Điều 6 Thông tư liên tịch 26/2014/TTLT-BTC-BCT"
    assert Reference(document="Nghị quyết X").citation() == "Nghị quyết X"


def test_key_parts() -> None:
    figure = _figure()
    assert (figure.programme_id, figure.name) == ("may", "cap")
