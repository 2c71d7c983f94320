from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app.workers.outbox import OutboxWorker
from bot.channels.base import SendResult
from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.core.router import Router
from storage import ChannelIdentity, Database, MessageLog, OutboxMessage, ProcessedEvent
from tests.conftest import drop_database, make_database
from tests.harness import RecordingChannel, User, choice_ids, make_engine, texts_of

pytestmark = pytest.mark.asyncio


def counter_router(
    *, gate: dict[str, asyncio.Event] | None = None, entered: asyncio.Event | None = None
) -> Router:
    """A router whose ``count`` flow adds one per message and may wait on a gate
    (``entered`` is set when a step reaches its gate)."""

    async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        conv.data["n"] = 0
        return Step(conv, [OutboundMessage("0", choices=(Choice("count:add", "Thêm một"),))])

    async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        if gate is not None and event.text in gate:
            if entered is not None:
                entered.set()
            await gate[event.text].wait()
        if event.text == "boom":
            conv.data["n"] = 999
            ctx.notify("test", "staff", OutboundMessage("never sent"))
            raise RuntimeError("flow bug")
        if event.text == "notify":
            ctx.notify("test", "staff", OutboundMessage("staff notice"), topic="t:1")
        n = int(str(conv.data.get("n", 0))) + 1
        conv.data["n"] = n
        conv.data.setdefault("seen", []).append(event.text)  # type: ignore[union-attr]
        return Step(conv, [OutboundMessage(str(n))])

    router = Router()
    router.add(Flow(name="count", start=start, handle=handle))
    return router


async def test_start_greets_and_shows_the_main_menu(database: Database) -> None:
    engine, _ = make_engine(database)
    replies = await User(engine).command("start")
    assert "Xin chào" in texts_of(replies)
    assert {"policies:start", "eligibility:start", "register:start", "handoff:start"} <= set(
        choice_ids(replies)
    )


async def test_a_redelivered_event_is_handled_once(database: Database) -> None:
    engine, _ = make_engine(database)
    engine.router = counter_router()
    user = User(engine)
    await user.tap("count:start")
    event = user.event(EventKind.TEXT, "x")
    assert texts_of(await user.send(event)) == "1"
    # Same event id: not run again; its replies, never confirmed sent, are replayed as they were.
    assert texts_of(await user.send(event)) == "1"
    assert texts_of(await user.say("y")) == "2"
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert count == 3


async def test_a_redelivery_after_the_replies_were_sent_sends_nothing(
    database: Database,
) -> None:
    engine, channel = make_engine(database)
    engine.router = counter_router()
    user = User(engine)
    await engine.process(user.event(EventKind.CHOICE, "count:start"))
    event = user.event(EventKind.TEXT, "x")
    await engine.process(event)
    await engine.process(event)
    assert [m.text for _, m in channel.sent] == ["0", "1"]


async def test_killed_after_commit_before_sending_the_redelivery_tells_the_user(
    database: Database,
) -> None:
    """Committed but never sent: the redelivered event sends the committed replies."""

    class DiesWhileSending(RecordingChannel):
        def __init__(self) -> None:
            super().__init__()
            self.dead = True

        async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
            if self.dead:
                self.dead = False
                raise asyncio.CancelledError  # the process is killed mid-send
            return await super().send(chat_id, message)

    engine, _ = make_engine(database)
    engine.router = counter_router()
    channel = DiesWhileSending()
    engine.register_channel(channel)
    user = User(engine)
    await user.tap("count:start")
    event = user.event(EventKind.TEXT, "x")
    with pytest.raises(asyncio.CancelledError):
        await engine.process(event)
    assert channel.sent == []
    await engine.process(event)  # the platform redelivers the update
    assert [m.text for _, m in channel.sent] == ["1"]  # told once, the step not run twice
    assert texts_of(await user.say("y")) == "2"


async def test_state_survives_a_restart(database: Database) -> None:
    engine, _ = make_engine(database)
    engine.router = counter_router()
    await User(engine).tap("count:start")
    await User(engine).say("a")
    restarted, _ = make_engine(database)  # a new process on the same database
    restarted.router = counter_router()
    assert texts_of(await User(restarted).say("b")) == "2"


async def test_typed_number_and_typed_label_choose_the_offered_option(database: Database) -> None:
    engine, _ = make_engine(database)
    user = User(engine)
    await user.command("start")
    replies = await user.say("8")  # the eighth option: help
    assert "Em giúp được gì" in texts_of(replies)
    replies = await user.say("huong dan")  # the label typed without diacritics
    assert "Em giúp được gì" in texts_of(replies)


class SlowChannel(RecordingChannel):
    """Holds back the delivery of one reply text until its gate opens."""

    def __init__(self, gates: dict[str, asyncio.Event]) -> None:
        super().__init__()
        self.gates = gates
        self.held = asyncio.Event()

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        if message.text in self.gates and chat_id == "alice":
            self.held.set()
            await self.gates[message.text].wait()
        return await super().send(chat_id, message)


async def test_one_users_updates_and_replies_stay_in_order_while_others_run_alongside(
    database: Database,
) -> None:
    gate = {"1": asyncio.Event()}
    engine, _ = make_engine(database)
    engine.router = counter_router()
    channel = SlowChannel(gate)
    engine.register_channel(channel)
    alice, bob = User(engine, "alice"), User(engine, "bob")
    await alice.tap("count:start")
    await bob.tap("count:start")
    first = asyncio.create_task(engine.process(alice.event(EventKind.TEXT, "first")))
    await asyncio.wait_for(channel.held.wait(), timeout=5)  # its reply is being delivered
    second = asyncio.create_task(engine.process(alice.event(EventKind.TEXT, "second")))
    # Bob is not held up while Alice's first reply is still being delivered.
    await asyncio.wait_for(engine.process(bob.event(EventKind.TEXT, "bob-says")), timeout=5)
    assert [(chat, m.text) for chat, m in channel.sent] == [("bob", "1")]
    assert not second.done()
    gate["1"].set()
    await asyncio.gather(first, second)
    alice_texts = [m.text for chat, m in channel.sent if chat == "alice"]
    assert alice_texts == ["1", "2"]


@pytest.mark.postgres
async def test_a_slow_step_of_one_user_does_not_hold_up_another_on_postgres(
    tmp_path: Path,
) -> None:
    """On PostgreSQL steps of different users overlap even inside their transactions."""
    database = await make_database("postgresql", tmp_path)
    try:
        gate = {"first": asyncio.Event()}
        engine, _ = make_engine(database)
        entered = asyncio.Event()
        engine.router = counter_router(gate=gate, entered=entered)
        alice, bob = User(engine, "alice"), User(engine, "bob")
        await alice.tap("count:start")
        await bob.tap("count:start")
        first = asyncio.create_task(alice.say("first"))
        await asyncio.wait_for(entered.wait(), timeout=5)  # inside its transaction
        second = asyncio.create_task(alice.say("second"))
        assert texts_of(await asyncio.wait_for(bob.say("bob-says"), timeout=5)) == "1"
        assert not second.done()
        gate["first"].set()
        assert texts_of(await first) == "1"
        assert texts_of(await second) == "2"
    finally:
        await drop_database(database)


async def test_a_failing_flow_apologises_and_keeps_the_state(database: Database) -> None:
    engine, _ = make_engine(database)
    engine.router = counter_router()
    user = User(engine)
    await user.tap("count:start")
    await user.say("a")
    replies = await user.say("boom")
    assert "trục trặc" in texts_of(replies)
    assert texts_of(await user.say("b")) == "2"  # n was not set to 999
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_killed_before_commit_means_nothing_saved_and_nothing_said(
    database: Database,
) -> None:
    """A process killed mid-step: no reply was returned and the redelivery runs afresh."""
    engine, _ = make_engine(database)
    engine.router = counter_router()
    user = User(engine)
    await user.tap("count:start")
    event = user.event(EventKind.TEXT, "x")

    async def killed(*_: object) -> Step:
        raise asyncio.CancelledError

    original = engine.router.flows["count"]
    engine.router.flows["count"] = Flow("count", original.start, killed)
    with pytest.raises(asyncio.CancelledError):
        await user.send(event)
    engine.router.flows["count"] = original
    assert texts_of(await user.send(event)) == "1"  # redelivered: handled now, once


async def test_notices_are_delivered_by_the_outbox_after_commit(database: Database) -> None:
    engine, channel = make_engine(database)
    engine.router = counter_router()
    user = User(engine)
    await user.tap("count:start")
    await user.say("notify")
    assert engine.outbox_ready.is_set()
    worker = OutboxWorker(database, engine.channels, clock=engine.clock)
    assert await worker.deliver_due() == 1
    assert [(chat, m.text) for chat, m in channel.sent] == [("staff", "staff notice")]
    async with database.session() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None
        assert (row.status, row.topic, row.message_ids) == ("sent", "t:1", ["1"])
    assert await worker.deliver_due() == 0  # nothing sent twice


async def test_blocking_the_bot_is_recorded_and_unblocking_clears_it(database: Database) -> None:
    engine, _ = make_engine(database)
    user = User(engine)
    await user.command("start")
    assert await user.send(user.event(EventKind.BLOCKED)) == []
    async with database.session() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None
        assert identity.blocked_at is not None
    await user.send(user.event(EventKind.UNBLOCKED))
    async with database.session() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None
        assert identity.blocked_at is None


async def test_every_message_in_and_out_is_logged(database: Database) -> None:
    engine, _ = make_engine(database)
    user = User(engine)
    await user.command("start")
    await user.say("menu")
    async with database.session() as session:
        rows = list((await session.execute(select(MessageLog).order_by(MessageLog.id))).scalars())
    assert [row.direction for row in rows][:2] == ["in", "out"]
    assert rows[0].text == "/start"
    assert any("Xin chào" in row.text for row in rows)


@pytest.mark.postgres
async def test_two_workers_never_interleave_one_users_updates(tmp_path: Path) -> None:
    """Two engines (two processes) on PostgreSQL: the row lock serialises one user."""
    database = await make_database("postgresql", tmp_path)
    try:
        first, _ = make_engine(database)
        second, _ = make_engine(database)
        first.router = counter_router()
        second.router = counter_router()
        await User(first).tap("count:start")
        results = await asyncio.gather(
            *(User(engine).say(f"m{i}") for i, engine in enumerate([first, second] * 10))
        )
        numbers = sorted(int(texts_of(r)) for r in results)
        assert numbers == list(range(1, 21))  # no lost update, no duplicate count
    finally:
        await drop_database(database)
