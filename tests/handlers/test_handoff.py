"""Hand-off round trip: owner → staff chat (with topic) → staff reply → owner."""

from __future__ import annotations

from datetime import timedelta

from bot.core.messages import EventKind
from handlers.handoff import FLOW, close_idle_handoffs, owner_has_open_handoff
from storage import Database
from storage.repositories import Handoffs
from tests.handlers.leads_kit import STAFF_CHAT, Kit, Owner, staff_event


async def talking(kit: Kit) -> tuple[Owner, int]:
    owner = await kit.owner()
    consent = await owner.start(FLOW)
    assert consent.choices[:2] == ["handoff:consent:yes", "handoff:consent:no"]
    opened = await owner.tap("handoff:consent:yes")
    assert opened.choices == ["handoff:end"]
    [notice] = opened.notices
    handoff_id = int(notice.topic.removeprefix("handoff:"))
    assert f"HT-{handoff_id}" in opened.text and f"HT-{handoff_id}" in notice.message.text
    return owner, handoff_id


async def test_round_trip_through_the_staff_chat(database: Database) -> None:
    kit = Kit.create(database)
    owner, handoff_id = await talking(kit)
    first = await owner.say("Máy sấy có được hỗ trợ không ạ?")
    [forward] = first.notices
    assert (forward.channel, forward.chat_id) == STAFF_CHAT
    assert forward.topic == f"handoff:{handoff_id}"
    assert "Máy sấy có được hỗ trợ không ạ?" in forward.message.text
    assert first.replies  # the first message is acknowledged once
    quiet = await owner.say("Em ở Phú Tâm")
    assert quiet.replies == [] and len(quiet.notices) == 1  # then the bot stays quiet
    [message_id, _] = await kit.deliver(first.notices + quiet.notices, first_message_id=700)
    reply = await staff_event(
        kit, "Dạ có, anh/chị gửi báo giá giúp em.", kind=EventKind.TEXT, reply_to=message_id
    )
    assert reply.replies == []
    [relay] = reply.notices
    assert (relay.channel, relay.chat_id) == ("telegram", owner.identity.chat_id)
    assert "gửi báo giá" in relay.message.text
    unrelated = await staff_event(kit, "ok", kind=EventKind.TEXT, reply_to="999999")
    assert unrelated.replies == [] and unrelated.notices == []


async def test_owner_ends_the_handoff(database: Database) -> None:
    kit = Kit.create(database)
    owner, handoff_id = await talking(kit)
    async with database.session() as session:
        assert await owner_has_open_handoff(session, owner.identity.identity_id)
    ended = await owner.tap("handoff:end")
    assert owner.conv.flow == "menu" and "handoff" not in owner.conv.data
    assert f"HT-{handoff_id}" in ended.notices[0].message.text
    async with database.session() as session:
        assert not await owner_has_open_handoff(session, owner.identity.identity_id)


async def test_staff_close_it_and_the_owner_is_told(database: Database) -> None:
    kit = Kit.create(database)
    owner, handoff_id = await talking(kit)
    closed = await staff_event(kit, "dong", kind=EventKind.COMMAND, args=f"HT-{handoff_id}")
    assert f"HT-{handoff_id}" in closed.text
    assert closed.notices[0].chat_id == owner.identity.chat_id
    later = await owner.say("Còn câu hỏi nữa")
    assert later.notices == [] and "handoff:start" in later.choices
    twice = await staff_event(kit, "dong", kind=EventKind.COMMAND, args=f"{handoff_id}")
    assert "đã kết thúc" in twice.text


async def test_silence_closes_it_lazily_and_by_the_worker(database: Database) -> None:
    kit = Kit.create(database, handoff_idle_hours=2)
    owner, _ = await talking(kit)
    kit.later(hours=3)
    late = await owner.say("Alo?")
    assert late.notices == [] and owner.conv.flow == "menu"
    other, _ = await talking(kit)
    async with database.session() as session, session.begin():
        assert await close_idle_handoffs(session, now=kit.now, idle=timedelta(hours=2)) == 0
        closed = await close_idle_handoffs(
            session, now=kit.now + timedelta(hours=2), idle=timedelta(hours=2)
        )
        assert closed == 1
        assert await Handoffs(session).open_for(other.identity.identity_id) is None


async def test_refusing_consent_opens_nothing(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    refused = await owner.tap("handoff:consent:no")
    assert refused.notices == [] and "policies:start" in refused.choices
    async with database.session() as session:
        assert not await owner_has_open_handoff(session, owner.identity.identity_id)
