"""The one-hop aiosqlite cursor behaves like aiosqlite's own under SQLAlchemy."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import Database
from storage.sqlite_driver import DEFAULT_ARRAY_SIZE, PrefetchingConnection, connection_factory

METADATA = MetaData()
ITEMS = Table(
    "item",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
)
MANY_ROWS = 150  # more than one fetchmany batch


class CountingConnection(PrefetchingConnection):
    """Counts the trips to the worker thread."""

    trips = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        type(self).trips += 1
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = make_url(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    made = create_async_engine(url, async_creator=connection_factory(url))
    async with made.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield made
    await made.dispose()


async def test_inserts_return_their_ids_and_selects_every_row(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        first = await connection.execute(insert(ITEMS).values(name="bánh pía"))
        assert first.inserted_primary_key == (1,)
        await connection.execute(insert(ITEMS), [{"name": f"n{i}"} for i in range(MANY_ROWS)])
    async with engine.connect() as connection:
        names = (await connection.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).scalars()
        assert list(names)[:2] == ["bánh pía", "n0"]
        result = await connection.execute(select(ITEMS.c.id))
        batches = [len(batch) for batch in result.partitions(100)]
        assert batches == [100, MANY_ROWS + 1 - 100]
        assert (await connection.execute(select(ITEMS).where(ITEMS.c.id < 0))).first() is None


async def test_rowcount_and_rollback(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(ITEMS), [{"name": "a"}, {"name": "b"}])
    async with engine.connect() as connection:
        changed = await connection.execute(update(ITEMS).values(name=ITEMS.c.name + "!"))
        assert changed.rowcount == 2
        await connection.rollback()
        names = await connection.scalars(select(ITEMS.c.name).order_by(ITEMS.c.name))
        assert list(names) == ["a", "b"]


async def test_errors_are_sqlalchemy_errors_and_leave_the_connection_usable(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(ITEMS).values(name="x"))
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(ITEMS).values(name="x"))
        await connection.rollback()
        assert await connection.scalar(text("SELECT count(*) FROM item")) == 1


async def test_one_trip_to_the_worker_thread_per_statement(tmp_path: Path) -> None:
    path = tmp_path / "trips.sqlite3"

    async def counting() -> aiosqlite.Connection:
        connection = CountingConnection(partial(sqlite3.connect, str(path)), DEFAULT_ARRAY_SIZE)
        connection._thread.daemon = True
        return await connection

    made = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=counting)
    try:
        async with made.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        async with made.connect() as connection:
            CountingConnection.trips = 0
            await connection.execute(select(ITEMS.c.id).where(ITEMS.c.name == "x"))
            await connection.execute(insert(ITEMS).values(name="y"))
            # aiosqlite's own cursor needs 3 to 4 trips for each (cursor, execute, fetch, close).
            assert CountingConnection.trips == 2
    finally:
        await made.dispose()


async def test_the_database_handle_uses_it(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        async with database.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, PrefetchingConnection)
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await database.dispose()


async def test_a_failed_connect_leaves_no_worker_thread_behind(tmp_path: Path) -> None:
    """The thread would otherwise report to an event loop that a failing command closed."""

    def workers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}

    before = workers()
    connect = connection_factory(make_url(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'x.db'}"))
    with pytest.raises(sqlite3.OperationalError):
        await connect()
    assert workers() <= before
