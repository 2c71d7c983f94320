"""The app killed around the confirmation: a lead exists and the owner was told, or no lead
exists and the owner was not told; never a lead the owner does not know about."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.base import SendResult
from bot.core.engine import Engine
from bot.core.messages import EventKind, OutboundMessage
from storage import Database
from storage.models import Lead
from tests.harness import RecordingChannel, User, choice_ids, make_engine


async def _fill_form(user: User) -> str:
    await user.command("dangky")
    for text in (
        "đồng ý",
        "Phạm Văn Tư",
        "0912345678",
        "Cơ sở Tư",
        "1",
        "Long Phú",
        "1",
        "bánh pía",
    ):
        await user.say(text)
    await user.tap("register:kind:machinery")
    await user.tap("register:kinds_done")
    await user.say("máy đóng gói")
    await user.say("300 triệu")
    summary = await user.tap("register:call:any")
    return next(c for c in choice_ids(summary) if c.startswith("register:ok:"))


async def _leads(database: Database) -> list[Lead]:
    async with database.session() as session:
        return list((await session.execute(select(Lead))).scalars())


async def test_killed_before_the_commit_no_lead_and_nothing_said(database: Database) -> None:
    engine, channel = make_engine(database)
    user = User(engine)
    confirm = await _fill_form(user)
    event = user.event(EventKind.CHOICE, confirm)

    original = Engine._save

    def killed(self: Engine, *args: Any, **kwargs: Any) -> None:
        raise asyncio.CancelledError  # the process dies after the flow, before the commit

    Engine._save = killed  # type: ignore[method-assign]
    try:
        with pytest.raises(asyncio.CancelledError):
            await engine.process(event)
    finally:
        Engine._save = original  # type: ignore[method-assign]
    assert await _leads(database) == []
    assert channel.sent == []  # the owner was told nothing

    await engine.process(event)  # the platform redelivers the tap
    [lead] = await _leads(database)
    assert lead.code is not None
    assert any(lead.code in message.text for _, message in channel.sent)


async def test_killed_after_the_commit_the_redelivery_tells_the_owner(
    database: Database,
) -> None:
    class DiesOnTheCode(RecordingChannel):
        dead = True

        async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
            if self.dead and "KC-" in message.text:
                self.dead = False
                raise asyncio.CancelledError  # killed while sending the lead code
            return await super().send(chat_id, message)

    engine, _ = make_engine(database)
    channel = DiesOnTheCode()
    engine.register_channel(channel)
    user = User(engine)
    confirm = await _fill_form(user)
    event = user.event(EventKind.CHOICE, confirm)
    with pytest.raises(asyncio.CancelledError):
        await engine.process(event)
    [lead] = await _leads(database)  # committed
    assert lead.code is not None
    assert not any(lead.code in m.text for _, m in channel.sent)

    await engine.process(event)  # redelivered: the committed reply is sent, no second lead
    assert any(lead.code in m.text for _, m in channel.sent)
    assert len(await _leads(database)) == 1
