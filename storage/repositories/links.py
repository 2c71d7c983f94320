"""Joining two channel identities of one person (Telegram and Zalo) with a one-time code.

The code is shown on one channel and typed on the other; redeeming it files everything of
the typing person (identities, leads, consents, hand-offs, subscriptions) under the person
who showed it, so staff see one person and "Hồ sơ của tôi" lists both channels' leads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Person
from storage.models.channels import LinkCode
from storage.models.leads import Consent, Handoff, Lead, Subscription

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)


class LinkOutcome(StrEnum):
    LINKED = "linked"
    ALREADY = "already"  # both identities are already the same person
    UNKNOWN = "unknown"  # no such code, or it expired
    SAME_CHANNEL = "same_channel"  # typed on the channel that showed it


@dataclass(frozen=True, slots=True)
class LinkResult:
    outcome: LinkOutcome
    #: The channel of the identity that showed the code (for the reply).
    other_channel: str = ""


class Links:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def new_code(self, *, person_id: int, identity_id: int, now: datetime) -> str:
        """A fresh code for this identity; its earlier codes stop working."""
        await self.session.execute(delete(LinkCode).where(LinkCode.identity_id == identity_id))
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
            if await self.session.get(LinkCode, code) is None:
                break
        self.session.add(
            LinkCode(
                code=code,
                person_id=person_id,
                identity_id=identity_id,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        await self.session.flush()
        return code

    async def redeem(
        self, code: str, *, identity_id: int, person_id: int, now: datetime
    ) -> LinkResult:
        """Join the typing identity's person into the person who showed ``code``."""
        row = await self.session.get(LinkCode, code.strip())
        if row is None or row.expires_at <= now:
            return LinkResult(LinkOutcome.UNKNOWN)
        shown_on = await self.session.get(ChannelIdentity, row.identity_id)
        typed_on = await self.session.get(ChannelIdentity, identity_id)
        if shown_on is None or typed_on is None:
            return LinkResult(LinkOutcome.UNKNOWN)
        if shown_on.channel == typed_on.channel:
            return LinkResult(LinkOutcome.SAME_CHANNEL)
        other_channel, into = shown_on.channel, shown_on.person_id
        await self.session.delete(row)  # single use
        if into == person_id:
            return LinkResult(LinkOutcome.ALREADY, other_channel=other_channel)
        await merge_people(self.session, into=into, absorbed=person_id)
        return LinkResult(LinkOutcome.LINKED, other_channel=other_channel)


async def merge_people(session: AsyncSession, *, into: int, absorbed: int) -> None:
    """File every row of person ``absorbed`` under person ``into`` and drop ``absorbed``.

    Core statements, not the ORM: consent rows are append-only evidence and refuse ORM
    updates; re-filing them under the same human changes none of what they record (who,
    which channel identity, what, when, which notice).
    """
    await session.flush()
    kept_topics = select(Subscription.topic).where(Subscription.person_id == into)
    await session.execute(
        delete(Subscription).where(
            Subscription.person_id == absorbed, Subscription.topic.in_(kept_topics)
        )
    )
    for model in (ChannelIdentity, Lead, Consent, Handoff, Subscription, LinkCode):
        await session.execute(
            update(model).where(model.person_id == absorbed).values(person_id=into)
        )
    await session.execute(delete(Person).where(Person.id == absorbed))
