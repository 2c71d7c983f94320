"""Delivers outbox rows (staff notices, relays, status updates) after their step committed.

At-least-once: a row is marked sent only after the channel accepted it, so a crash between
the two may send it twice; platforms offer no idempotency key for sends.

Several workers share the table (:mod:`bot.app.workers.outbox_claims`): claims are taken one
worker at a time, each chat's rows leave in order, a group chat gets at most one message per
``GROUP_PACE_SECONDS`` across all workers, and a row is re-checked (its lease renewed) just
before it is sent, so a row another worker took over after a lease ran out is never sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.workers.outbox_claims import (
    BATCH_SIZE,
    LEASE_SECONDS,
    ClaimedRow,
    claim_due,
    renew_lease,
)
from bot.core.clock import Clock
from bot.core.delivery import Sender, SendResult, SendStatus, send_fitted
from bot.core.messages import OutboundMessage, message_from_dict, message_to_dict
from bot.leads.codes import format_handoff_ref
from storage import Database
from storage.models import OutboxMessage
from storage.repositories import HANDOFF_TOPIC_PREFIX, Conversations, Leads

if TYPE_CHECKING:
    from bot.core.engine import Engine

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
__all__ = ["BATCH_SIZE", "LEASE_SECONDS", "OutboxWorker", "unreachable_reporter"]
FINAL_STATUSES = {
    SendStatus.BLOCKED: "blocked",
    SendStatus.NOT_FOUND: "blocked",
    SendStatus.UNREACHABLE: "unreachable",
}
UNREACHABLE_TEMPLATE = "outbox/unreachable"
UNREACHABLE_TOPIC = "unreachable"

#: Called in the transaction that marks a row unreachable (staff are told to call instead).
UnreachableHook = Callable[[AsyncSession, OutboxMessage, datetime], Awaitable[None]]


def unreachable_reporter(engine: Engine) -> UnreachableHook:
    """Tell the staff chats that a message could not reach someone on their channel, with
    the hand-off or lead reference that lets them find the person's phone number."""

    async def report(session: AsyncSession, row: OutboxMessage, now: datetime) -> None:
        staff = set(engine.settings.staff_targets)
        if row.topic == UNREACHABLE_TOPIC or (row.channel, row.chat_id) in staff:
            return  # never a report about a report, nor about a staff chat
        text = engine.content.texts.render(
            UNREACHABLE_TEMPLATE,
            channel=row.channel,
            reason=row.last_error,
            ref=await _reference(session, row),
        )
        for channel, chat_id in engine.settings.staff_targets:
            Conversations(session).enqueue(
                channel=channel,
                chat_id=chat_id,
                payload=message_to_dict(OutboundMessage(text=text)),
                topic=UNREACHABLE_TOPIC,
                now=now,
            )
        engine.outbox_ready.set()

    return report


async def _reference(session: AsyncSession, row: OutboxMessage) -> str:
    """``HT-12`` for a hand-off reply, else the person's latest lead code, else ""."""
    handoff = row.topic.removeprefix(HANDOFF_TOPIC_PREFIX)
    if row.topic.startswith(HANDOFF_TOPIC_PREFIX) and handoff.isdigit():
        return format_handoff_ref(int(handoff))
    identity = await Conversations(session).find_identity(channel=row.channel, user_id=row.chat_id)
    if identity is None:
        return ""
    leads = await Leads(session).for_person(identity.person_id)
    return str(leads[0].code or "") if leads else ""


async def _reach_check(channel: Sender, chat_id: str) -> SendResult | None:
    """Ask a channel with a send policy (Zalo's 7-day window) before sending."""
    check = getattr(channel, "check_reach", None)
    if check is None:
        return None
    result: SendResult | None = await check(chat_id)
    return result


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Sender],
        *,
        clock: Clock,
        wake: asyncio.Event | None = None,
        on_unreachable: UnreachableHook | None = None,
    ) -> None:
        self._database = database
        self._on_unreachable = on_unreachable
        self._clock = clock
        self._channels = channels
        self._wake = wake or asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("outbox round failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def deliver_due(self, *, now: datetime | None = None) -> int:
        """Send every due row once; returns how many were handled.

        Rows are claimed in a short transaction (status ``sending`` with a lease), sent with
        no transaction open, then updated; a row whose lease ran out (the worker died
        mid-send) is due again.
        """
        claimed = await claim_due(self._database, now=now or self._clock.now())
        stalled: set[tuple[str, str]] = set()  # chats whose earlier row failed this round
        handled = 0
        for row in claimed:
            key = (row.channel, row.chat_id)
            moment = now or self._clock.now()
            if key in stalled or not await renew_lease(self._database, row, now=moment):
                continue  # taken over by another worker, or behind a failed row: not now
            handled += 1
            channel = self._channels.get(row.channel)
            if channel is None:
                await self._finish(row, moment, status=None, error="channel not running")
                continue
            result = await _reach_check(channel, row.chat_id) or await send_fitted(
                channel, row.chat_id, message_from_dict(row.payload)
            )
            if result.status is not SendStatus.SENT:
                stalled.add(key)
            await self._finish(
                row,
                now or self._clock.now(),
                status=result.status,
                error=result.detail,
                retry_after=result.retry_after,
                message_ids=result.message_ids,
            )
        for row in claimed:  # rows left behind go back to the queue, order kept
            if (row.channel, row.chat_id) in stalled:
                await self._release(row, now=now or self._clock.now())
        return handled

    async def _release(self, row: ClaimedRow, *, now: datetime) -> None:
        """Unclaim a row held up by an earlier failed one; it waits behind that one."""
        async with self._database.transaction() as session:
            found = await session.get(OutboxMessage, row.id)
            if found is not None and found.status == "sending" and found.attempts == row.attempts:
                found.status, found.attempts = "pending", row.attempts - 1
                found.next_attempt_at = now

    async def _finish(
        self,
        claimed: ClaimedRow,
        now: datetime,
        *,
        status: SendStatus | None,
        error: str,
        retry_after: float = 0.0,
        message_ids: tuple[str, ...] = (),
    ) -> None:
        async with self._database.transaction() as session:
            row = await session.get(OutboxMessage, claimed.id)
            if row is None or row.attempts != claimed.attempts:
                return  # erased meanwhile, or claimed again by another worker
            if status is SendStatus.SENT:
                row.status, row.sent_at, row.message_ids = "sent", now, list(message_ids)
                return
            row.last_error = f"{status.value if status else 'failed'}: {error}"[:200]
            if status is None or status is SendStatus.BAD_CONTENT:
                row.status = "failed"
            elif status in FINAL_STATUSES:
                row.status = FINAL_STATUSES[status]
                if status is SendStatus.UNREACHABLE and self._on_unreachable is not None:
                    await self._on_unreachable(session, row, now)
            elif row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                delay = max(retry_after, BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
                row.status = "pending"
                row.next_attempt_at = now + timedelta(seconds=delay)
