"""Owner flows run in private chats only; a group never receives personal data (issue 18.1)."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.channels.telegram import event_from_json
from bot.core.messages import EventKind, InboundEvent
from storage import Database
from storage.models import ChannelIdentity
from tests.conftest import FIXTURES
from tests.hardening.kit import OWNER_NAME, OWNER_PHONE, STAFF_CHAT, engine_with_staff, register
from tests.harness import User, texts_of

GROUP = "-100999"


def _in_group(user: str, kind: EventKind, text: str, event_id: str, chat: str = GROUP):
    return InboundEvent(
        channel="test",
        user_id=user,
        chat_id=chat,
        event_id=event_id,
        kind=kind,
        text=text,
        private=False,
    )


async def test_owner_flows_never_run_in_a_group_chat(database: Database) -> None:
    engine, _ = engine_with_staff(database)
    owner = User(engine, user_id="owner-g")
    assert "KC-" in await register(owner)
    opened = await engine.handle(_in_group("owner-g", EventKind.COMMAND, "dulieu", "g1"))
    viewed = await engine.handle(_in_group("owner-g", EventKind.CHOICE, "privacy:view", "g2"))
    assert opened == [] and viewed == []
    async with database.transaction() as session:
        [identity] = (await session.execute(select(ChannelIdentity))).scalars()
    assert identity.chat_id == "owner-g"  # the group never replaced the private chat
    private = texts_of(await owner.tap("privacy:view"))
    assert OWNER_NAME in private and OWNER_PHONE[-3:] in private


async def test_the_staff_chat_still_reaches_staff_commands(database: Database) -> None:
    engine, _ = engine_with_staff(database)
    replies = await engine.handle(
        _in_group("officer", EventKind.COMMAND, "trogiup", "s1", chat=STAFF_CHAT)
    )
    assert replies  # the staff handler answers in the configured staff chat
    async with database.transaction() as session:
        [identity] = (await session.execute(select(ChannelIdentity))).scalars()
    assert identity.chat_id == "officer"  # but the group is not the officer's own chat


def test_telegram_marks_group_and_private_chats() -> None:
    group = json.loads((FIXTURES / "telegram" / "group_reply.json").read_text())
    private = json.loads((FIXTURES / "telegram" / "text.json").read_text())
    group_event = event_from_json(group)
    private_event = event_from_json(private)
    assert group_event is not None and not group_event.private
    assert private_event is not None and private_event.private
    query = json.loads((FIXTURES / "telegram" / "callback_query.json").read_text())
    query["callback_query"]["message"]["chat"]["type"] = "group"
    tapped = event_from_json(query)
    assert tapped is not None and not tapped.private
