"""Forgetting anonymous web chat sessions nobody came back to.

Every browser without a cookie becomes a person, an identity, a conversation and a log; a
session that never consented, registered, asked for an officer or subscribed holds nothing
anyone needs once it has been idle for ``WEBCHAT_SESSION_IDLE_DAYS``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import ChannelIdentity, Person
from storage.models.leads import Consent, Handoff, Lead, Subscription


async def purge_idle_sessions(
    session: AsyncSession, *, channel: str, idle_before: datetime
) -> int:
    """Delete people whose only identities are idle ``channel`` sessions with nothing tied
    to them; their identities, states and logs go with them. Returns how many people."""
    identity = aliased(ChannelIdentity)
    other = aliased(ChannelIdentity)
    person = identity.person_id
    still_used = exists().where(
        other.person_id == person,
        (other.channel != channel) | (other.last_seen_at >= idle_before),
    )
    tied = [
        exists().where(model.person_id == person)
        for model in (Lead, Consent, Handoff, Subscription)
    ]
    idle = (
        select(person)
        .where(identity.channel == channel, identity.last_seen_at < idle_before)
        .where(~still_used, *(~condition for condition in tied))
        .distinct()
    )
    ids = list((await session.execute(idle)).scalars())
    if not ids:
        return 0
    await session.execute(
        delete(Person).where(Person.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return len(ids)
