"""No reply lost when a send fails; two outbox workers never send a row twice and keep a
group chat under its rate (issue 18.5 and 18.6)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.app.workers.outbox import OutboxWorker
from bot.app.workers.outbox_claims import GROUP_PACE_SECONDS, LEASE_SECONDS
from bot.channels.base import SendResult, SendStatus
from bot.core.clock import FixedClock
from bot.core.messages import ChannelCapabilities, EventKind, OutboundMessage
from storage import Database
from storage.repositories.conversations import Conversations
from tests.harness import TEST_NOW, User, fixed_clock, make_engine

GROUP = "-100200"


@dataclass
class ClockedChannel:
    """Records each send with the clock's time; fails the first ``failures`` sends; a send
    waits for ``gate`` when one is set."""

    clock: FixedClock
    name: str = "test"
    failures: int = 0
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[tuple[str, str, datetime]] = field(default_factory=list)

    @property
    def capabilities(self) -> ChannelCapabilities:
        return ChannelCapabilities(max_text_length=4096, max_buttons=12)

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        if self.failures > 0:
            self.failures -= 1
            return SendResult(SendStatus.TRANSIENT, detail="500 Internal Server Error")
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append((chat_id, message.text, self.clock.now()))
        return SendResult(SendStatus.SENT, message_ids=(str(len(self.sent)),))


async def _enqueue(database: Database, chat_id: str, count: int, *, start: int = 0) -> None:
    async with database.transaction() as session:
        for index in range(start, start + count):
            Conversations(session).enqueue(
                channel="test",
                chat_id=chat_id,
                payload={"text": f"{chat_id}#{index}"},
                topic="t",
                now=TEST_NOW,
            )


async def test_a_failed_reply_is_queued_and_delivered_later_in_order(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = fixed_clock()
    engine, _ = make_engine(database, clock=clock)
    channel = ClockedChannel(clock, failures=1)
    engine.register_channel(channel)
    user = User(engine, user_id="u-fail")
    with caplog.at_level(logging.WARNING):
        await engine.process(user.event(EventKind.COMMAND, "start"))
    assert channel.sent == []
    assert any("queued for retry" in r.getMessage() for r in caplog.records)
    expected = [m.text for m in await engine.handle(user.event(EventKind.COMMAND, "start"))]
    worker = OutboxWorker(database, engine.channels, clock=clock)
    assert await worker.deliver_due() == 0  # not before the first retry is due
    clock.advance(timedelta(seconds=10))
    while await worker.deliver_due():
        pass
    assert [text for _, text, _ in channel.sent] == expected


async def test_a_row_taken_over_after_its_lease_is_not_sent_again(database: Database) -> None:
    clock = fixed_clock()
    slow = ClockedChannel(clock, gate=asyncio.Event())
    fast = ClockedChannel(clock)
    for chat in ("c1", "c2", "c3"):
        await _enqueue(database, chat, 1)
    first = OutboxWorker(database, {"test": slow}, clock=clock)
    second = OutboxWorker(database, {"test": fast}, clock=clock)
    stuck = asyncio.create_task(first.deliver_due())
    await slow.entered.wait()  # the first worker holds its claim, mid-send
    clock.advance(timedelta(seconds=LEASE_SECONDS + 1))  # the first worker looks dead
    assert await second.deliver_due() == 3
    assert slow.gate is not None
    slow.gate.set()
    await stuck
    sent = [text for _, text, _ in slow.sent + fast.sent]
    assert sorted(sent) == ["c1#0", "c1#0", "c2#0", "c3#0"]  # only the one in flight twice


async def test_two_workers_share_a_group_chat_at_its_pace(database: Database) -> None:
    clock = fixed_clock()
    channel = ClockedChannel(clock)
    await _enqueue(database, GROUP, 8)
    await _enqueue(database, "private", 4)
    workers = [OutboxWorker(database, {"test": channel}, clock=clock) for _ in range(2)]
    for _ in range(40):
        await asyncio.gather(*(worker.deliver_due() for worker in workers))
        clock.advance(timedelta(seconds=1))
    texts = [text for _, text, _ in channel.sent]
    assert sorted(texts) == sorted({*texts}) and len(texts) == 12  # each row once
    group = [(text, at) for chat, text, at in channel.sent if chat == GROUP]
    assert [text for text, _ in group] == [f"{GROUP}#{i}" for i in range(8)]  # in order
    gaps = [(b - a).total_seconds() for (_, a), (_, b) in itertools.pairwise(group)]
    assert min(gaps) >= GROUP_PACE_SECONDS
