"""Processes starting together on an empty PostgreSQL database all migrate it (issue 18.7)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import make_url

from storage import Database, pending_revisions, upgrade
from tests.conftest import POSTGRES_URL, _admin_execute, drop_database

PROCESSES = 3
RACE_TIMEOUT_SECONDS = 30


@pytest.mark.postgres
async def test_concurrent_upgrades_of_an_empty_database_all_succeed() -> None:
    name = "kc_test_i18_race"
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        await _admin_execute(f'CREATE DATABASE "{name}"')
    except OSError as exc:  # pragma: no cover - PostgreSQL missing outside CI
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = make_url(POSTGRES_URL).set(database=name)
    databases = [Database(url) for _ in range(PROCESSES)]
    try:
        async with asyncio.timeout(RACE_TIMEOUT_SECONDS):  # unlocked, they can deadlock
            results = await asyncio.gather(
                *(upgrade(database) for database in databases), return_exceptions=True
            )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert await pending_revisions(databases[0]) == []
    finally:
        for database in databases[1:]:
            await database.dispose()
        await drop_database(databases[0])
