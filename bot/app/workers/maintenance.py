"""Periodic upkeep: forget old event ids (kept ≥ 48 h), close silent hand-offs, delete
review messages the bot could not place once they are older than their retention, and forget
idle anonymous web chat sessions.

With several server processes on PostgreSQL (``khuyencong serve --workers N``) each has this
worker; a PostgreSQL advisory lock lets one of them do a round at a time, the others skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from storage import Database
from storage.repositories import Unplaced
from storage.repositories.conversations import Conversations
from storage.repositories.sessions import purge_idle_sessions

#: The web chat's channel name (bot.channels.webchat.CHANNEL_NAME; workers import no channel).
WEB_CHANNEL = "web"

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_SECONDS = 3600.0
#: The PostgreSQL advisory lock held during a round ("kcma").
ADVISORY_LOCK_KEY = 0x6B63_6D61

#: ``close_idle(session, now=..., idle=...) -> closed count`` from the hand-off flow.
IdleCloser = Callable[..., Awaitable[int]]


async def purge_old_events(database: Database, *, now: datetime, keep_hours: int) -> int:
    async with database.transaction() as session:
        return await Conversations(session).purge_processed(
            older_than=now - timedelta(hours=keep_hours)
        )


class MaintenanceWorker:
    def __init__(
        self,
        database: Database,
        *,
        clock: Clock,
        keep_event_hours: int,
        handoff_idle_hours: int,
        close_idle_handoffs: IdleCloser | None = None,
        web_session_idle_days: int | None = None,
    ) -> None:
        self._web_idle = timedelta(days=web_session_idle_days) if web_session_idle_days else None
        self._database = database
        self._clock = clock
        self._keep_event_hours = keep_event_hours
        self._idle = timedelta(hours=handoff_idle_hours)
        self._close_idle = close_idle_handoffs
        self._stopping = asyncio.Event()

    async def run_once(self, *, now: datetime | None = None) -> dict[str, int]:
        moment = now or self._clock.now()
        done = {
            "events_purged": await purge_old_events(
                self._database, now=moment, keep_hours=self._keep_event_hours
            )
        }
        session: AsyncSession
        async with self._database.transaction() as session:
            done["unplaced_purged"] = await Unplaced(session).purge(now=moment)
        if self._web_idle is not None:
            async with self._database.transaction() as session:
                done["web_sessions_purged"] = await purge_idle_sessions(
                    session, channel=WEB_CHANNEL, idle_before=moment - self._web_idle
                )
        if self._close_idle is not None:
            async with self._database.transaction() as session:
                done["handoffs_closed"] = await self._close_idle(
                    session, now=moment, idle=self._idle
                )
        return done

    async def run_alone(self, *, now: datetime | None = None) -> dict[str, int] | None:
        """A round, unless another process is doing one (PostgreSQL): then ``None``."""
        if not self._database.is_postgres:
            return await self.run_once(now=now)
        async with self._database.engine.connect() as connection:
            key = {"key": ADVISORY_LOCK_KEY}
            if not await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key):
                return None
            try:
                return await self.run_once(now=now)
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                await connection.commit()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.run_alone()
                if done is not None:
                    log.info("maintenance done", extra=done)
            except Exception:
                log.exception("maintenance failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=MAINTENANCE_INTERVAL_SECONDS)

    def stop(self) -> None:
        self._stopping.set()
