"""When the Center must answer an owner's data request (view, correct, erase, withdraw).

Decree 356/2025/NĐ-CP sets the time to acknowledge a data subject's request in *working*
days; ``content/privacy/notice.yaml`` holds the number and its citation, and staff notices
of a correction or erasure say the day it falls on. Weekends are skipped; public holidays
are not known here, so the notice says so.
"""

from __future__ import annotations

from datetime import date, timedelta

#: Monday is 0: Saturday and Sunday are not working days.
FIRST_WEEKEND_DAY = 5


def working_days_after(received: date, working_days: int) -> date:
    """The day ``working_days`` working days after ``received`` (weekends skipped)."""
    day = received
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < FIRST_WEEKEND_DAY:
            left -= 1
    return day
