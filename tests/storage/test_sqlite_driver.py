"""The inline aiosqlite connection behaves like aiosqlite's own under SQLAlchemy, on the
event loop's thread, without blocking it on locks or checkpoints."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import Database
from storage.sqlite_driver import PrefetchingConnection, connection_factory

METADATA = MetaData()
ITEMS = Table(
    "item",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
)
MANY_ROWS = 150  # more than one fetchmany batch
TICKS_WHILE_WAITING = 50
CHECKPOINT_EVERY = 3
PAGE_BYTES = 4096
STEADY_COMMITS = 240
STEADY_IN_FLIGHT = 8
WAIT_SECONDS = 10.0
SLOTS = 3
WAITING = 6
SHORT_SLOT_TIMEOUT = 0.05
POLL_SECONDS = 0.01


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():  # noqa: ASYNC110 - a plain counter, nothing to signal
            await asyncio.sleep(POLL_SECONDS)


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


async def test_statements_run_on_the_event_loop_thread(engine: AsyncEngine) -> None:
    """No hop to aiosqlite's worker thread: the statement runs where it is awaited."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        sqlite: sqlite3.Connection = raw.driver_connection._connection  # type: ignore[union-attr]
        sqlite.create_function("thread_id", 0, threading.get_ident)
        assert await connection.scalar(text("SELECT thread_id()")) == threading.get_ident()


@asynccontextmanager
async def beside_another_writer(
    path: Path, *, busy_seconds: float
) -> AsyncIterator[tuple[AsyncEngine, sqlite3.Connection]]:
    """An engine on ``path`` (its tables made) and a plain sqlite3 connection to the same
    file, as another process would hold it."""
    url = make_url(f"sqlite+aiosqlite:///{path}")
    made = create_async_engine(
        url, async_creator=connection_factory(url, busy_seconds=busy_seconds)
    )
    other = sqlite3.connect(path, isolation_level=None)
    try:
        async with made.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        yield made, other
    finally:
        other.close()
        await made.dispose()


async def test_a_locked_database_is_waited_for_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    async with beside_another_writer(tmp_path / "locked.sqlite3", busy_seconds=5.0) as (
        made,
        other,
    ):
        other.execute("BEGIN IMMEDIATE")  # another process's writer
        other.execute("INSERT INTO item (name) VALUES ('theirs')")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        async def write() -> None:
            async with made.begin() as connection:
                await connection.execute(insert(ITEMS).values(name="ours"))

        ticker = asyncio.create_task(tick())
        writing = asyncio.create_task(write())
        await wait_for(lambda: ticks > TICKS_WHILE_WAITING)
        assert not writing.done()
        other.execute("COMMIT")
        await writing
        ticker.cancel()
        async with made.connect() as connection:
            names = await connection.scalars(select(ITEMS.c.name).order_by(ITEMS.c.id))
            assert list(names) == ["theirs", "ours"]


async def test_a_lock_held_past_the_deadline_is_an_error(tmp_path: Path) -> None:
    async with beside_another_writer(tmp_path / "held.sqlite3", busy_seconds=0.05) as (
        made,
        other,
    ):
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with made.begin() as connection:
                await connection.execute(insert(ITEMS).values(name="late"))


async def test_the_log_is_checkpointed_in_a_thread_every_so_many_commits(
    tmp_path: Path,
) -> None:
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'log.sqlite3'}", checkpoint_every=CHECKPOINT_EVERY
    )
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(METADATA.create_all)
        for index in range(CHECKPOINT_EVERY * 2):
            async with database.engine.begin() as connection:
                await connection.execute(insert(ITEMS).values(name=f"n{index}"))
        await wait_for(lambda: database.checkpoints.done >= 1)
        async with database.engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA wal_autocheckpoint")) == 0
    finally:
        await database.dispose()


async def test_the_bulk_of_the_log_is_copied_beside_the_writers(tmp_path: Path) -> None:
    """The writers are held only for what was committed while the first run copied: with
    nothing committed meanwhile, the held run copies no page at all."""
    path = tmp_path / "bulk.sqlite3"
    database = Database(f"sqlite+aiosqlite:///{path}", checkpoint_every=CHECKPOINT_EVERY)
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE page (id INTEGER PRIMARY KEY, body TEXT)"))
        for _ in range(CHECKPOINT_EVERY - 1):
            async with database.transaction() as session:
                await session.execute(
                    text("INSERT INTO page (body) VALUES (:body)"), {"body": "x" * PAGE_BYTES}
                )
        await wait_for(lambda: database.checkpoints.done >= 1)
        beside, held = database.checkpoints.last_pages
        assert beside >= CHECKPOINT_EVERY - 1  # a page of body per commit, at least
        assert held == 0
    finally:
        await database.dispose()


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


async def test_the_log_starts_over_after_each_checkpoint_under_steady_writes(
    tmp_path: Path,
) -> None:
    """Checkpoints hold the writers back, so the log is copied to its end and reused: its
    file stays near one checkpoint's worth of pages instead of growing with every write."""
    path = tmp_path / "steady.sqlite3"
    database = Database(f"sqlite+aiosqlite:///{path}", checkpoint_every=CHECKPOINT_EVERY)
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE page (id INTEGER PRIMARY KEY, body TEXT)"))

        async def write(index: int) -> None:
            async with database.transaction() as session:
                await session.execute(
                    text("INSERT INTO page (body) VALUES (:body)"), {"body": "x" * PAGE_BYTES}
                )

        for batch in range(STEADY_COMMITS // STEADY_IN_FLIGHT):
            await asyncio.gather(
                *(write(batch * STEADY_IN_FLIGHT + i) for i in range(STEADY_IN_FLIGHT))
            )
        await database.checkpoints.wait()
        assert database.checkpoints.done >= STEADY_COMMITS // CHECKPOINT_EVERY // 4
        wal = await asyncio.to_thread(os.path.getsize, f"{path}-wal")
        assert wal < STEADY_COMMITS * PAGE_BYTES // 4  # without restarts: > every page
    finally:
        await database.dispose()


async def test_transactions_take_turns_in_arrival_order_on_a_few_connections(
    tmp_path: Path,
) -> None:
    """More transactions than slots: at most ``transaction_slots`` are open at once, and the
    others get theirs in the order they asked, not whoever asks when one is handed back
    (SQLAlchemy's pool queue let newcomers jump ahead: 300 ms waits for some steps)."""
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'turns.sqlite3'}", transaction_slots=SLOTS
    )
    inside: list[int] = []
    entered: list[int] = []
    most = 0
    release = asyncio.Event()

    async def step(number: int) -> None:
        nonlocal most
        async with database.transaction() as session:
            inside.append(number)
            entered.append(number)
            most = max(most, len(inside))
            await session.execute(text("SELECT 1"))
            if number < SLOTS:
                await release.wait()
            else:
                await asyncio.sleep(0)  # hand the loop to a newcomer while holding a slot
            inside.remove(number)

    try:
        first = [asyncio.create_task(step(number)) for number in range(SLOTS)]
        await wait_for(lambda: len(inside) == SLOTS)
        waiting = [asyncio.create_task(step(SLOTS + number)) for number in range(WAITING)]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*first, *waiting)
        assert most == SLOTS
        assert entered[SLOTS:] == list(range(SLOTS, SLOTS + WAITING))
    finally:
        await database.dispose()


async def test_a_transaction_inside_another_needs_no_slot_of_its_own(tmp_path: Path) -> None:
    """Every slot held by a transaction that opens another inside it: no deadlock."""
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'nested.sqlite3'}", transaction_slots=SLOTS
    )
    all_in = asyncio.Barrier(SLOTS)

    async def outer() -> int:
        async with database.transaction():
            await all_in.wait()
            async with database.transaction() as inner:
                return int(await inner.scalar(text("SELECT 1")) or 0)

    try:
        async with asyncio.timeout(WAIT_SECONDS):
            assert await asyncio.gather(*(outer() for _ in range(SLOTS))) == [1] * SLOTS
    finally:
        await database.dispose()


async def test_no_slot_in_time_is_the_pools_timeout_error(tmp_path: Path) -> None:
    database = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'busy.sqlite3'}",
        transaction_slots=1,
        slot_timeout=SHORT_SLOT_TIMEOUT,
    )
    held = asyncio.Event()
    done = asyncio.Event()

    async def holder() -> None:
        async with database.transaction():
            held.set()
            await done.wait()

    task = asyncio.create_task(holder())
    try:
        await held.wait()
        with pytest.raises(PoolTimeoutError):
            async with database.transaction():
                pass
        done.set()
        await task
        async with database.transaction() as session:  # the slot came back
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        done.set()
        await task
        await database.dispose()
