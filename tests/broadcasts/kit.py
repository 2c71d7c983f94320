"""Broadcast test tooling: many recipients seeded at once, a broadcast started, a sender
pointed at the fake Bot API, and waits on the database's state (never on sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.workers.broadcasts import BroadcastSender
from bot.broadcasts import Button, SendPolicy
from bot.broadcasts.control import BroadcastControl, Draft
from bot.channels.telegram_broadcast import TelegramBroadcastTransport
from bot.core.clock import Clock
from bot.core.content import Content
from bot.core.texts import Texts
from storage import Database
from storage.models import ChannelIdentity, Person
from storage.models.broadcasts import BroadcastDelivery, DeliveryStatus
from storage.models.leads import Subscription
from storage.repositories import Audience
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parents[2]
FIRST_CHAT = 10_000
SEED_CHUNK = 5_000
#: A policy for tests: no quiet hours (tests run at any hour), fast retries.
TEST_POLICY = SendPolicy(
    rate_per_second=280,
    quiet_hours=None,
    backoff_seconds=0.2,
    max_attempts=3,
    lease_seconds=30,
    poll_seconds=0.1,
)


def texts() -> Texts:
    return Content(ROOT / "content").texts


async def seed_recipients(
    database: Database,
    count: int,
    *,
    now: datetime,
    first_chat: int = FIRST_CHAT,
    topic: str = "all",
    channel: str = "telegram",
) -> list[str]:
    """``count`` subscribed owners on ``channel``; their chat ids, in order."""
    async with database.transaction() as session:
        base = int(await session.scalar(select(func.coalesce(func.max(Person.id), 0))) or 0)
        base_identity = int(
            await session.scalar(select(func.coalesce(func.max(ChannelIdentity.id), 0))) or 0
        )
        for start in range(0, count, SEED_CHUNK):
            numbers = range(start, min(start + SEED_CHUNK, count))
            await session.execute(
                insert(Person), [{"id": base + n + 1, "created_at": now} for n in numbers]
            )
            await session.execute(
                insert(ChannelIdentity),
                [
                    {
                        "id": base_identity + n + 1,
                        "person_id": base + n + 1,
                        "channel": channel,
                        "user_id": str(first_chat + n),
                        "chat_id": str(first_chat + n),
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for n in numbers
                ],
            )
            await session.execute(
                insert(Subscription),
                [
                    {
                        "person_id": base + n + 1,
                        "topic": topic,
                        "active": True,
                        "created_at": now,
                        "started_at": now,
                    }
                    for n in numbers
                ],
            )
    return [str(first_chat + n) for n in range(count)]


async def start_broadcast(
    database: Database,
    *,
    now: datetime,
    body: str = "Kính gửi {{ name }}: hội chợ khuyến công mở đăng ký gian hàng miễn phí.",
    audience: Audience | None = None,
    buttons: Sequence[Button] = (),
    report_to: str = "",
) -> int:
    async with database.transaction() as session:
        control = BroadcastControl(session, texts=texts(), now=now)
        draft = Draft(body=body, audience=audience or Audience(), buttons=tuple(buttons))
        created = await control.compose(draft, created_by="telegram:1", report_to=report_to)
        assert created.broadcast is not None, created
        started = await control.send(created.broadcast, actor="telegram:1")
        assert started.broadcast is not None, started
        return started.broadcast.id


async def statuses(database: Database, broadcast_id: int) -> dict[str, str]:
    """Status per chat id."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(BroadcastDelivery.chat_id, BroadcastDelivery.status).where(
                BroadcastDelivery.broadcast_id == broadcast_id
            )
        )
        return {str(chat): str(status) for chat, status in rows}


async def people_by_chat(session: AsyncSession) -> dict[str, int]:
    """Person id per chat id, of every identity seeded."""
    rows = await session.execute(select(ChannelIdentity.chat_id, ChannelIdentity.person_id))
    return {str(chat): int(person) for chat, person in rows}


async def open_rows(database: Database, broadcast_id: int) -> int:
    values = await statuses(database, broadcast_id)
    return sum(1 for status in values.values() if status in ("pending", "sending"))


async def wait_until_settled(
    database: Database,
    broadcast_id: int,
    *,
    timeout: float,  # noqa: ASYNC109 - a test-facing bound
    check_every: float = 0.2,
) -> dict[str, str]:
    """Wait until no row of the broadcast is pending or sending; the final statuses."""
    async with asyncio.timeout(timeout):
        while True:
            values = await statuses(database, broadcast_id)
            if not any(
                s in (DeliveryStatus.PENDING, DeliveryStatus.SENDING) for s in values.values()
            ):
                return values
            await asyncio.sleep(check_every)


def telegram_sender(
    database: Database,
    fake: FakeTelegramAPI,
    *,
    clock: Clock,
    policy: SendPolicy = TEST_POLICY,
    paid: bool = False,
    staff_targets: Sequence[tuple[str, str]] = (),
) -> tuple[BroadcastSender, TelegramBroadcastTransport]:
    transport = TelegramBroadcastTransport(fake.token, base_url=fake.base_url, paid=paid)
    sender = BroadcastSender(
        database,
        transport,
        clock=clock,
        policy=policy,
        texts=texts(),
        staff_targets=staff_targets,
    )
    return sender, transport


async def wait_until_done(
    database: Database,
    broadcast_id: int,
    *,
    timeout: float,  # noqa: ASYNC109 - a test-facing bound
    check_every: float = 0.2,
) -> None:
    """Wait until the sender marked the broadcast done (and queued its report)."""
    from storage.models.broadcasts import Broadcast, BroadcastStatus

    async with asyncio.timeout(timeout):
        while True:
            async with database.transaction() as session:
                status = await session.scalar(
                    select(Broadcast.status).where(Broadcast.id == broadcast_id)
                )
            if status == BroadcastStatus.DONE:
                return
            await asyncio.sleep(check_every)
