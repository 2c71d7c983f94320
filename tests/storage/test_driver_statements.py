"""The engine's statements sent straight to the driver behave as SQLAlchemy's own: same
values both ways, same transaction, same errors, and a dropped connection is retried."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.core.messages import EventKind
from storage import ConversationState, Database, MessageLog, ProcessedEvent
from storage.driver_statements import driver_statements
from storage.repositories.conversations import LOG_TEXT_LIMIT, Conversations, LogLine
from tests.conftest import _admin_execute, drop_database, make_database
from tests.harness import TEST_NOW, User, make_engine

UNICODE_DATA = {"ten": "Cơ sở bánh pía Tân Huê Viên", "so": [1, 2.5, None], "co": True}


async def test_state_and_log_written_by_the_driver_read_back_through_the_orm(
    database: Database,
) -> None:
    now = TEST_NOW.astimezone(UTC)
    async with database.transaction() as session:
        repo = Conversations(session)
        identity, state = await repo.load_step(channel="test", user_id="u1", chat_id="u1", now=now)
        state.data = UNICODE_DATA
        state.last_choices = [["menu:main", "Về menu"]]
        await repo.save_state(state, now=now + timedelta(seconds=1))
        row = {
            "identity_id": identity.id,
            "direction": "in",
            "kind": "text",
            "text": "hỗ trợ máy móc",
            "created_at": now,
        }
        await repo.log_messages([row, {**row, "direction": "out", "text": "Dạ"}])
        assert await repo.record_processed(channel="test", event_id="e1", now=now)
    async with database.transaction() as session:
        stored = await session.get(ConversationState, identity.id)
        assert stored is not None
        assert (stored.data, stored.last_choices, stored.version) == (
            UNICODE_DATA,
            [["menu:main", "Về menu"]],
            1,
        )
        assert stored.updated_at == now + timedelta(seconds=1)
        texts = (await session.execute(select(MessageLog.text).order_by(MessageLog.id))).all()
        assert [t for (t,) in texts] == ["hỗ trợ máy móc", "Dạ"]
        logged = await session.scalar(select(MessageLog.created_at).limit(1))
        assert logged == now
        # Read back through the driver too: the same values.
        _, again = await Conversations(session).load_step(
            channel="test", user_id="u1", chat_id="u1", now=now
        )
        assert (again.data, again.version) == (UNICODE_DATA, 1)


async def test_a_step_saved_whole_reads_back_through_the_orm(database: Database) -> None:
    """``save_step`` (one statement on PostgreSQL): state, log lines, event id and replies."""
    now = TEST_NOW.astimezone(UTC)
    long_text = "x" * (LOG_TEXT_LIMIT + 10)
    async with database.transaction() as session:
        repo = Conversations(session)
        identity, state = await repo.load_step(channel="test", user_id="u1", chat_id="u1", now=now)
        state.flow, state.step, state.data = "policy", "topics", UNICODE_DATA
        lines = [LogLine("in", "text", "hỗ trợ máy móc"), LogLine("out", "reply", long_text)]
        replies = [{"text": "Dạ", "choices": []}]
        fresh = await repo.save_step(
            state, now=now, log=lines, channel="test", event_id="e1", replies=replies
        )
        assert fresh
    async with database.transaction() as session:
        stored = await session.get(ConversationState, identity.id)
        assert stored is not None
        assert (stored.flow, stored.step, stored.data, stored.version) == (
            "policy",
            "topics",
            UNICODE_DATA,
            1,
        )
        logged = (await session.execute(select(MessageLog).order_by(MessageLog.id))).scalars()
        assert [(m.identity_id, m.direction, m.kind, m.text, m.created_at) for m in logged] == [
            (identity.id, "in", "text", "hỗ trợ máy móc", now),
            (identity.id, "out", "reply", long_text[:LOG_TEXT_LIMIT], now),
        ]
        processed = await session.get(ProcessedEvent, ("test", "e1"))
        assert processed is not None
        assert (processed.replies, processed.processed_at) == (replies, now)


async def test_a_step_saved_whole_writes_nothing_on_a_conflict_or_a_repeat(
    database: Database,
) -> None:
    now = TEST_NOW.astimezone(UTC)
    line = [LogLine("in", "text", "a")]
    async with database.transaction() as session:
        repo = Conversations(session)
        _, state = await repo.load_step(channel="test", user_id="u1", chat_id="u1", now=now)
        assert await repo.save_step(
            state, now=now, log=line, channel="test", event_id="e1", replies=None
        )
    with pytest.raises(StaleDataError):
        async with database.transaction() as session:
            # state.version is still 0: another writer saved version 1 meanwhile
            await Conversations(session).save_step(
                state, now=now, log=line, channel="test", event_id="e2", replies=None
            )
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            repo = Conversations(session)
            _, state = await repo.load_step(channel="test", user_id="u1", chat_id="u1", now=now)
            assert not await repo.save_step(
                state, now=now, log=line, channel="test", event_id="e1", replies=None
            )
            raise RuntimeError  # a repeat: the engine rolls the step back
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1
        assert await session.scalar(select(func.count()).select_from(MessageLog)) == 1


async def test_a_repeated_event_id_is_not_recorded_twice(database: Database) -> None:
    async with database.transaction() as session:
        repo = Conversations(session)
        assert await repo.record_processed(channel="test", event_id="e1", now=TEST_NOW)
        assert not await repo.record_processed(channel="test", event_id="e1", now=TEST_NOW)


async def test_driver_writes_roll_back_with_the_session(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as session:
            await Conversations(session).record_processed(
                channel="test", event_id="e1", now=TEST_NOW
            )
            raise RuntimeError
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


async def test_driver_errors_are_sqlalchemy_errors(database: Database) -> None:
    insert = pg_insert if database.is_postgres else sqlite_insert
    statement = insert(ProcessedEvent.__table__)
    params = {"channel": "test", "event_id": "e1", "processed_at": TEST_NOW, "replies": None}
    keys = tuple(params)
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            statements = driver_statements(session)
            await statements.run(session, statement, params, column_keys=keys)
            await statements.run(session, statement, params, column_keys=keys)


async def test_a_driver_write_takes_sqlites_write_lock_until_commit(
    sqlite_database: Database,
) -> None:
    async with sqlite_database.transaction() as session:  # first contact: the owner's rows
        await Conversations(session).load_step(
            channel="test", user_id="u1", chat_id="u1", now=TEST_NOW
        )
    async with sqlite_database.transaction() as session:
        await Conversations(session).load_step(
            channel="test", user_id="u1", chat_id="u1", now=TEST_NOW
        )
        assert not sqlite_database._write_lock.locked()  # a read takes no lock
        await Conversations(session).record_processed(channel="test", event_id="e9", now=TEST_NOW)
        assert sqlite_database._write_lock.locked()
        in_transaction = await session.scalar(text("SELECT 1"))
        assert in_transaction == 1
    assert not sqlite_database._write_lock.locked()


@pytest.mark.postgres
async def test_a_connection_the_server_dropped_is_replaced_and_the_step_retried(
    tmp_path: Path,
) -> None:
    database = await make_database("postgresql", tmp_path)
    try:
        engine, _channel = make_engine(database)
        owner = User(engine)
        assert (await owner.send(owner.event(EventKind.COMMAND, "start"))).text
        # A server restart, as the pooled connection sees it: its backend is gone.
        await _admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database.url.database}'"
        )
        replies = await owner.send(owner.event(EventKind.COMMAND, "menu"))
        assert replies.text
        async with database.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(ProcessedEvent))
        assert count == 2
    finally:
        await drop_database(database)


def test_statements_are_compiled_once_per_dialect(sqlite_database: Database) -> None:
    statements = sqlite_database.driver_statements
    statement = select(ProcessedEvent.__table__.c.event_id)
    first = statements.compile(statement)
    assert statements.compile(statement) is first
    assert first.sql.startswith("SELECT") and not first.writes
