"""Broadcast sender throughput against the fake Bot API with Telegram's real flood limits.

Run: ``.venv/bin/python bench/broadcast.py`` (about 6 minutes on the 2-core dev machine), or
pick parts: ``--free-recipients N`` (30/s mode; default 3,360 = two minutes at 28/s: this is
also the two-minute flood run, at most one 429 a minute allowed), ``--paid-recipients N``
(1,000/s paid mode; default 100,000), ``--materialise N`` (rows materialised on PostgreSQL;
default 1,000,000; 0 skips), ``--database sqlite|postgresql`` for the send runs.

Two processes: the fake Bot API (``tests/fakes/telegram_api.py`` with ``RateLimits``: 30/s
per bot, 1,000/s for paid sends, 429 with ``retry_after``) and this one, running the real
``BroadcastSender`` with the Telegram transport on a real database. Prints the sustained rate
(delivered per second between 10 % and 90 % of the run) as a ratio of the platform's limit,
the 429s, the duplicates, and this process's RSS sampled through the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bot.app.heap import freeze_startup_heap  # noqa: E402
from bot.app.workers.broadcasts import BroadcastSender  # noqa: E402
from bot.broadcasts import SendPolicy  # noqa: E402
from bot.broadcasts.policy import (  # noqa: E402
    FREE_CONCURRENCY,
    FREE_SLOWDOWN,
    PAID_CONCURRENCY,
    PAID_SLOWDOWN,
)
from bot.channels.telegram_broadcast import TelegramBroadcastTransport  # noqa: E402
from bot.core.clock import SystemClock  # noqa: E402
from storage import Database, upgrade  # noqa: E402
from tests.broadcasts.kit import seed_recipients, start_broadcast, texts  # noqa: E402

POSTGRES_URL: Final = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
FREE_LIMIT: Final = 30.0
PAID_LIMIT: Final = 1000.0
#: The fake keeps every message it accepted (tests read them back): 100,000 of them made its
#: full collections take up to 340 ms, and a stalled fake answers late, then counts the
#: backlog in one instant (the sender lost its send slots and met 429s that Telegram would
#: not give). What it keeps is frozen every second, out of its collector's way.
FAKE_SERVER: Final = """
import asyncio, gc, sys
sys.path.insert(0, {root!r})
from tests.fakes.telegram_api import FakeTelegramAPI, RateLimits

async def main():
    async with FakeTelegramAPI(rate_limits=RateLimits(), record_calls=False) as fake:
        print(fake.url, flush=True)
        while True:
            await asyncio.sleep(1.0)
            gc.freeze()

asyncio.run(main())
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def stats(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(f"{url}/_test/stats") as response:
        data: dict[str, Any] = await response.json()
        return data


async def open_count(database: Database, broadcast_id: int) -> int:
    """Rows still to send: a count, not every row's status (that read showed up as a few
    per cent of the "sender" CPU at 100,000 rows)."""
    from sqlalchemy import func, select

    from storage.models.broadcasts import OPEN_DELIVERY_STATUSES, BroadcastDelivery

    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count()).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.status.in_(OPEN_DELIVERY_STATUSES),
            )
        )
    return int(count or 0)


async def fresh_postgres() -> Database:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"kc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return Database(make_url(POSTGRES_URL).set(database=name))


async def drop_postgres(database: Database) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    await database.dispose()
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(
            text(f'DROP DATABASE IF EXISTS "{database.url.database}" WITH (FORCE)')
        )
    await admin.dispose()


async def send_run(
    *, fake_url: str, token: str, recipients: int, paid: bool, kind: str, workdir: Path
) -> dict[str, Any]:
    limit = PAID_LIMIT if paid else FREE_LIMIT
    database = (
        await fresh_postgres()
        if kind == "postgresql"
        else Database(f"sqlite+aiosqlite:///{workdir / f'bench-{paid}.sqlite3'}")
    )
    await upgrade(database)
    clock = SystemClock()
    first_chat = 20_000_000 if paid else 10_000_000  # the fake counts per chat across runs
    await seed_recipients(database, recipients, now=clock.now(), first_chat=first_chat)
    broadcast_id = await start_broadcast(database, now=clock.now())
    policy = replace(
        SendPolicy(),
        rate_per_second=950.0 if paid else 28.0,
        quiet_hours=None,
        concurrency=PAID_CONCURRENCY if paid else FREE_CONCURRENCY,
        slowdown=PAID_SLOWDOWN if paid else FREE_SLOWDOWN,
    )
    transport = TelegramBroadcastTransport(token, base_url=f"{fake_url}/bot", paid=paid)
    await transport.start()
    sender = BroadcastSender(database, transport, clock=clock, policy=policy, texts=texts())
    freeze_startup_heap()  # as ``serve`` does once it is up
    samples: list[tuple[float, int, float]] = []
    async with aiohttp.ClientSession() as session:
        before = await stats(session, fake_url)
        started = time.monotonic()
        cpu_started = time.process_time()
        task = asyncio.create_task(sender.run())
        while True:
            await asyncio.sleep(1.0)
            now = await stats(session, fake_url)
            samples.append(
                (time.monotonic() - started, now["delivered"] - before["delivered"], rss_mb())
            )
            if samples[-1][1] >= recipients or (
                len(samples) % 5 == 0 and await open_count(database, broadcast_id) == 0
            ):
                break
        sender.stop()
        await task
        cpu = time.process_time() - cpu_started
        after = await stats(session, fake_url)
    await transport.stop()
    if kind == "postgresql":
        await drop_postgres(database)
    else:
        await database.dispose()
    low = next(t for t, n, _ in samples if n >= recipients * 0.1)
    low_n = next(n for t, n, _ in samples if n >= recipients * 0.1)
    high = next(t for t, n, _ in samples if n >= recipients * 0.9)
    high_n = next(n for t, n, _ in samples if n >= recipients * 0.9)
    rate = (high_n - low_n) / (high - low) if high > low else 0.0
    rss = [r for _, _, r in samples]
    delivered = after["delivered"] - before["delivered"]
    return {
        "mode": "paid" if paid else "free",
        "database": kind,
        "recipients": recipients,
        "seconds": round(samples[-1][0], 1),
        "rate_per_s": round(rate, 1),
        "limit_per_s": limit,
        "ratio": round(rate / limit, 3),
        "flood_errors": after["flood_errors"] - before["flood_errors"],
        "duplicates": after["duplicates"] - before["duplicates"],
        "rss_mb": [round(rss[0], 1), round(rss[len(rss) // 2], 1), round(rss[-1], 1)],
        "sender_cpu_percent": round(100 * cpu / samples[-1][0]),
        # This process's CPU per delivered message: steadier than the rate on shared cores.
        "sender_cpu_ms_per_message": round(1000 * cpu / delivered, 3) if delivered else None,
    }


async def materialise_run(count: int) -> dict[str, Any]:
    from sqlalchemy import text

    from storage.repositories import Audience, Broadcasts

    database = await fresh_postgres()
    try:
        await upgrade(database)
        clock = SystemClock()
        now = clock.now()
        seeded = time.monotonic()
        async with database.transaction() as session:
            params = {"n": count, "now": now}
            await session.execute(
                text(
                    "INSERT INTO person (id, created_at)"
                    " SELECT g, :now FROM generate_series(1, :n) g"
                ),
                params,
            )
            await session.execute(
                text(
                    "INSERT INTO channel_identity (id, person_id, channel, user_id, chat_id,"
                    " created_at, last_seen_at) SELECT g, g, 'telegram', g::text, g::text,"
                    " :now, :now FROM generate_series(1, :n) g"
                ),
                params,
            )
            await session.execute(
                text(
                    "INSERT INTO subscription (person_id, topic, active, created_at, started_at)"
                    " SELECT g, 'all', true, :now, :now FROM generate_series(1, :n) g"
                ),
                params,
            )
        async with database.transaction() as session:
            await session.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
        seed_seconds = time.monotonic() - seeded
        async with database.transaction() as session:
            repo = Broadcasts(session)
            broadcast = await repo.create(
                body="x", audience=Audience(), created_by="bench", now=now
            )
            started = time.monotonic()
            total = await repo.materialise(broadcast, Audience(), now=now, approved_by="bench")
        seconds = time.monotonic() - started
    finally:
        await drop_postgres(database)
    return {
        "materialised": total,
        "seconds": round(seconds, 1),
        "rows_per_s": round(total / seconds),
        "seed_seconds": round(seed_seconds, 1),
    }


async def main(args: argparse.Namespace) -> None:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    results: dict[str, Any] = {"runs": []}
    fake = subprocess.Popen(  # noqa: ASYNC220 - once, before any measurement
        [sys.executable, "-c", FAKE_SERVER.format(root=str(ROOT))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        fake_url = fake.stdout.readline().strip()
        from tests.fakes.telegram_api import DEFAULT_TOKEN

        with tempfile.TemporaryDirectory() as tmp:
            for recipients, paid in ((args.free_recipients, False), (args.paid_recipients, True)):
                if recipients:
                    run = await send_run(
                        fake_url=fake_url,
                        token=DEFAULT_TOKEN,
                        recipients=recipients,
                        paid=paid,
                        kind=args.database,
                        workdir=Path(tmp),
                    )
                    results["runs"].append(run)
                    print(json.dumps(run), flush=True)
    finally:
        fake.terminate()
        fake.wait()
    if args.materialise:
        results["materialise"] = await materialise_run(args.materialise)
        print(json.dumps(results["materialise"]), flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"broadcast-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--free-recipients", type=int, default=3360)
    parser.add_argument("--paid-recipients", type=int, default=100_000)
    parser.add_argument("--materialise", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    asyncio.run(main(parser.parse_args()))
