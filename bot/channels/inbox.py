"""Handles webhook events after their 200: stored first, so a crash loses nothing.

A webhook route verifies the request, stores the raw event (once per event id) and answers
at once: Zalo wants its 200 within two seconds. This worker then claims stored events in
arrival order, handles one user's events one after another and different users'
alongside, and marks each done. An event whose handling raised is tried again with backoff,
then given up (logged, body cleared): never an endless redelivery. After a restart the
events that were stored but not done are handled first thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.core.clock import Clock
from storage import Database
from storage.repositories import inbox as repo

log = logging.getLogger(__name__)

BATCH_SIZE = 50
POLL_SECONDS = 2.0
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
PURGE_EVERY_ROUNDS = 500

#: What a channel does with one stored event: (event id, raw body) → handled.
StoredHandler = Callable[[str, str], Awaitable[None]]


class InboxWorker:
    """Drains the webhook inbox; ``wake()`` after storing an event to start at once."""

    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, StoredHandler],
        *,
        clock: Clock,
        keep: timedelta = timedelta(hours=72),
    ) -> None:
        self._database = database
        self._clock = clock
        self._handlers = handlers
        self._keep = keep
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._rounds = 0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def store(self, *, channel: str, event_id: str, user_key: str, body: str) -> bool:
        """Commit the event (False for a repeat) and wake the worker."""
        async with self._database.transaction() as session:
            fresh = await repo.store(
                session,
                channel=channel,
                event_id=event_id,
                user_key=user_key,
                body=body,
                now=self._clock.now(),
            )
        self.wake()
        return fresh

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                log.exception("inbox round failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)

    async def drain_once(self, *, now: datetime | None = None) -> int:
        """Handle every due event once; returns how many were claimed."""
        moment = now or self._clock.now()
        async with self._database.transaction() as session:
            rows = await repo.claim(
                session,
                channels=list(self._handlers),
                now=moment,
                lease=LEASE,
                limit=BATCH_SIZE,
                postgres=self._database.is_postgres,
            )
            claimed = [
                (row.id, row.channel, row.event_id, row.user_key, row.body, row.attempts)
                for row in rows
            ]
        groups: dict[tuple[str, str], list[tuple[int, str, str, str, int]]] = {}
        for row_id, channel, event_id, user_key, body, attempts in claimed:
            groups.setdefault((channel, user_key), []).append(
                (row_id, channel, event_id, body, attempts)
            )
        await asyncio.gather(*(self._handle_group(group) for group in groups.values()))
        self._rounds += 1
        if self._rounds % PURGE_EVERY_ROUNDS == 0:
            async with self._database.transaction() as session:
                await repo.purge(session, older_than=moment - self._keep)
        return len(claimed)

    async def _handle_group(self, rows: list[tuple[int, str, str, str, int]]) -> None:
        for row_id, channel, event_id, body, attempts in rows:
            handler = self._handlers.get(channel)
            error: str | None = None
            retry_at: datetime | None = None
            if handler is None:  # not claimed by this worker's query; kept for safety
                error = f"channel {channel} is not running"
            else:
                try:
                    await handler(event_id, body)
                except Exception as exc:
                    log.exception("stored %s event %s failed", channel, row_id)
                    error = type(exc).__name__
                    if attempts < MAX_ATTEMPTS:
                        delay = BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)
                        retry_at = self._clock.now() + timedelta(seconds=delay)
            async with self._database.transaction() as session:
                await repo.finish(
                    session, row_id, now=self._clock.now(), error=error, retry_at=retry_at
                )


__all__ = ["InboxWorker", "StoredHandler"]
