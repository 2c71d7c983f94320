from __future__ import annotations

from sqlalchemy import inspect

from storage import Database, pending_revisions, upgrade

CORE_TABLES = {
    "person",
    "channel_identity",
    "conversation_state",
    "processed_event",
    "message_log",
    "outbox_message",
}


async def test_upgrade_creates_core_tables_and_is_idempotent(database: Database) -> None:
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables >= CORE_TABLES
    assert await pending_revisions(database) == []
    await upgrade(database)  # a second run changes nothing and does not fail
    assert await pending_revisions(database) == []


async def test_ping_reports_a_live_database(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_reports_a_dead_database(tmp_path: object) -> None:
    dead = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert await dead.ping() is False
    finally:
        await dead.dispose()
