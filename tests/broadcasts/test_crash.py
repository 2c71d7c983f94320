"""Kill -9 the sender process five times at random moments, restart it each time: no
recipient is lost, and the duplicates are at most the rows that were in flight at the kills.

The sender is a real subprocess (``khuyencong broadcast run``) talking to the fake Bot API
served by this test; the database is a SQLite file both share.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.core.clock import SystemClock
from storage import Database
from storage.models.broadcasts import BroadcastDelivery, DeliveryStatus
from tests.broadcasts.kit import ROOT, seed_recipients, start_broadcast, wait_until_settled
from tests.fakes.telegram_api import FakeTelegramAPI, RateLimits

RECIPIENTS = 1000
KILLS = 5
RATE = 150
LEASE_SECONDS = 1
START = "from bot.app.cli import main; raise SystemExit(main(['broadcast', 'run']))"


def _environment(database: Database, fake: FakeTelegramAPI) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": str(database.url),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "BROADCAST_QUIET_HOURS": "off",
        "BROADCAST_LEASE_SECONDS": str(LEASE_SECONDS),
        "BROADCAST_PAID": "true",
        "BROADCAST_PAID_RATE": str(RATE),
        "STAFF_CHATS": "",
        "LOG_LEVEL": "WARNING",
    }


async def _spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", START, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL
    )


async def _in_flight(database: Database) -> int:
    async with database.transaction() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(BroadcastDelivery)
                .where(BroadcastDelivery.status == DeliveryStatus.SENDING)
            )
            or 0
        )


async def test_killing_the_sender_loses_nobody(tmp_path: Path) -> None:
    from tests.conftest import make_database

    database = await make_database("sqlite", tmp_path)
    clock = SystemClock()
    chats = await seed_recipients(database, RECIPIENTS, now=clock.now())
    rng = random.Random(int(os.environ.get("BROADCAST_KILL_SEED", "9")))
    moments = sorted(rng.sample(range(50, RECIPIENTS - 100), KILLS))
    in_flight = 0
    try:
        limits = RateLimits(per_second=1000, paid_per_second=1000)
        async with FakeTelegramAPI(rate_limits=limits, record_calls=False) as fake:
            broadcast_id = await start_broadcast(database, now=clock.now())
            env = _environment(database, fake)
            process = await _spawn(env)
            try:
                for moment in moments:
                    await fake.wait_for_delivered(moment, timeout=60)
                    process.kill()  # SIGKILL: no cleanup, no last flush
                    await process.wait()
                    in_flight += await _in_flight(database)
                    process = await _spawn(env)
                final = await wait_until_settled(database, broadcast_id, timeout=120)
            finally:
                if process.returncode is None:
                    process.terminate()
                    await process.wait()
            delivered = dict(fake.delivered)
    finally:
        await database.dispose()
    assert set(final.values()) == {"sent"}
    assert all(delivered.get(chat, 0) >= 1 for chat in chats)  # nobody lost
    duplicates = sum(count - 1 for count in delivered.values())
    print(f"kills={KILLS} in_flight={in_flight} duplicates={duplicates}")
    assert duplicates <= in_flight, (duplicates, in_flight)
