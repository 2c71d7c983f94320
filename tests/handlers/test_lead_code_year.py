"""The lead code's year is the Center's calendar year at confirmation, from the one clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from storage import Database
from storage.models import Lead
from tests.harness import User, fixed_clock, make_engine, texts_of

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "conversations" / "registration.yaml"
CENTER_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
LAST_SECOND_OF_2026 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=CENTER_TIME)
FIRST_SECOND_OF_2027 = datetime(2027, 1, 1, 0, 0, 0, tzinfo=CENTER_TIME)


async def _register(user: User) -> str:
    """Fill the registration form as in the conversation script; returns the confirm id."""
    with SCRIPT.open(encoding="utf-8") as handle:
        steps: list[dict[str, Any]] = yaml.safe_load(handle)
    await user.command("start")
    replies = []
    for step in steps:
        if "tap" in step:
            replies = await user.tap(step["tap"])
        else:
            replies = await user.say(str(step.get("say", step.get("phone"))))
    return next(
        choice.id
        for reply in replies
        for choice in reply.choices
        if choice.id.startswith("register:ok:")
    )


async def test_codes_change_year_at_midnight_in_the_centers_time_zone(
    sqlite_database: Database,
) -> None:
    clock = fixed_clock(LAST_SECOND_OF_2026)
    engine, _ = make_engine(sqlite_database, clock=clock)
    before, after = User(engine, user_id="u-dec"), User(engine, user_id="u-jan")
    confirm_before = await _register(before)
    confirm_after = await _register(after)

    done_before = texts_of(await before.tap(confirm_before))
    clock.set(FIRST_SECOND_OF_2027)
    done_after = texts_of(await after.tap(confirm_after))

    async with sqlite_database.session() as session:
        leads = list((await session.execute(select(Lead).order_by(Lead.id))).scalars())
    assert [lead.code for lead in leads] == [
        f"KC-2026-{leads[0].id:06d}",
        f"KC-2027-{leads[1].id:06d}",
    ]
    assert leads[0].code in done_before
    assert leads[1].code in done_after
    # Stored in UTC: the 2027 lead was created on 31 Dec 2026 at 17:00 UTC.
    assert leads[1].created_at.isoformat() == "2026-12-31T17:00:00+00:00"
