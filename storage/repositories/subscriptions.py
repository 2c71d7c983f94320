"""Opt-ins to announcement topics; stopping is immediate and lasts until a new opt-in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Subscription

#: The topic that means "every announcement", present and future.
TOPIC_ALL = "all"


class Subscriptions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_person(self, person_id: int) -> list[Subscription]:
        query = (
            select(Subscription)
            .where(Subscription.person_id == person_id)
            .order_by(Subscription.topic)
        )
        return list((await self.session.execute(query)).scalars())

    async def active_topics(self, person_id: int) -> set[str]:
        return {row.topic for row in await self.for_person(person_id) if row.active}

    async def start(self, person_id: int, topic: str, *, now: datetime) -> bool:
        """Opt in; False when the person was already subscribed to ``topic``."""
        query = select(Subscription).where(
            Subscription.person_id == person_id, Subscription.topic == topic
        )
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            self.session.add(
                Subscription(
                    person_id=person_id, topic=topic, active=True, created_at=now, started_at=now
                )
            )
        elif row.active:
            return False
        else:
            row.active, row.started_at, row.stopped_at = True, now, None
        await self.session.flush()
        return True

    async def stop(self, person_id: int, topic: str, *, now: datetime) -> bool:
        query = select(Subscription).where(
            Subscription.person_id == person_id,
            Subscription.topic == topic,
            Subscription.active.is_(True),
        )
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            return False
        row.active, row.stopped_at = False, now
        await self.session.flush()
        return True

    async def stop_all(self, person_id: int, *, now: datetime) -> list[str]:
        """Stop every topic at once (``/huy``, a blocked bot, erasure); the topics stopped."""
        stopped: list[str] = []
        for row in await self.for_person(person_id):
            if row.active:
                row.active, row.stopped_at = False, now
                stopped.append(row.topic)
        await self.session.flush()
        return stopped

    async def subscribers(self, topic: str) -> list[int]:
        """Person ids to announce ``topic`` to: subscribed to it or to everything, and still
        reachable (a person who blocked the bot on every channel is inactive)."""
        reachable = exists().where(
            ChannelIdentity.person_id == Subscription.person_id,
            ChannelIdentity.blocked_at.is_(None),
        )
        query = (
            select(Subscription.person_id)
            .where(
                Subscription.active.is_(True),
                or_(Subscription.topic == topic, Subscription.topic == TOPIC_ALL),
                reachable,
            )
            .distinct()
            .order_by(Subscription.person_id)
        )
        return list((await self.session.execute(query)).scalars())
