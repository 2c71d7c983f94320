"""After "xoá dữ liệu của tôi" no table or column holds the owner's name or phone (18.2)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

import storage.all_models  # noqa: F401  - every table in Base.metadata
from bot.core.messages import EventKind, InboundEvent
from bot.leads.views import display_phone
from storage import Database
from storage.models import Base
from tests.hardening.kit import (
    FACILITY,
    OWNER_NAME,
    OWNER_PHONE,
    STAFF_CHAT,
    engine_with_staff,
    register,
)
from tests.harness import User, link_officer, texts_of


def _needles() -> list[str]:
    return [OWNER_NAME, OWNER_PHONE, display_phone(OWNER_PHONE), OWNER_PHONE[1:], FACILITY]


async def _scan(database: Database) -> list[str]:
    """Every string or JSON value of every column of every table, searched for the owner."""
    found: list[str] = []
    async with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, int | float):
                        continue
                    text = json.dumps(value, ensure_ascii=False, default=str)
                    digits = re.sub(r"\D", "", text)
                    for needle in _needles():
                        if needle in text or (needle.isdigit() and needle in digits):
                            found.append(f"{table.name}.{column} holds {needle!r}")
    return found


async def test_erasure_leaves_no_copy_in_any_table(database: Database) -> None:
    engine, _ = engine_with_staff(database)
    owner = User(engine, user_id="owner-e")
    confirmation = await register(owner)
    code = re.search(r"KC-[\w-]+", confirmation)
    assert code is not None
    await link_officer(database, channel="test", user_id="officer")  # staff commands need it
    staff_command = InboundEvent(
        channel="test",
        user_id="officer",
        chat_id=STAFF_CHAT,
        event_id="staff-hoso",
        kind=EventKind.COMMAND,
        text="hoso",
        args=code.group(0),
        private=False,
    )
    shown = await engine.handle(staff_command)
    assert OWNER_NAME in texts_of(shown)  # the staff chat saw it, and the log kept it
    await owner.tap("privacy:view")  # the data view, kept for redelivery
    assert await _scan(database)  # the scan does find the owner before erasure
    await owner.tap("privacy:delete")
    await owner.tap("privacy:delete:yes")
    await engine.flush_delivered()
    left = await _scan(database)
    assert left == [], sorted(set(left))
