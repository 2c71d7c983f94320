"""What ``/healthz`` checks: the database takes a write, soon, in the file it opened.

A trivial read passed while every write failed (a read-only SQLite file), while the
SQLite file had been deleted under the running bot (its data gone at the next restart), and
hung for as long as PostgreSQL stalled. So the check writes (a no-op update of Alembic's
version row), under a short timeout, and compares the SQLite file's identity with the one
opened at start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text

from storage.database import Database, sqlite_file_identity

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS: Final = 2.0
_WRITE_PROBE: Final = text("UPDATE alembic_version SET version_num = version_num")


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    problem: str = ""


async def check_health(database: Database, *, within: float = HEALTH_TIMEOUT_SECONDS) -> Health:
    """Healthy when a write commits within ``within`` seconds in the database file opened."""
    opened = database.file_identity
    if database.is_sqlite and opened is not None and sqlite_file_identity(database.url) != opened:
        log.error("the SQLite database file was deleted or replaced while running")
        return Health(ok=False, problem="database file replaced")
    try:
        async with asyncio.timeout(within), database.transaction() as session:
            await session.execute(_WRITE_PROBE)
    except TimeoutError:
        log.warning("health check: the database did not take a write in %.1f s", within)
        return Health(ok=False, problem="database timeout")
    except Exception as exc:
        log.warning("health check: the database refused a write: %s", type(exc).__name__)
        return Health(ok=False, problem="database write failed")
    return Health(ok=True)
