"""The morning digest lists leads still new after N days, once a day, to the staff chats."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.core.clock import FixedClock
from bot.core.content import Content
from bot.staff.digest import DigestWorker, send_digest
from storage import Database, OutboxMessage
from tests.conftest import CONTENT_DIR
from tests.dashboard.kit import make_lead
from tests.harness import TEST_NOW

TARGETS = [("telegram", "-100777")]


async def test_digest_lists_waiting_leads_once_a_day(sqlite_database: Database) -> None:
    content = Content(CONTENT_DIR)
    await make_lead(sqlite_database, code="KC-2026-000001", days_ago=5)
    await make_lead(sqlite_database, code="KC-2026-000002", days_ago=1)
    await make_lead(sqlite_database, code="KC-2026-000003", days_ago=6, status="contacted")
    options = {"timezone": "Asia/Ho_Chi_Minh", "after_days": 3, "targets": TARGETS}
    assert await send_digest(sqlite_database, content, now=TEST_NOW, **options) == 1
    assert await send_digest(sqlite_database, content, now=TEST_NOW, **options) == 0
    async with sqlite_database.transaction() as session:
        [row] = list((await session.execute(select(OutboxMessage))).scalars())
    assert row.chat_id == "-100777" and row.topic == "digest:2026-11-26"
    text = row.payload["text"]
    assert "KC-2026-000001" in text
    assert "KC-2026-000002" not in text and "KC-2026-000003" not in text
    tomorrow = TEST_NOW + timedelta(days=1)
    assert await send_digest(sqlite_database, content, now=tomorrow, **options) == 1


async def test_worker_waits_for_the_configured_hour(sqlite_database: Database) -> None:
    content = Content(CONTENT_DIR)
    await make_lead(sqlite_database, code="KC-2026-000001", days_ago=5)
    clock = FixedClock(TEST_NOW.replace(hour=6))
    woken: list[bool] = []
    worker = DigestWorker(
        sqlite_database,
        content,
        clock=clock.now,
        timezone="Asia/Ho_Chi_Minh",
        hour=7,
        after_days=3,
        targets=TARGETS,
        wake=lambda: woken.append(True),
    )
    assert await worker.run_once() == 0 and woken == []
    clock.set(TEST_NOW.replace(hour=7, minute=5))
    assert await worker.run_once() == 1 and woken == [True]
