"""``/healthz`` sees the failures a trivial read missed (issue 18.8)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from storage import Database
from storage.health import check_health
from tests.conftest import drop_database, make_database

QUICK = 0.5


async def test_a_live_database_is_healthy(database: Database) -> None:
    assert (await check_health(database)).ok


async def test_a_read_only_sqlite_database_is_unhealthy(tmp_path: Path) -> None:
    database = await make_database("sqlite", tmp_path)
    try:
        await database.engine.dispose()

        @event.listens_for(database.engine.sync_engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only = ON")
            cursor.close()

        async with database.transaction() as session:  # reads still work
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        health = await check_health(database)
        assert not health.ok and health.problem == "database write failed"
    finally:
        await database.dispose()


def _delete(folder: Path, pattern: str) -> None:
    for file in folder.glob(pattern):
        file.unlink()


async def test_a_deleted_sqlite_file_is_unhealthy(tmp_path: Path) -> None:
    database = await make_database("sqlite", tmp_path)
    try:
        assert (await check_health(database)).ok
        _delete(tmp_path, "test.sqlite3*")  # the folder emptied under the running bot
        health = await check_health(database)
        assert not health.ok and health.problem == "database file replaced"
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_stalled_postgresql_answers_within_the_timeout(tmp_path: Path) -> None:
    database = await make_database("postgresql", tmp_path)
    blocker = create_async_engine(database.url)
    try:
        async with blocker.connect() as connection:
            await connection.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            started = time.perf_counter()
            health = await check_health(database, within=QUICK)
            assert time.perf_counter() - started < QUICK * 4
            await connection.rollback()
        assert not health.ok and health.problem == "database timeout"
        assert (await check_health(database)).ok
    finally:
        await blocker.dispose()
        await drop_database(database)


@pytest.mark.postgres
async def test_postgresql_connections_carry_lock_and_statement_timeouts(tmp_path: Path) -> None:
    database = await make_database("postgresql", tmp_path)
    try:
        async with database.engine.connect() as connection:
            lock = (await connection.execute(text("SHOW lock_timeout"))).scalar()
            statement = (await connection.execute(text("SHOW statement_timeout"))).scalar()
        assert (lock, statement) == ("5s", "30s")
    finally:
        await drop_database(database)
