"""Delivers outbox rows (staff notices, relays, status updates) after their step committed.

At-least-once: a row is marked sent only after the channel accepted it, so a crash between
the two may send it twice; platforms offer no idempotency key for sends.
On PostgreSQL several workers share the table through ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.channels.base import Channel, SendStatus
from bot.clock import Clock
from bot.messages import message_from_dict
from storage import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 50
POLL_SECONDS = 2.0
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
LEASE_SECONDS = 120.0
FINAL_STATUSES = {SendStatus.BLOCKED: "blocked", SendStatus.NOT_FOUND: "blocked"}


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Clock,
        wake: asyncio.Event | None = None,
    ) -> None:
        self._database = database
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
        moment = now or self._clock.now()
        claimed = await self._claim(moment)
        for row_id, channel_name, chat_id, payload in claimed:
            channel = self._channels.get(channel_name)
            if channel is None:
                await self._finish(row_id, moment, status=None, error="channel not running")
                continue
            result = await channel.send(chat_id, message_from_dict(payload))
            await self._finish(
                row_id,
                moment,
                status=result.status,
                error=result.detail,
                retry_after=result.retry_after,
                message_ids=result.message_ids,
            )
        return len(claimed)

    async def _claim(self, now: datetime) -> list[tuple[int, str, str, dict[str, object]]]:
        async with self._database.transaction() as session:
            statement = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH_SIZE)
            )
            if self._database.is_postgres:
                statement = statement.with_for_update(skip_locked=True)
            rows = list((await session.execute(statement)).scalars())
            for row in rows:
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
            return [(row.id, row.channel, row.chat_id, dict(row.payload)) for row in rows]

    async def _finish(
        self,
        row_id: int,
        now: datetime,
        *,
        status: SendStatus | None,
        error: str,
        retry_after: float = 0.0,
        message_ids: tuple[str, ...] = (),
    ) -> None:
        async with self._database.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            if status is SendStatus.SENT:
                row.status, row.sent_at, row.message_ids = "sent", now, list(message_ids)
                return
            row.last_error = f"{status.value if status else 'failed'}: {error}"[:200]
            if status is None or status is SendStatus.BAD_CONTENT:
                row.status = "failed"
            elif status in FINAL_STATUSES:
                row.status = FINAL_STATUSES[status]
            elif row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                delay = max(retry_after, BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
                row.status = "pending"
                row.next_attempt_at = now + timedelta(seconds=delay)
