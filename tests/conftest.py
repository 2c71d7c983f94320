"""Shared fixtures: databases on SQLite and PostgreSQL, content, a fixed clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage import Database, upgrade
from tests.fakes.telegram_api import FakeTelegramAPI

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# PTB 22 warns on every RetryAfter unless opted in to timedelta values; warnings are errors.
os.environ.setdefault("PTB_TIMEDELTA", "true")
TEST_DATABASE_PREFIX = "kc_test_"


@pytest.fixture(scope="session", autouse=True)
def classifier_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The trained classifier is cached in a folder of this test run, never the user's own
    cache: trained once per run, then read by every test that loads the content."""
    folder = tmp_path_factory.mktemp("nlu-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KHUYENCONG_CACHE_DIR", str(folder))
        yield folder


async def _admin_execute(statement: str) -> None:
    """Run one statement outside a transaction on the server's ``test`` database."""
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


async def _fresh_postgres() -> Database:
    """A new, empty database per test, so parallel test runs never share tables."""
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        await _admin_execute(f'CREATE DATABASE "{name}"')
    except (OSError, ConnectionError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return Database(make_url(POSTGRES_URL).set(database=name))


async def drop_database(database: Database) -> None:
    """Dispose of ``database`` and, for a per-test PostgreSQL database, drop it."""
    await database.dispose()
    name = database.url.database or ""
    if database.is_postgres and name.startswith(TEST_DATABASE_PREFIX):
        await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
        await drop_database(db)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database only, for tests of flows rather than of storage."""
    db = await make_database("sqlite", tmp_path)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    """The fake Telegram Bot API on 127.0.0.1, for tests that drive the real client."""
    async with FakeTelegramAPI() as server:
        yield server
