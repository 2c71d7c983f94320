"""``/huy`` ends what is in progress: a hand-off, a half-filled form, announcements."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.config import load_settings
from bot.core.messages import EventKind
from storage import ConversationState, Database
from storage.models import Handoff
from storage.repositories import Subscriptions
from tests.harness import User, make_engine, texts_of


async def test_huy_closes_an_open_handoff(database: Database) -> None:
    settings = load_settings(database_url=str(database.url), staff_chats="test:staff")
    engine, _ = make_engine(database, settings=settings)
    owner = User(engine, user_id="u-cancel")
    await owner.tap("handoff:start")
    await owner.tap("handoff:consent:yes")
    await owner.say("Cho hỏi về hội chợ")
    replies = await owner.command("huy")
    assert "đã dừng" in texts_of(replies)
    async with database.session() as session:
        handoffs = list((await session.execute(select(Handoff))).scalars())
    assert handoffs and all(h.closed_at is not None for h in handoffs)
    # After /huy the bot answers free text again instead of forwarding it.
    assert await owner.say("menu") != []


async def test_huy_drops_a_half_filled_registration(database: Database) -> None:
    engine, _ = make_engine(database)
    owner = User(engine, user_id="u-draft")
    await owner.command("dangky")
    await owner.say("đồng ý")
    await owner.say("Nguyễn Thị Lan")
    await owner.command("huy")
    async with database.session() as session:
        states = list((await session.execute(select(ConversationState))).scalars())
    assert states
    assert all("Nguyễn Thị Lan" not in str(state.data) for state in states)
    assert all(state.flow == "menu" for state in states)


async def test_a_person_who_blocked_the_bot_gets_no_announcements(database: Database) -> None:
    engine, _ = make_engine(database)
    owner = User(engine, user_id="u-sub")
    other = User(engine, user_id="u-sub2")
    await owner.command("start")
    await other.command("start")
    async with database.session() as session, session.begin():
        subscriptions = Subscriptions(session)
        for person_id in (1, 2):
            await subscriptions.start(person_id, "all", now=engine.now())
    async with database.session() as session:
        assert await Subscriptions(session).subscribers("machinery") == [1, 2]
    await owner.send(owner.event(EventKind.BLOCKED))
    async with database.session() as session:
        assert await Subscriptions(session).subscribers("machinery") == [2]
    await owner.send(owner.event(EventKind.UNBLOCKED))
    async with database.session() as session:
        assert await Subscriptions(session).subscribers("machinery") == [1, 2]
