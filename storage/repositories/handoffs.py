"""Hand-offs to staff: open, relay bookkeeping, close (by owner, staff or silence)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Handoff, HandoffStatus, OutboxMessage

#: Outbox topic of a message forwarded to staff for hand-off ``id``: ``handoff:<id>``.
HANDOFF_TOPIC_PREFIX = "handoff:"
#: Platform message ids are digits (Telegram) or short tokens; anything else is not looked up.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def handoff_topic(handoff_id: int) -> str:
    return f"{HANDOFF_TOPIC_PREFIX}{handoff_id}"


class Handoffs:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, handoff_id: int) -> Handoff | None:
        return await self.session.get(Handoff, handoff_id)

    async def open_for(self, identity_id: int) -> Handoff | None:
        query = select(Handoff).where(
            Handoff.identity_id == identity_id, Handoff.status == HandoffStatus.OPEN
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def for_person(self, person_id: int) -> list[Handoff]:
        query = select(Handoff).where(Handoff.person_id == person_id).order_by(Handoff.id)
        return list((await self.session.execute(query)).scalars())

    async def open(
        self, *, person_id: int, identity_id: int, lead_id: int | None, now: datetime
    ) -> Handoff:
        """A new open hand-off; the partial unique index allows one per identity."""
        handoff = Handoff(
            person_id=person_id,
            identity_id=identity_id,
            lead_id=lead_id,
            status=HandoffStatus.OPEN,
            opened_at=now,
            last_activity_at=now,
        )
        self.session.add(handoff)
        await self.session.flush()
        return handoff

    async def touch(self, handoff: Handoff, *, now: datetime) -> None:
        handoff.last_activity_at = now
        await self.session.flush()

    async def close(self, handoff: Handoff, *, now: datetime, by: str) -> bool:
        if not handoff.is_open:
            return False
        handoff.status, handoff.closed_at, handoff.closed_by = HandoffStatus.CLOSED, now, by
        await self.session.flush()
        return True

    async def close_if_idle(self, handoff: Handoff, *, now: datetime, idle: timedelta) -> bool:
        """Close a hand-off silent for longer than ``idle`` (checked when the owner writes)."""
        if handoff.is_open and handoff.last_activity_at + idle <= now:
            return await self.close(handoff, now=now, by="idle")
        return False

    async def close_idle(self, *, now: datetime, idle: timedelta) -> int:
        query = select(Handoff).where(
            Handoff.status == HandoffStatus.OPEN, Handoff.last_activity_at <= now - idle
        )
        rows = list((await self.session.execute(query)).scalars())
        for handoff in rows:
            await self.close(handoff, now=now, by="idle")
        return len(rows)

    async def owner_of(self, handoff: Handoff) -> ChannelIdentity | None:
        return await self.session.get(ChannelIdentity, handoff.identity_id)

    async def find_by_message(
        self, *, channel: str, chat_id: str, message_id: str
    ) -> Handoff | None:
        """The hand-off a staff reply refers to, through the ids the outbox stored."""
        if not _MESSAGE_ID.match(message_id):
            return None
        needle = f'%"{message_id}"%'
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.topic.startswith(HANDOFF_TOPIC_PREFIX),
                cast(OutboxMessage.message_ids, String).like(needle),
            )
            .order_by(OutboxMessage.id.desc())
        )
        for row in (await self.session.execute(query)).scalars():
            if message_id in [str(item) for item in row.message_ids]:
                suffix = row.topic.removeprefix(HANDOFF_TOPIC_PREFIX)
                if suffix.isdigit():
                    return await self.get(int(suffix))
        return None
