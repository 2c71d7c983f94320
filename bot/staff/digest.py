"""The morning digest: leads still "new" after N days, posted to the staff chats.

Sent once per local day, at or after ``STAFF_DIGEST_HOUR``; the outbox topic
``digest:<date>`` marks the day as done, so a restart or a second worker never posts it
twice. Nothing is posted when no lead is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.core.content import Content
from bot.core.messages import OutboundMessage, message_to_dict
from bot.leads.catalogue import load_statuses
from bot.leads.views import lead_view
from storage import Database, OutboxMessage
from storage.models.leads import Lead, LeadStatus
from storage.repositories import Conversations

DIGEST_CHECK_SECONDS = 300.0
DIGEST_LIMIT = 20
TOPIC_PREFIX = "digest:"

log = logging.getLogger(__name__)


async def send_digest(
    database: Database,
    content: Content,
    *,
    now: datetime,
    timezone: str,
    after_days: int,
    targets: list[tuple[str, str]],
) -> int:
    """Queue today's digest if it is due and not queued yet; the number of leads listed."""
    zone = ZoneInfo(timezone)
    topic = f"{TOPIC_PREFIX}{now.astimezone(zone).date().isoformat()}"
    if not targets:
        return 0
    async with database.transaction() as session:
        done = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == topic)
        )
        if done:
            return 0
        waiting = (
            select(Lead)
            .where(
                Lead.anonymised_at.is_(None),
                Lead.status == LeadStatus.NEW,
                Lead.created_at <= now - timedelta(days=after_days),
            )
            .order_by(Lead.created_at, Lead.id)
        )
        total = int(
            await session.scalar(
                select(func.count()).select_from(waiting.with_only_columns(Lead.id).subquery())
            )
            or 0
        )
        if total == 0:
            return 0
        leads = list((await session.execute(waiting.limit(DIGEST_LIMIT))).scalars())
        statuses = content.get(load_statuses)
        views = [
            lead_view(lead, texts=content.texts, statuses=statuses, zone=zone) for lead in leads
        ]
        text = content.texts.render("staff/digest", leads=views, days=after_days, total=total)
        for channel, chat_id in targets:
            Conversations(session).enqueue(
                channel=channel,
                chat_id=chat_id,
                payload=message_to_dict(OutboundMessage(text=text)),
                topic=topic,
                now=now,
            )
    return total


class DigestWorker:
    """Checks every few minutes whether today's digest is due."""

    def __init__(
        self,
        database: Database,
        content: Content,
        *,
        clock: Callable[[], datetime],
        timezone: str,
        hour: int,
        after_days: int,
        targets: list[tuple[str, str]],
        wake: Callable[[], None],
    ) -> None:
        self._database = database
        self._content = content
        self._clock = clock
        self._zone = ZoneInfo(timezone)
        self._timezone = timezone
        self._hour = hour
        self._after_days = after_days
        self._targets = targets
        self._wake = wake
        self._stopping = asyncio.Event()

    async def run_once(self) -> int:
        now = self._clock()
        if now.astimezone(self._zone).hour < self._hour:
            return 0
        sent = await send_digest(
            self._database,
            self._content,
            now=now,
            timezone=self._timezone,
            after_days=self._after_days,
            targets=self._targets,
        )
        if sent:
            self._wake()
        return sent

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("staff digest failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=DIGEST_CHECK_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
