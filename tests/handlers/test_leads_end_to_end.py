"""Registration and hand-off through the real engine, router and outbox worker."""

from __future__ import annotations

from sqlalchemy import select

from bot.app.workers.outbox import OutboxWorker
from bot.core.config import load_settings
from bot.core.messages import EventKind, InboundEvent
from storage import Database
from storage.models import Lead, MessageLog
from tests.harness import User, choice_ids, link_officer, make_engine, texts_of

STAFF = "staff"


def engine_for(database: Database):  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=str(database.url), staff_chats=f"test:{STAFF}")
    return make_engine(database, settings=settings)


async def test_register_by_typing_only(database: Database) -> None:
    engine, channel = engine_for(database)
    owner = User(engine, user_id="u-e2e")
    notice = await owner.command("dangky")
    assert "Quyền của anh/chị" in texts_of(notice)
    await owner.say("đồng ý")  # a typed label is the button
    await owner.say("Phạm Văn Tư")
    await owner.say("0912345678")
    await owner.say("Cơ sở cơ khí Tư")
    await owner.say("1")  # the first facility type
    await owner.say("Long Phú")
    await owner.say("1")  # two official units are called Long Phú: the first one
    await owner.say("máy xay lúa")
    await owner.say("1")  # machinery
    await owner.say("5")  # done
    await owner.say("cần máy tiện")
    await owner.say("2 tỷ rưỡi")
    summary = await owner.say("3")  # any office hour
    assert "2,5 tỷ đồng" in texts_of(summary)
    confirm = next(c for c in choice_ids(summary) if c.startswith("register:ok:"))
    done = await owner.tap(confirm)
    again = await owner.tap(confirm)
    async with database.session() as session:
        [lead] = (await session.execute(select(Lead))).scalars()
        logged = [row.text for row in (await session.execute(select(MessageLog))).scalars()]
    assert lead.code is not None and lead.code in texts_of(done)
    assert lead.code in texts_of(again)
    assert lead.full_name == "Phạm Văn Tư" and lead.budget == 2_500_000_000
    assert any(lead.code in text for text in logged)
    worker = OutboxWorker(database, engine.channels, clock=engine.clock)
    assert await worker.deliver_due() == 1  # one staff notice despite the double tap
    [(chat, message)] = channel.sent
    assert chat == STAFF and "Phạm Văn Tư" in message.text


async def test_handoff_round_trip_through_the_outbox(database: Database) -> None:
    engine, channel = engine_for(database)
    owner = User(engine, user_id="u-ask")
    await owner.tap("handoff:start")
    await owner.tap("handoff:consent:yes")
    await owner.say("Cho hỏi hạn nộp hồ sơ?")
    worker = OutboxWorker(database, engine.channels, clock=engine.clock)
    assert await worker.deliver_due() == 2  # "needs an officer" and the forwarded question
    forwarded_id = str(len(channel.sent))  # the recording channel numbers messages in order
    assert "hạn nộp hồ sơ" in channel.sent[-1][1].text
    await link_officer(database, channel="test", user_id="officer")  # staff answer owners
    staff_reply = InboundEvent(
        channel="test",
        user_id="officer",
        chat_id=STAFF,
        event_id="staff-1",
        kind=EventKind.TEXT,
        text="Hạn là 20/5 hằng năm ạ.",
        reply_to_message_id=forwarded_id,
    )
    assert await engine.handle(staff_reply) == []
    assert await worker.deliver_due() == 1
    chat, relayed = channel.sent[-1]
    assert chat == "u-ask" and "20/5" in relayed.text
    quiet = await owner.say("Cảm ơn cán bộ")
    assert quiet == []  # while talking to staff the bot says nothing itself
    assert await worker.deliver_due() == 1  # ...and forwards the text instead
