"""Erasing an owner also scrubs them from broadcasts: their delivery rows (chat id, message
id) go, their button presses stay counted without the person; others are untouched."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage import Database
from storage.models import ChannelIdentity
from storage.models.broadcasts import BroadcastClick, BroadcastDelivery
from storage.repositories import erase_person
from tests.broadcasts.kit import seed_recipients, start_broadcast

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


async def test_erasure_scrubs_broadcast_rows(database: Database) -> None:
    chats = await seed_recipients(database, 2, now=NOW)
    broadcast_id = await start_broadcast(database, now=NOW)
    async with database.transaction() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.chat_id == chats[0])
        )
        assert identity is not None
        gone, kept = identity.person_id, identity.id
        session.add(
            BroadcastClick(broadcast_id=broadcast_id, person_id=gone, button="x", created_at=NOW)
        )
    async with database.transaction() as session:
        await erase_person(session, gone, now=NOW, current_identity_id=kept)
    async with database.transaction() as session:
        result = await session.execute(
            select(BroadcastDelivery.person_id, BroadcastDelivery.chat_id).where(
                BroadcastDelivery.broadcast_id == broadcast_id
            )
        )
        rows = [(person, chat) for person, chat in result]
        clicks = list((await session.execute(select(BroadcastClick.person_id))).scalars())
    assert [chat for _, chat in rows] == [chats[1]]
    assert gone not in {person for person, _ in rows}
    assert clicks == [None]
