"""The broadcast sender against the fake Bot API with Telegram's flood limits enforced.

Pacing needs real time, so these tests run the sender on the system clock with quiet hours
off (they pass at any hour and on any date); quiet hours have their own tests on a fixed
clock. ``BROADCAST_FLOOD_SECONDS`` sets the length of the run at Telegram's real 30/s
(default 6 s in CI; ``bench/broadcast.py --flood`` runs the full two minutes).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.app.workers.broadcasts import BroadcastSender
from bot.broadcasts import Button, SendPolicy
from bot.core.clock import FixedClock, SystemClock
from bot.core.delivery import SendResult, SendStatus
from bot.core.messages import OutboundMessage
from storage import Database
from storage.models import ChannelIdentity, OutboxMessage
from storage.models.broadcasts import Broadcast, BroadcastDelivery, BroadcastStatus
from storage.models.leads import Handoff, HandoffStatus, Subscription
from tests.broadcasts.kit import (
    TEST_POLICY,
    people_by_chat,
    seed_recipients,
    start_broadcast,
    statuses,
    telegram_sender,
    texts,
    wait_until_done,
    wait_until_settled,
)
from tests.fakes.telegram_api import FakeTelegramAPI, RateLimits

FLOOD_SECONDS = float(os.environ.get("BROADCAST_FLOOD_SECONDS", "6"))
SECONDS_PER_MINUTE = 60
REPORT_CHAT = "-100500"


async def _run(sender: BroadcastSender) -> asyncio.Task[None]:
    return asyncio.create_task(sender.run())


async def _stop(sender: BroadcastSender, task: asyncio.Task[None]) -> None:
    sender.stop()
    await asyncio.wait_for(task, timeout=10)


async def test_a_thousand_recipients_each_get_one_message_and_every_status_is_right(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    clock = SystemClock()
    chats = await seed_recipients(database, 1000, now=clock.now())
    rng = random.Random(14)
    picked = rng.sample(chats, 52)
    blocked, not_found = set(picked[:30]), set(picked[30:40])
    flaky, broken = set(picked[40:50]), set(picked[50:])
    async with FakeTelegramAPI(rate_limits=RateLimits(per_second=300)) as fake:
        for chat in blocked:
            fake.make_unreachable(chat, "blocked")
        for chat in not_found:
            fake.make_unreachable(chat, "chat_not_found")
        for chat in flaky:
            fake.fail_next("sendMessage", chat_id=chat, error="server_error")
        for chat in broken:
            fake.fail_next("sendMessage", chat_id=chat, error="server_error", times=99)
        # A burst of flood-control answers in the middle of the run.
        fake.fail_next("sendMessage", error="retry_after", retry_after=1, times=3, after=300)
        broadcast_id = await start_broadcast(
            database,
            now=clock.now(),
            buttons=[Button("eligibility")],
            report_to=f"telegram:{REPORT_CHAT}",
        )
        sender, transport = telegram_sender(database, fake, clock=clock)
        await transport.start()
        task = await _run(sender)
        try:
            final = await wait_until_settled(database, broadcast_id, timeout=90)
            await wait_until_done(database, broadcast_id, timeout=30)
        finally:
            await _stop(sender, task)
            await transport.stop()
        delivered = dict(fake.delivered)
        sample = fake.sent(chats[0])[0]
    expected = {
        chat: "blocked"
        if chat in blocked
        else "not_found"
        if chat in not_found
        else "failed"
        if chat in broken
        else "sent"
        for chat in chats
    }
    assert final == expected
    reachable = [chat for chat in chats if expected[chat] == "sent"]
    assert all(delivered.get(chat) == 1 for chat in reachable)
    assert not any(delivered.get(chat) for chat in blocked | not_found | broken)
    assert sender.stats.flood_errors >= 1  # the burst paused the sender and cost no attempt
    # Every message says how to stop, and carries the stop button and its counted buttons.
    assert "/huy" in sample["text"]
    buttons = [
        b["callback_data"] for row in sample["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == [f"bc:{broadcast_id}:eligibility:start", f"bc:{broadcast_id}:subscribe:stop"]
    async with database.transaction() as session:
        unreachable = set(
            (
                await session.execute(
                    select(ChannelIdentity.chat_id).where(ChannelIdentity.blocked_at.is_not(None))
                )
            ).scalars()
        )
        attempts = dict(
            (
                await session.execute(
                    select(BroadcastDelivery.chat_id, BroadcastDelivery.attempts)
                )
            ).all()
        )
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        status = broadcast.status
        reports = list(
            (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.chat_id == REPORT_CHAT)
                )
            ).scalars()
        )
    assert unreachable == blocked | not_found
    assert all(attempts[chat] == 2 for chat in flaky)  # one 5xx, then sent
    assert all(attempts[chat] == TEST_POLICY.max_attempts for chat in broken)
    assert status == BroadcastStatus.DONE
    report = reports[-1].payload["text"]
    assert f"Đã gửi: {len(reachable)}/1000" in report
    assert "Đã chặn bot: 30" in report and "Không tìm thấy: 10" in report


async def test_at_telegrams_pace_the_sender_stays_under_the_flood_limit(
    sqlite_database: Database,
) -> None:
    """At the real 30 messages/s the sender (28/s) triggers at most one 429 a minute."""
    database = sqlite_database
    clock = SystemClock()
    policy = replace(TEST_POLICY, rate_per_second=28)
    count = int(policy.rate_per_second * FLOOD_SECONDS)
    await seed_recipients(database, count, now=clock.now())
    async with FakeTelegramAPI(rate_limits=RateLimits(), record_calls=False) as fake:
        broadcast_id = await start_broadcast(database, now=clock.now())
        sender, transport = telegram_sender(database, fake, clock=clock, policy=policy)
        await transport.start()
        task = await _run(sender)
        try:
            await wait_until_settled(database, broadcast_id, timeout=FLOOD_SECONDS * 3 + 30)
        finally:
            await _stop(sender, task)
            await transport.stop()
        stats = fake.stats()
    assert stats["delivered"] == count and stats["duplicates"] == 0
    # One a minute, begun minutes counted: a pacing bug gives dozens in a few seconds.
    assert stats["flood_errors"] <= math.ceil(FLOOD_SECONDS / SECONDS_PER_MINUTE)


async def test_unsubscribed_since_the_snapshot_are_skipped_and_a_handoff_holds(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    clock = SystemClock()
    chats = await seed_recipients(database, 3, now=clock.now())
    broadcast_id = await start_broadcast(database, now=clock.now())
    async with database.transaction() as session:
        people = await people_by_chat(session)
        await session.execute(
            update(Subscription)
            .where(Subscription.person_id == people[chats[0]])
            .values(active=False, stopped_at=clock.now())
        )
        identity = await session.scalar(
            select(ChannelIdentity.id).where(ChannelIdentity.chat_id == chats[1])
        )
        assert identity is not None
        session.add(
            Handoff(
                person_id=people[chats[1]],
                identity_id=identity,
                status=HandoffStatus.OPEN,
                opened_at=clock.now(),
                last_activity_at=clock.now(),
            )
        )
    async with FakeTelegramAPI() as fake:
        sender, transport = telegram_sender(database, fake, clock=clock)
        await transport.start()
        try:
            await sender.run_once()
            await sender.run_once()
            first = await statuses(database, broadcast_id)
            async with database.transaction() as session:
                await session.execute(update(Handoff).values(status=HandoffStatus.CLOSED))
                await session.execute(
                    update(BroadcastDelivery).values(next_attempt_at=clock.now())
                )
            await sender.run_once()
            second = await statuses(database, broadcast_id)
        finally:
            await transport.stop()
        delivered = dict(fake.delivered)
    assert first == {chats[0]: "skipped", chats[1]: "pending", chats[2]: "sent"}
    assert second[chats[1]] == "sent"
    assert delivered == {chats[1]: 1, chats[2]: 1}


class RefusingTransport:
    """Every message refused for its content (as Telegram's 400 "can't parse entities")."""

    name = "telegram"

    def __init__(self) -> None:
        self.calls = 0

    async def send(
        self, chat_id: str, message: OutboundMessage, *, attachment: object = None
    ) -> SendResult:
        self.calls += 1
        return SendResult(SendStatus.BAD_CONTENT, detail="can't parse entities")


async def test_a_run_of_content_errors_pauses_the_broadcast_and_tells_its_author(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    clock = SystemClock()
    await seed_recipients(database, 20, now=clock.now())
    broadcast_id = await start_broadcast(
        database, now=clock.now(), report_to=f"telegram:{REPORT_CHAT}"
    )
    transport = RefusingTransport()
    policy = replace(TEST_POLICY, rate_per_second=1000, content_error_limit=5, batch_seconds=0.005)
    sender = BroadcastSender(database, transport, clock=clock, policy=policy, texts=texts())
    for _ in range(4):
        await sender.run_once()
    values = await statuses(database, broadcast_id)
    async with database.transaction() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        state = (broadcast.status, broadcast.paused_reason)
        notices = [
            row.payload["text"]
            for row in (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.chat_id == REPORT_CHAT)
                )
            ).scalars()
        ]
    assert state == ("paused", "content_errors")
    assert transport.calls == 5  # nothing more is tried once paused
    assert list(values.values()).count("pending") == 15
    assert any("đã tạm dừng" in text and "can't parse entities" in text for text in notices)


QUIET_CASES = [
    ("2026-05-04T21:30", "2026-05-05T07:00"),
    ("2026-05-05T06:59", "2026-05-05T07:00"),
    ("2026-05-05T07:00", None),
    ("2026-05-05T20:59", None),
]


@pytest.mark.parametrize(("local", "until"), QUIET_CASES)
def test_quiet_hours(local: str, until: str | None) -> None:
    policy = SendPolicy()
    zone = policy.timezone
    moment = datetime.fromisoformat(local).replace(tzinfo=zone)
    expected = datetime.fromisoformat(until).replace(tzinfo=zone) if until else None
    assert policy.quiet_until(moment) == expected


async def test_nothing_is_sent_in_quiet_hours(sqlite_database: Database) -> None:
    database = sqlite_database
    night = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)  # 22:00 in Hà Nội
    clock = FixedClock(night)
    await seed_recipients(database, 2, now=night)
    broadcast_id = await start_broadcast(database, now=night)
    transport = RefusingTransport()
    sender = BroadcastSender(
        database, transport, clock=clock, policy=SendPolicy(poll_seconds=5), texts=texts()
    )
    wait = await sender.run_once()
    assert wait == 5 and transport.calls == 0
    assert set((await statuses(database, broadcast_id)).values()) == {"pending"}
    clock.advance(timedelta(hours=9))  # 07:00
    await sender.run_once()
    assert transport.calls == 2


@pytest.mark.postgres
async def test_several_workers_share_the_table_and_the_pace_on_postgresql(
    tmp_path: object,
) -> None:
    from tests.conftest import drop_database, make_database

    first = await make_database("postgresql", tmp_path)  # type: ignore[arg-type]
    second = Database(first.url)
    clock = SystemClock()
    try:
        chats = await seed_recipients(first, 400, now=clock.now())
        broadcast_id = await start_broadcast(first, now=clock.now())
        policy = replace(TEST_POLICY, rate_per_second=90)
        async with FakeTelegramAPI(rate_limits=RateLimits(per_second=100)) as fake:
            senders = [
                telegram_sender(database, fake, clock=clock, policy=policy)
                for database in (first, second)
            ]
            tasks = []
            for sender, transport in senders:
                await transport.start()
                tasks.append(await _run(sender))
            try:
                await wait_until_settled(first, broadcast_id, timeout=60)
            finally:
                for (sender, transport), task in zip(senders, tasks, strict=True):
                    await _stop(sender, task)
                    await transport.stop()
            stats = fake.stats()
            delivered = dict(fake.delivered)
    finally:
        await second.dispose()
        await drop_database(first)
    assert stats["flood_errors"] == 0
    assert all(delivered.get(chat) == 1 for chat in chats)
    assert all(sender.stats.sent > 0 for sender, _ in senders)


async def test_a_429_slows_the_pace_for_a_while(sqlite_database: Database) -> None:
    from storage.repositories import ClaimedDelivery

    clock = FixedClock(datetime(2026, 5, 4, 3, 0, tzinfo=UTC))
    policy = replace(TEST_POLICY, rate_per_second=28)
    sender = BroadcastSender(
        sqlite_database, RefusingTransport(), clock=clock, policy=policy, texts=texts()
    )
    row = ClaimedDelivery(1, 1, 1, 1, "10000", 0)
    base = sender._interval()
    outcome = sender._outcome(row, SendResult(SendStatus.RETRY_AFTER, retry_after=3), clock.now())
    assert outcome.status == "pending" and not outcome.attempted
    assert outcome.retry_at == clock.now() + timedelta(seconds=3)
    slower = sender._interval()
    assert slower > base
    clock.advance(timedelta(seconds=31))
    assert base < sender._interval() < slower  # coming back step by step


async def test_the_429s_of_one_burst_slow_the_pace_once(sqlite_database: Database) -> None:
    """Sends in flight when the first 429 came get theirs too: one pause, one slow-down."""
    from storage.repositories import ClaimedDelivery

    clock = FixedClock(datetime(2026, 5, 4, 3, 0, tzinfo=UTC))
    policy = replace(TEST_POLICY, rate_per_second=950)
    sender = BroadcastSender(
        sqlite_database, RefusingTransport(), clock=clock, policy=policy, texts=texts()
    )
    flood = SendResult(SendStatus.RETRY_AFTER, retry_after=1)
    sender._outcome(ClaimedDelivery(1, 1, 1, 1, "10000", 0), flood, clock.now())
    once = sender._interval()
    for index in range(2, 6):  # the rest of the burst, within the pause
        sender._outcome(ClaimedDelivery(index, 1, index, index, "10000", 0), flood, clock.now())
    assert sender._interval() == once
    clock.advance(timedelta(seconds=2))  # a new stall after the pause: slower again
    sender._outcome(ClaimedDelivery(9, 1, 9, 9, "10000", 0), flood, clock.now())
    assert sender._interval() > once


def test_paid_mode_keeps_few_sends_in_flight_and_slows_gently() -> None:
    """What piles up while Telegram stalls arrives at once: paid mode keeps it small, and
    its 429s (bunched arrivals at 95 % of the limit) cost a small step of pace."""
    from bot.broadcasts.policy import PAID_CONCURRENCY, PAID_SLOWDOWN, policy_for
    from bot.core.config import load_settings

    paid = policy_for(load_settings(broadcast_paid=True), "telegram")
    free = policy_for(load_settings(broadcast_paid=False), "telegram")
    assert (paid.concurrency, paid.slowdown) == (PAID_CONCURRENCY, PAID_SLOWDOWN)
    assert paid.concurrency < free.concurrency
    assert paid.slowdown > free.slowdown


async def test_the_pace_after_a_429_follows_the_policy(sqlite_database: Database) -> None:
    from storage.repositories import ClaimedDelivery

    clock = FixedClock(datetime(2026, 5, 4, 3, 0, tzinfo=UTC))
    policy = replace(TEST_POLICY, rate_per_second=950, slowdown=0.97)
    sender = BroadcastSender(
        sqlite_database, RefusingTransport(), clock=clock, policy=policy, texts=texts()
    )
    base = sender._interval()
    flood = SendResult(SendStatus.RETRY_AFTER, retry_after=1)
    sender._outcome(ClaimedDelivery(1, 1, 1, 1, "10000", 0), flood, clock.now())
    assert sender._interval() == base / 0.97
