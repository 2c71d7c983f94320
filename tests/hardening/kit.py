"""Shared steps for the hardening tests: an owner registered through the real engine."""

from __future__ import annotations

from bot.core.clock import FixedClock
from bot.core.config import load_settings
from bot.core.engine import Engine
from storage import Database
from tests.harness import RecordingChannel, User, choice_ids, make_engine

STAFF_CHAT = "-100500"
OWNER_NAME = "Trần Thị Canary"
OWNER_PHONE = "0987654321"
FACILITY = "Xưởng dệt Canary"


def engine_with_staff(
    database: Database, *, clock: FixedClock | None = None
) -> tuple[Engine, RecordingChannel]:
    settings = load_settings(database_url=str(database.url), staff_chats=f"test:{STAFF_CHAT}")
    return make_engine(database, settings=settings, clock=clock)


async def register(owner: User, *, name: str = OWNER_NAME, phone: str = OWNER_PHONE) -> str:
    """Register a lead by typing only; returns the confirmation's reply text."""
    await owner.command("dangky")
    await owner.say("đồng ý")
    await owner.say(name)
    await owner.say(phone)
    await owner.say(FACILITY)
    await owner.say("1")
    await owner.say("Long Phú")
    await owner.say("1")  # the first of the two official units named Long Phú
    await owner.say("vải thổ cẩm")
    await owner.say("1")
    await owner.say("5")
    await owner.say("cần máy dệt")
    await owner.say("200 triệu")
    summary = await owner.say("3")
    confirm = next(c for c in choice_ids(summary) if c.startswith("register:ok:"))
    done = await owner.tap(confirm)
    return "\n".join(reply.text for reply in done)
