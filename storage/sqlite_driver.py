"""aiosqlite connections that cost one thread hop per statement instead of three or four.

aiosqlite runs SQLite in a worker thread and SQLAlchemy's adapter makes a round trip to it
to create a cursor, to execute, to fetch the rows and to close the cursor. Each trip waits
for the event loop to come round, and on SQLite every step holds the single write lock
across all of them, so under load the trips, not SQLite, set the throughput. Here the
cursor is created, executed, fully fetched and closed in the worker thread in one call;
the result (rows, description, rowcount, lastrowid) is kept on the async cursor.

Only the cursor changes: transactions, the connection's thread and everything else are
aiosqlite's own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL

BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"
#: Rows handed out per ``fetchmany`` when the caller gives no size (aiosqlite's default).
DEFAULT_ARRAY_SIZE = 64
#: How long a failed connection's worker thread is given to stop.
THREAD_STOP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    rows: list[Any]
    description: Any
    rowcount: int
    lastrowid: int | None


class PrefetchingCursor(aiosqlite.Cursor):
    """An aiosqlite cursor whose statement runs, is fetched and closed in one thread call.

    Every row is read at once: the bot's statements return a handful of rows, and nothing
    here streams large results.
    """

    def __init__(self, connection: PrefetchingConnection) -> None:
        # No sqlite3 cursor is held: one is made and closed inside each worker-thread call.
        self.iter_chunk_size = connection._iter_chunk_size
        self._conn: PrefetchingConnection = connection
        self._rows: deque[Any] = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = DEFAULT_ARRAY_SIZE

    async def execute(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> PrefetchingCursor:
        await self._trip(sql, parameters or (), many=False)
        return self

    async def executemany(
        self, sql: str, parameters: Iterable[Iterable[Any]]
    ) -> PrefetchingCursor:
        await self._trip(sql, list(parameters), many=True)
        return self

    async def _trip(self, sql: str, parameters: Any, *, many: bool) -> None:
        """One trip to the connection's worker thread; keep what it brought back."""
        begin = self._conn.take_pending_begin()
        run = partial(_run, self._conn._conn, sql, parameters, many=many, begin=begin)
        outcome: _Outcome = await self._conn._execute(run)  # type: ignore[no-untyped-call]
        self._rows = deque(outcome.rows)
        self._description = outcome.description
        self._rowcount = outcome.rowcount
        self._lastrowid = outcome.lastrowid

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        """Nothing is held in the worker thread; drop any unread rows."""
        self._rows.clear()

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def description(self) -> Any:
        return self._description

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool, begin: str | None
) -> _Outcome:
    """In the worker thread: the whole life of one sqlite3 cursor (after ``begin``, if any)."""
    if begin is not None:
        connection.execute(begin)
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(rows, cursor.description, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class PrefetchingConnection(aiosqlite.Connection):
    """aiosqlite's connection, handing out :class:`PrefetchingCursor` without a thread hop."""

    _pending_begin: str | None = None

    def cursor(self) -> PrefetchingCursor:  # type: ignore[override]
        return PrefetchingCursor(self)

    def begin_immediate_before_next_statement(self) -> None:
        """Open the write transaction in the same trip as the statement that needs it
        (``storage.database`` calls this when a transaction first writes)."""
        self._pending_begin = BEGIN_IMMEDIATE

    def take_pending_begin(self) -> str | None:
        begin, self._pending_begin = self._pending_begin, None
        return begin


def connection_factory(url: URL) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An ``async_creator`` for SQLAlchemy's aiosqlite dialect, opening ``url`` the way the
    dialect itself would (same file, same ``sqlite3.connect`` arguments)."""
    args: Sequence[Any]
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)

    async def connect() -> aiosqlite.Connection:
        connection = PrefetchingConnection(
            partial(sqlite3.connect, *args, **kwargs), DEFAULT_ARRAY_SIZE
        )
        connection._thread.daemon = True  # as the dialect does: never blocks interpreter exit
        try:
            return await connection
        except BaseException:
            # aiosqlite stops its worker thread after a failed connect, and that thread then
            # reports to this event loop; wait for it here, or a command that exits at once
            # (``serve`` with a wrong DATABASE_URL) closes the loop first and the thread prints
            # a traceback ("Event loop is closed") on the way out.
            await asyncio.to_thread(connection._thread.join, THREAD_STOP_SECONDS)
            raise

    return connect


__all__ = ["BEGIN_IMMEDIATE", "PrefetchingConnection", "PrefetchingCursor", "connection_factory"]
