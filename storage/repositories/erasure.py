"""Erasing a person's data on request (Law 91/2025 Art. 4) while keeping anonymous statistics.

What goes: personal fields of their leads, staff notes on those leads, the message log and
stored conversation state of every identity of the person, the text of outbox messages
about them, and any other stored copy of their name, phone or facility (staff-chat replies
in the log, replies kept for redelivery: :mod:`storage.repositories.scrub`). What stays:
the person and identity rows (they hold no personal data and the current step needs them),
consent evidence, stopped subscriptions, closed hand-offs, and each lead's status, support
kinds, facility type, commune and dates for statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import ChannelIdentity, ConversationState, Lead, MessageLog, OutboxMessage
from storage.models.broadcasts import BroadcastClick, BroadcastDelivery
from storage.repositories.handoffs import Handoffs, handoff_topic
from storage.repositories.leads import ACTOR_OWNER, Leads
from storage.repositories.scrub import scrub_copies
from storage.repositories.subscriptions import Subscriptions

#: Outbox topics that carry a lead's details: ``lead:<id>`` (new or updated lead, to staff)
#: and ``status:<id>`` (status change, to the owner).
LEAD_TOPIC_PREFIXES: tuple[str, ...] = ("lead:", "status:")
#: Outbox topic prefix of staff replies relayed to the owner.
RELAY_TOPIC_PREFIX = "relay:"
REDACTED_PAYLOAD = {"text": "", "redacted": True}
SENT = "sent"


@dataclass(slots=True)
class ErasureReport:
    """Counts only: what was erased, for the reply and the staff notice."""

    lead_codes: list[str] = field(default_factory=list)
    messages_deleted: int = 0
    states_deleted: int = 0
    outbox_redacted: int = 0
    subscriptions_stopped: int = 0
    handoffs_closed: int = 0


async def erase_person(
    session: AsyncSession, person_id: int, *, now: datetime, current_identity_id: int
) -> ErasureReport:
    """Erase what the person asked to erase, inside the caller's transaction.

    The conversation state of ``current_identity_id`` is left to the caller (the engine
    rewrites it after this step with whatever the flow returns, which must be empty).
    """
    report = ErasureReport()
    identities = list(
        (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)
            )
        ).scalars()
    )
    identity_ids = [identity.id for identity in identities]
    leads = Leads(session)
    person_leads = await leads.for_person(person_id)
    topics = [f"{prefix}{lead.id}" for lead in person_leads for prefix in LEAD_TOPIC_PREFIXES]
    personal = [
        value
        for lead in person_leads
        for value in (lead.full_name, lead.phone, lead.facility_name)
        if value
    ]
    for lead in person_leads:
        report.lead_codes.append(lead.code or "")
        await leads.anonymise(lead, now=now, actor=ACTOR_OWNER)
    handoffs = Handoffs(session)
    for handoff in await handoffs.for_person(person_id):
        topics += [handoff_topic(handoff.id), f"{RELAY_TOPIC_PREFIX}{handoff.id}"]
        if await handoffs.close(handoff, now=now, by="erased"):
            report.handoffs_closed += 1
    report.subscriptions_stopped = len(await Subscriptions(session).stop_all(person_id, now=now))
    await _scrub_broadcasts(session, person_id)
    if identity_ids:
        result = await session.execute(
            delete(MessageLog)
            .where(MessageLog.identity_id.in_(identity_ids))
            .execution_options(synchronize_session=False)
        )
        report.messages_deleted = result.rowcount or 0  # type: ignore[attr-defined]
        others = [
            identity_id for identity_id in identity_ids if identity_id != current_identity_id
        ]
        if others:
            result = await session.execute(
                delete(ConversationState)
                .where(ConversationState.identity_id.in_(others))
                .execution_options(synchronize_session=False)
            )
            report.states_deleted = result.rowcount or 0  # type: ignore[attr-defined]
    report.outbox_redacted = await _redact_outbox(session, topics=topics, chats=identities)
    # Copies elsewhere: staff-chat replies in the log, replies kept for redelivery.
    await session.flush()
    await scrub_copies(session, personal)
    return report


async def _scrub_broadcasts(session: AsyncSession, person_id: int) -> None:
    """The person's broadcast rows: deliveries (chat id, message id) go, clicks stay counted
    without a person."""
    await session.execute(
        delete(BroadcastDelivery)
        .where(BroadcastDelivery.person_id == person_id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(BroadcastClick)
        .where(BroadcastClick.person_id == person_id)
        .values(person_id=None)
        .execution_options(synchronize_session=False)
    )


async def anonymise_leads(
    session: AsyncSession, leads: Iterable[Lead], *, now: datetime, actor: str
) -> int:
    """Anonymise leads and redact the outbox messages about them (retention purge)."""
    repository = Leads(session)
    topics: list[str] = []
    count = 0
    for lead in leads:
        topics += [f"{prefix}{lead.id}" for prefix in LEAD_TOPIC_PREFIXES]
        await repository.anonymise(lead, now=now, actor=actor)
        count += 1
    await _redact_outbox(session, topics=topics, chats=[])
    return count


async def _redact_outbox(
    session: AsyncSession, *, topics: list[str], chats: list[ChannelIdentity]
) -> int:
    """Sent rows lose their text; rows not yet sent are dropped (never deliver erased data)."""
    conditions: list[ColumnElement[bool]] = []
    if topics:
        conditions.append(OutboxMessage.topic.in_(topics))
    conditions += [
        and_(OutboxMessage.channel == identity.channel, OutboxMessage.chat_id == identity.chat_id)
        for identity in chats
    ]
    if not conditions:
        return 0
    matches = or_(*conditions)
    dropped = await session.execute(
        delete(OutboxMessage)
        .where(matches, OutboxMessage.status != SENT)
        .execution_options(synchronize_session=False)
    )
    redacted = await session.execute(
        update(OutboxMessage)
        .where(matches, OutboxMessage.status == SENT)
        .values(payload=REDACTED_PAYLOAD)
        .execution_options(synchronize_session=False)
    )
    return int(dropped.rowcount or 0) + int(redacted.rowcount or 0)  # type: ignore[attr-defined]
