from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage import Database, MigrationError, ensure_current, pending_revisions, upgrade
from storage.migrate import is_current
from tests.conftest import ROOT

#: A fresh interpreter importing the storage package and migrating, on a busy machine.
CHILD_TIMEOUT_SECONDS = 120

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


def test_the_heads_read_from_the_files_are_alembic_s() -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config, head_revisions

    assert head_revisions() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_a_current_schema_is_recognised_without_alembic(database: Database) -> None:
    assert await is_current(database)
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    assert not await is_current(database)


async def test_the_server_upgrades_in_a_child_process_and_never_imports_alembic(
    tmp_path: Path,
) -> None:
    """``serve`` on an empty database: the schema reaches the head, Alembic stays out."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    code = (
        "import asyncio, sys\n"
        "from storage import Database, ensure_current\n"
        "async def main():\n"
        f"    database = Database({url!r})\n"
        "    await ensure_current(database)\n"
        "    await ensure_current(database)\n"
        "    await database.dispose()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=True,
    )
    assert done.stdout.strip() == "[]"
    assert "Warning" not in done.stderr  # the child says nothing when all goes well
    fresh = Database(url)
    try:
        assert await is_current(fresh)
        assert await pending_revisions(fresh) == []
    finally:
        await fresh.dispose()


async def test_a_failed_child_upgrade_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "odd.sqlite3"
    broken = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with broken.engine.begin() as connection:  # a table the first migration makes
            await connection.execute(text("CREATE TABLE person (id INTEGER PRIMARY KEY)"))
        with pytest.raises(MigrationError):
            await ensure_current(broken)
    finally:
        await broken.dispose()
