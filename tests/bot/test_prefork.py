"""``khuyencong serve --workers N``: N processes on one port, PostgreSQL only, one
maintenance round at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bench.updates import cpu_seconds, free_port, process_tree
from bot.app.prefork import check_workers
from bot.app.workers.maintenance import ADVISORY_LOCK_KEY, MaintenanceWorker
from bot.core.clock import FixedClock
from bot.core.config import ConfigError, load_settings
from storage import Database
from tests.conftest import drop_database, make_database

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
#: Bounds of the waits below (each ends as soon as its condition holds).
START_SECONDS = 120.0  # two workers and a migration on a loaded 2-core machine
STOP_SECONDS = 40.0
MOMENT = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def test_more_than_one_worker_needs_postgresql_and_telegram_by_webhook() -> None:
    sqlite = load_settings(database_url="sqlite+aiosqlite:///x.sqlite3")
    check_workers(sqlite, 1)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        check_workers(sqlite, 2)
    postgres_url = "postgresql+asyncpg://postgres@127.0.0.1/db"
    polling = load_settings(database_url=postgres_url, telegram_bot_token="1:a")
    with pytest.raises(ConfigError, match="webhook"):
        check_workers(polling, 2)
    check_workers(load_settings(database_url=postgres_url), 2)
    with pytest.raises(ConfigError, match="at least 1"):
        check_workers(sqlite, 0)


@pytest.mark.postgres
async def test_maintenance_runs_in_one_process_at_a_time(tmp_path: Path) -> None:
    database = await make_database("postgresql", tmp_path)
    other = Database(database.url)
    worker = MaintenanceWorker(
        database, clock=FixedClock(MOMENT), keep_event_hours=72, handoff_idle_hours=48
    )
    try:
        async with other.engine.connect() as held:  # another process's round
            await held.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            assert await worker.run_alone() is None
            await held.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        done = await worker.run_alone()  # the lock is free again
        assert done is not None
        assert done["events_purged"] == 0
    finally:
        await other.dispose()
        await drop_database(database)


async def _healthy(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as client, client.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _until(condition: Callable[[], Awaitable[bool]], within: float) -> None:
    """Ends as soon as ``condition`` holds (checked every 0.2 s), fails after ``within``."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.2)


@pytest.mark.postgres
async def test_serve_with_two_workers_shares_one_port_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    database = await make_database("postgresql", tmp_path)
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database.url.render_as_string(hide_password=False),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "TELEGRAM_BOT_TOKEN": "",
        "LOG_LEVEL": "WARNING",
    }
    code = "import sys; from bot.app.cli import main; sys.exit(main(sys.argv[1:]))"
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "serve", "--workers", str(WORKERS), env=env, cwd=ROOT
    )

    async def serving() -> bool:
        assert parent.returncode is None, "the parent exited"
        tree = process_tree(parent.pid)
        return len(tree) == WORKERS + 1 and await _healthy(f"http://127.0.0.1:{port}/healthz")

    try:
        await _until(serving, START_SECONDS)
        workers = process_tree(parent.pid)[1:]
        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), STOP_SECONDS) == 0
        assert not cpu_seconds(workers)  # every worker has exited too
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
        await drop_database(database)
