"""Apply Alembic migrations from async code (``khuyencong db upgrade`` and ``serve``).

Alembic (with Mako and Pygments, about 11 MB) is imported when a migration is checked or
run, not with ``storage``: commands and processes that never migrate do without it. A
long-running process (``serve``) uses :func:`ensure_current`: a schema already at the head
is recognised from the migration files without Alembic, and one that is not is upgraded
by a short-lived child process, so the server never holds Alembic in memory.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_xact_lock key held while migrating: processes starting together on an empty
#: database take turns, and the second finds the schema current instead of failing.
MIGRATION_LOCK_KEY = 4_211_626_801
#: The child process of :func:`ensure_current` reads the database's address here (not on its
#: command line, where ``ps`` would show a password).
MIGRATE_URL_ENV = "KHUYENCONG_MIGRATE_URL"
_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


class MigrationError(RuntimeError):
    """The schema could not be brought to the head revision."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(database: Database, *, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    from alembic import command

    config = alembic_config()

    def _run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        if database.is_postgres:  # released at commit, with the schema in place
            await connection.execute(text("SET LOCAL lock_timeout = 0"))  # wait our turn
            await connection.execute(text("SET LOCAL statement_timeout = 0"))
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(_run)


async def pending_revisions(database: Database) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())

    def _current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with database.engine.connect() as connection:
        current = await connection.run_sync(_current)
    pending: list[str] = []
    for rev in script.walk_revisions():
        if rev.revision in current:
            break
        pending.append(rev.revision)
    return pending


def head_revisions(directory: Path = MIGRATIONS_DIR / "versions") -> frozenset[str]:
    """The head revisions, read from the migration files' ``revision`` and
    ``down_revision`` lines (what Alembic's script directory says, without importing it)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in directory.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN_REVISION.findall(source))
    return frozenset(revisions - parents)


async def is_current(database: Database) -> bool:
    """True when the schema is at the head revision(s); connection errors are raised."""
    async with database.engine.connect() as connection:
        try:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as error:
            if error.connection_invalidated:
                raise
            return False  # no alembic_version table: an empty database
        current = {str(row[0]) for row in rows}
    return current == head_revisions()


async def ensure_current(database: Database) -> None:
    """Bring the schema to the head, in a child process when it is not there yet (the
    caller never imports Alembic); in process for a database in memory, which only this
    process sees."""
    if await is_current(database):
        return
    if database.is_sqlite and database.url.database in (None, "", ":memory:"):
        await upgrade(database)
        return
    url = database.url.render_as_string(hide_password=False)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD_CODE, env=os.environ | {MIGRATE_URL_ENV: url}
    )
    if await child.wait() != 0:
        msg = "the database schema could not be upgraded (see the lines above)"
        raise MigrationError(msg)


async def _upgrade_from_environment() -> int:
    """The child of :func:`ensure_current`: one line on failure, never a traceback."""
    database = Database(os.environ[MIGRATE_URL_ENV])
    try:
        await upgrade(database)
    except Exception as error:
        first_line = (str(error).splitlines() or [""])[0]
        print(
            f"khuyencong: migration failed: {type(error).__name__}: {first_line}", file=sys.stderr
        )
        return 1
    finally:
        await database.dispose()
    return 0


def upgrade_from_environment() -> int:
    """Entry point of the child process (its exit code)."""
    return asyncio.run(_upgrade_from_environment())


#: Not ``python -m storage.migrate``: the package imports this module first, and runpy then
#: warns on the console that it runs a second copy.
_CHILD_CODE = (
    "import sys; from storage.migrate import upgrade_from_environment as run; sys.exit(run())"
)
