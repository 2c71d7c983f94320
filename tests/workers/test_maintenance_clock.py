"""The maintenance worker forgets event ids by the runtime's clock, never the machine's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app.workers.maintenance import MaintenanceWorker
from bot.core.clock import FixedClock
from storage import Database
from storage.models import ProcessedEvent
from storage.repositories.conversations import Conversations

KEEP_HOURS = 72
#: Far from any real date this suite may run on, in both directions.
MOMENTS = (datetime(2020, 2, 29, 12, 0, tzinfo=UTC), datetime(2035, 6, 1, 12, 0, tzinfo=UTC))


async def _count(database: Database) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


async def test_event_ids_are_kept_and_purged_by_the_injected_clock(database: Database) -> None:
    for number, moment in enumerate(MOMENTS):
        clock = FixedClock(moment)
        async with database.transaction() as session:
            await Conversations(session).record_processed(
                channel="telegram", event_id=f"u{number}", now=clock.now()
            )
        worker = MaintenanceWorker(
            database, clock=clock, keep_event_hours=KEEP_HOURS, handoff_idle_hours=48
        )
        assert (await worker.run_once())["events_purged"] == 0
        assert await _count(database) == 1
        clock.advance(timedelta(hours=KEEP_HOURS, seconds=1))
        assert (await worker.run_once())["events_purged"] == 1
        assert await _count(database) == 0
