"""aiosqlite connections whose statements run on the event loop's own thread.

aiosqlite runs SQLite in a worker thread: every statement is a queue put, a thread wake-up,
a ``call_soon_threadsafe`` back and two hand-overs of the GIL. The bot's statements take
tens of microseconds in SQLite itself, and the process's writers already queue on one
asyncio lock (``storage.database``), so here they run inline instead: under load the hops,
not SQLite, set the throughput (bench/README.md, issue 16). What could block the loop is
kept off it:

- **Waiting for a lock.** SQLite's busy handler would sleep in the loop's thread while the
  holder (another session of this process) needs the loop to finish. The connections have
  no busy timeout; a ``SQLITE_BUSY`` is retried after an ``asyncio.sleep`` until the same
  deadline the busy handler had.
- **Checkpoints.** SQLite copies the write-ahead log into the database file (and syncs it)
  inside the commit that crosses ``wal_autocheckpoint``. Automatic checkpoints are off;
  :class:`Checkpoints` runs a passive one in a thread every so many commits, while the
  process's writers wait for it (on the loop).

The cursor executes, fetches every row and closes in one call; its result (rows,
description, rowcount, lastrowid) is kept on the async cursor. Opening and closing a
connection still go through aiosqlite's worker thread.
"""

from __future__ import annotations

import asyncio
import logging
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
#: A statement that finds the database locked (another process writing) is tried again
#: after this pause, until the busy deadline.
BUSY_RETRY_SECONDS = 0.005
#: Commits between two passive checkpoints (SQLite's own default is 1,000 pages of log,
#: a few hundred of the bot's steps).
CHECKPOINT_EVERY_COMMITS = 200
CHECKPOINT_PASSIVE = "PRAGMA wal_checkpoint(PASSIVE)"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Outcome:
    rows: list[Any]
    description: Any
    rowcount: int
    lastrowid: int | None


class PrefetchingCursor(aiosqlite.Cursor):
    """An aiosqlite cursor whose statement runs, is fetched and closed in one call.

    Every row is read at once: the bot's statements return a handful of rows, and nothing
    here streams large results.
    """

    def __init__(self, connection: PrefetchingConnection) -> None:
        # No sqlite3 cursor is held: one is made and closed inside each call.
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
        """Run the statement (see :meth:`PrefetchingConnection._execute`); keep its result."""
        begin = self._conn.take_pending_begin()
        run = partial(_run, self._conn._conn, sql, parameters, many=many, begin=begin)
        outcome: _Outcome = await self._conn._execute(run)
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
        """No sqlite3 cursor is held; drop any unread rows."""
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
    """The whole life of one sqlite3 cursor (after ``begin``, if any)."""
    if begin is not None and not connection.in_transaction:  # not again on a busy retry
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


class Checkpoints:
    """Passive WAL checkpoints in a thread, one at a time, every so many commits of one
    database file (its connections share one of these).

    Each runs twice on one connection of its own. First beside the writers: it copies the
    bulk of the log (about 1,700 pages after 200 of the bot's steps, 9 ms) while steps go on
    committing. Then holding ``writers`` (the process's write lock): writers wait on the
    event loop, not on it, it copies the few pages committed meanwhile, and the log is then
    copied up to its end, so the next writer starts it over from its beginning. Run only
    alongside writers, a checkpoint never catches up under steady load and the log grows
    without end (2.8 GB after 60,000 updates in ``bench/updates.py``); held for the whole
    copy, it stopped every step for 10 ms three times a second (bench/README.md, issue 16).
    """

    def __init__(
        self,
        path: str | None,
        *,
        every: int = CHECKPOINT_EVERY_COMMITS,
        writers: asyncio.Lock | None = None,
    ) -> None:
        self._path = path
        self._every = every
        self._writers = writers or asyncio.Lock()
        self._commits = 0
        self._running: asyncio.Task[None] | None = None
        #: Checkpoints finished (tests and the health of a long run read it).
        self.done = 0
        #: Pages the last checkpoint copied beside the writers, and while holding them.
        self.last_pages: tuple[int, int] = (0, 0)

    def committed(self) -> None:
        if self._path is None:
            return
        self._commits += 1
        if self._commits < self._every or self._running is not None:
            return
        self._commits = 0
        self._running = asyncio.get_running_loop().create_task(self._run(self._path))

    async def _run(self, path: str) -> None:
        try:
            connection, beside = await asyncio.to_thread(self._open_and_checkpoint, path)
            try:
                async with self._writers:
                    held = await asyncio.to_thread(self._checkpoint, connection)
            finally:
                connection.close()
        except sqlite3.Error as error:
            # Not fatal: the log grows until the next one succeeds.
            logger.warning("sqlite checkpoint failed: %s: %s", type(error).__name__, error)
        else:
            self.done += 1
            # A log started over between the two runs counts from zero again.
            self.last_pages = (beside, held - beside if held >= beside else held)
        finally:
            self._running = None

    @classmethod
    def _open_and_checkpoint(cls, path: str) -> tuple[sqlite3.Connection, int]:
        # A connection of its own: the pooled ones belong to the event loop's thread.
        connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
        try:
            return connection, cls._checkpoint(connection)
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> int:
        """Pages of the log copied to the database file so far (SQLite's own count)."""
        ((_busy, _log, copied),) = connection.execute(CHECKPOINT_PASSIVE).fetchall()
        return int(copied)

    async def wait(self) -> None:
        """Let a running checkpoint finish (before the engine is disposed)."""
        if self._running is not None:
            await asyncio.wait([self._running])


class PrefetchingConnection(aiosqlite.Connection):
    """aiosqlite's connection, running its statements on the calling (event loop) thread
    and handing out :class:`PrefetchingCursor`."""

    _pending_begin: str | None = None
    _checkpoints: Checkpoints | None = None
    _busy_seconds: float = 0.0

    def cursor(self) -> PrefetchingCursor:  # type: ignore[override]
        return PrefetchingCursor(self)

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` here, now; a locked database is waited for without blocking the loop.

        Closing still goes to the worker thread, which then stops.
        """
        if not self._running or self._connection is None:
            msg = "Connection closed"
            raise ValueError(msg)
        if fn == self._connection.close:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        deadline: float | None = None
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
                now = asyncio.get_running_loop().time()
                deadline = now + self._busy_seconds if deadline is None else deadline
                if now >= deadline:
                    raise
                await asyncio.sleep(BUSY_RETRY_SECONDS)

    async def commit(self) -> None:
        await super().commit()
        if self._checkpoints is not None:
            self._checkpoints.committed()

    def begin_immediate_before_next_statement(self) -> None:
        """Open the write transaction with the statement that needs it
        (``storage.database`` calls this when a transaction first writes)."""
        self._pending_begin = BEGIN_IMMEDIATE

    def take_pending_begin(self) -> str | None:
        begin, self._pending_begin = self._pending_begin, None
        return begin


def is_busy(error: sqlite3.Error) -> bool:
    """``SQLITE_BUSY`` or one of its extended codes: another connection holds the lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def connection_factory(
    url: URL, *, checkpoints: Checkpoints | None = None, busy_seconds: float = 0.0
) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An ``async_creator`` for SQLAlchemy's aiosqlite dialect, opening ``url`` the way the
    dialect itself would (same file, same ``sqlite3.connect`` arguments), usable from the
    event loop's thread. ``busy_seconds``: how long a locked database is waited for;
    ``checkpoints``: who checkpoints the log (the connections must then run with
    ``wal_autocheckpoint=0``)."""
    args: Sequence[Any]
    args, dialect_kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    kwargs = {**dialect_kwargs, "check_same_thread": False, "timeout": 0}

    async def connect() -> aiosqlite.Connection:
        connection = PrefetchingConnection(
            partial(sqlite3.connect, *args, **kwargs), DEFAULT_ARRAY_SIZE
        )
        connection._checkpoints = checkpoints
        connection._busy_seconds = busy_seconds
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


__all__ = [
    "BEGIN_IMMEDIATE",
    "Checkpoints",
    "PrefetchingConnection",
    "PrefetchingCursor",
    "connection_factory",
    "is_busy",
]
