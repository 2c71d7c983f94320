"""Shared fixtures: databases on SQLite and PostgreSQL, content, a fixed clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Database, upgrade

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def _fresh_postgres() -> Database:
    database = Database(POSTGRES_URL)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    except (OSError, ConnectionError) as exc:
        await database.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return database


async def make_database(kind: str, tmp_path: Path) -> Database:
    """A migrated, empty database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "postgresql":
        database = await _fresh_postgres()
    else:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
    await upgrade(database)
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Every test using this fixture runs once on SQLite and once on PostgreSQL."""
    db = await make_database(request.param, tmp_path)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database only, for tests of flows rather than of storage."""
    db = await make_database("sqlite", tmp_path)
    try:
        yield db
    finally:
        await db.dispose()
