"""The database handle's transactions: SQLite's single writer taken at the first write."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage import ConversationState, Database, Person, ProcessedEvent
from storage.database import SQLITE_CACHE_KIB, SQLITE_MMAP_BYTES
from storage.repositories.conversations import Conversations, LogLine

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
#: A wrongly blocked read or write would wait for ever; a busy CI machine still answers in this.
DEADLINE_SECONDS = 10.0
#: How long a task that must stay blocked is watched, after everything else has happened.
SETTLE_SECONDS = 0.2


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kc.sqlite3'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(Person.metadata.create_all)
    yield database
    await database.dispose()


async def count_people(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Person)) or 0)


async def test_reads_run_while_another_transaction_holds_the_writer(sqlite: Database) -> None:
    wrote = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with sqlite.transaction() as session:
            session.add(Person(created_at=NOW))
            await session.flush()
            wrote.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await wrote.wait()
    async with asyncio.timeout(DEADLINE_SECONDS), sqlite.transaction() as session:
        # Only reads: no write lock needed, and the uncommitted row is not seen.
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
    release.set()
    await task
    assert await count_people(sqlite) == 1


async def test_writers_queue_and_all_commit(sqlite: Database) -> None:
    order: list[str] = []
    first_wrote = asyncio.Event()
    second_read = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with sqlite.transaction() as session:
            session.add(Person(created_at=NOW))
            await session.flush()
            order.append("first wrote")
            first_wrote.set()
            await release.wait()
            order.append("first commits")

    async def second() -> None:
        await first_wrote.wait()
        async with sqlite.transaction() as session:
            await session.scalar(select(func.count()).select_from(Person))
            order.append("second read")
            second_read.set()
            session.add(Person(created_at=NOW))
            await session.flush()  # waits for the writer
            order.append("second wrote")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    async with asyncio.timeout(DEADLINE_SECONDS):
        await second_read.wait()
    await asyncio.sleep(SETTLE_SECONDS)  # the second writer must still be waiting
    assert order == ["first wrote", "second read"]
    release.set()
    await asyncio.gather(*tasks)
    assert order[2:] == ["first commits", "second wrote"]
    assert await count_people(sqlite) == 2


async def test_a_failed_transaction_rolls_back_and_frees_the_writer(sqlite: Database) -> None:
    with pytest.raises(RuntimeError):
        async with sqlite.transaction() as session:
            session.add(Person(created_at=NOW))
            await session.flush()
            raise RuntimeError
    async with asyncio.timeout(DEADLINE_SECONDS), sqlite.transaction() as session:
        session.add(Person(created_at=NOW))
    assert await count_people(sqlite) == 1


async def test_a_savepoint_first_is_a_write(sqlite: Database) -> None:
    async with sqlite.transaction() as session:
        async with session.begin_nested():
            session.add(Person(created_at=NOW))
        session.add(Person(created_at=NOW))
    assert await count_people(sqlite) == 2


async def test_a_plain_session_is_still_one_atomic_transaction(sqlite: Database) -> None:
    async with sqlite.session() as session:
        session.add(Person(created_at=NOW))
        await session.flush()
        session.add(Person(created_at=NOW))
        await session.flush()
        await session.rollback()
    assert await count_people(sqlite) == 0


async def test_connections_get_a_page_cache_for_thousands_of_owners(sqlite: Database) -> None:
    async with sqlite.engine.connect() as connection:
        cache = await connection.scalar(text("PRAGMA cache_size"))
        mapped = await connection.scalar(text("PRAGMA mmap_size"))
    assert cache == -SQLITE_CACHE_KIB  # negative: KiB, not pages
    assert mapped == SQLITE_MMAP_BYTES


async def test_json_columns_take_what_orjson_refuses_and_read_older_rows(
    database: Database,
) -> None:
    """orjson writes and reads JSON columns; integers past 64 bits and ``NaN`` (written by
    the standard library before) still round-trip."""
    big = {"so": 2**70, "ten": "Cơ sở bánh pía", "7": [1.5, None]}
    async with database.transaction() as session:  # first contact: person, identity, state
        identity, _ = await Conversations(session).load_step(
            channel="test", user_id="u1", chat_id="u1", now=NOW
        )
        state = await session.get(ConversationState, identity.id)
        assert state is not None
        state.data = big  # written by the ORM at the commit
    async with database.transaction() as session:
        stored = await session.get(ConversationState, identity.id)
        assert stored is not None
        assert stored.data == big
        if database.is_sqlite:  # PostgreSQL's json type never took NaN
            await session.execute(
                text("UPDATE conversation_state SET data = :d"), {"d": '{"x": NaN}'}
            )
    async with database.transaction() as session:
        data = await session.scalar(select(ConversationState.data))
        assert data is not None
        if database.is_sqlite:
            assert math.isnan(data["x"])


async def test_a_step_without_orm_work_never_starts_the_sessions_transaction(
    database: Database,
) -> None:
    """The engine's statements go to the step's connection; the ORM stays idle."""
    async with database.step_transaction() as session:
        repo = Conversations(session)
        _, state = await repo.load_step(channel="test", user_id="u1", chat_id="u1", now=NOW)
        assert await repo.save_step(
            state,
            now=NOW,
            log=[LogLine("in", "text", "a")],
            channel="test",
            event_id="e1",
            replies=None,
        )
        assert not session.in_transaction()
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


async def test_a_flows_orm_rows_commit_and_roll_back_with_the_step(database: Database) -> None:
    async with database.step_transaction() as session:
        await Conversations(session).load_step(channel="test", user_id="u1", chat_id="u1", now=NOW)
        session.add(Person(created_at=NOW))  # flushed by the step, not by the flow
    with pytest.raises(RuntimeError):
        async with database.step_transaction() as session:
            await Conversations(session).load_step(
                channel="test", user_id="u2", chat_id="u2", now=NOW
            )
            session.add(Person(created_at=NOW))
            await session.flush()
            raise RuntimeError
    # u1's person (first contact) and the flow's; nothing of u2's step
    assert await count_people(database) == 2
