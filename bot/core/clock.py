"""The one source of "now" for the whole runtime.

Every component that needs the current time (the engine, the workers, the channels, the
command line) is handed a :class:`Clock`; none reads the wall clock on its own. That keeps
retention, expiry, the figures in force and the lead code's year consistent with each other,
and lets tests fix the date for every component at once (``tests/bot/test_clock.py`` keeps
the rule: this module is the only one that reads the system time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    """Tells the current moment as an aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC: the clock of a real deployment."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until it is moved: for tests and for ``--on`` replays."""

    def __init__(self, moment: datetime) -> None:
        self._moment = _aware(moment)

    def now(self) -> datetime:
        return self._moment

    def set(self, moment: datetime) -> None:
        self._moment = _aware(moment)

    def advance(self, delta: timedelta) -> None:
        self._moment += delta


def today(clock: Clock, zone: tzinfo) -> date:
    """The calendar day in ``zone`` (the Center's time zone) at the clock's moment."""
    return clock.now().astimezone(zone).date()


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a clock needs an aware datetime")
    return moment
