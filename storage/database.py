"""The database handle: one async engine and session factory per process.

SQLite (the embedded default) runs in WAL mode. A write transaction takes the process's
write lock and ``BEGIN IMMEDIATE`` before its first write, so writers queue in order
instead of failing when one upgrades a stale read snapshot, or sleeping in SQLite's busy
handler. PostgreSQL is used as is; several workers coordinate through row locks
(``SELECT … FOR UPDATE``) taken by the engine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only  # await_ from 2.1 on; this name works on 2.0 too

from storage.driver_statements import SESSION_INFO_KEY, DriverStatements
from storage.sqlite_driver import (
    BEGIN_IMMEDIATE,
    CHECKPOINT_EVERY_COMMITS,
    Checkpoints,
    PrefetchingConnection,
    connection_factory,
)

#: Another process holding SQLite's writer (a CLI tool) is waited for this long, no longer.
SQLITE_BUSY_TIMEOUT_MS = 5_000
MS_PER_SECOND = 1_000
#: PostgreSQL: a step blocked on a row lock fails after this (the webhook answers 503 and
#: Telegram retries) instead of holding the request; no statement runs longer than the other.
POSTGRES_LOCK_TIMEOUT_MS = 5_000
POSTGRES_STATEMENT_TIMEOUT_MS = 30_000
#: Page cache per connection, in KiB (SQLite's default is 2,000).
SQLITE_CACHE_KIB = 65_536
#: Size the write-ahead log file is cut back to when it starts over.
SQLITE_WAL_LIMIT_BYTES = 16 * 1024 * 1024
#: Reads through a memory map instead of a read() per page missing from the cache.
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
#: Connections kept open per process: at least the updates in flight at once (the webhook
#: takes 16 from Telegram, more from the web chat and the workers). Connections beyond it
#: are opened and closed per use (TLS attempt, codecs, statements prepared again): with 10
#: they were a fifth of a step's CPU at 32 updates in flight (bench/README.md, issue 16).
POSTGRES_POOL_SIZE = 32
POSTGRES_POOL_OVERFLOW = 8
#: SQLite transactions open at once per process; the others wait their turn in order.
#: SQLAlchemy's pool queue is not first come, first served (a newcomer takes a connection
#: just handed back before the waiter woken for it runs, and that waiter queues again at
#: the end), and its overflow connections were opened and closed per use: with 32 updates
#: in flight some steps waited 300 ms for a connection while others took none. Every
#: statement runs on the event loop's one thread and the writers queue on one lock anyway,
#: so more connections add no throughput (bench/README.md, issue 16).
SQLITE_TRANSACTION_SLOTS = 8
#: How long a transaction waits for its slot (SQLAlchemy's pool timeout for a connection).
SQLITE_SLOT_TIMEOUT_SECONDS = 30.0


@dataclass(slots=True)
class _WriteClaim:
    """One :meth:`Database.transaction` on SQLite: which connection it runs on, and whether
    it holds the process's write lock yet (taken at its first write, not at its start)."""

    connection: Any = None
    held: bool = False


class Database:
    """Owns the engine; hand out sessions with :meth:`session`."""

    def __init__(
        self,
        url: str | URL,
        *,
        echo: bool = False,
        pool_size: int = POSTGRES_POOL_SIZE,
        checkpoint_every: int = CHECKPOINT_EVERY_COMMITS,
        transaction_slots: int = SQLITE_TRANSACTION_SLOTS,
        slot_timeout: float = SQLITE_SLOT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = make_url(url)
        # hide_parameters: an error logged with its SQL must not print names or phones.
        kwargs: dict[str, Any] = {
            "echo": echo,
            "hide_parameters": True,
            # Every step writes its state and replies as JSON: orjson, a third of the CPU.
            "json_serializer": json_dumps,
            "json_deserializer": json_loads,
        }
        if self.is_postgres:
            timeouts = {
                "lock_timeout": str(POSTGRES_LOCK_TIMEOUT_MS),
                "statement_timeout": str(POSTGRES_STATEMENT_TIMEOUT_MS),
            }
            kwargs.update(
                pool_size=pool_size,
                max_overflow=POSTGRES_POOL_OVERFLOW,
                # No ping before each checkout (three round trips: BEGIN, ";", ROLLBACK): a
                # connection the server dropped fails its first statement, is invalidated,
                # and the engine retries the step on a fresh one (engine._is_transient).
                pool_pre_ping=False,
                connect_args={"server_settings": timeouts},
            )
        #: SQLite's log checkpoints, off the event loop (see storage.sqlite_driver).
        self._write_lock = asyncio.Lock()
        self.checkpoints = Checkpoints(
            self._sqlite_path(), every=checkpoint_every, writers=self._write_lock
        )
        if self.is_sqlite:
            # Statements on the event loop's thread (see storage.sqlite_driver).
            kwargs.update(
                async_creator=connection_factory(
                    self.url,
                    checkpoints=self.checkpoints,
                    busy_seconds=SQLITE_BUSY_TIMEOUT_MS / MS_PER_SECOND,
                )
            )
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        #: The engine's per-step statements, straight to the driver (storage.driver_statements).
        self.driver_statements = DriverStatements(
            self.engine.dialect, claim_write=self._claim_write if self.is_sqlite else None
        )
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, info={SESSION_INFO_KEY: self.driver_statements}
        )
        #: (device, inode) of the SQLite file when first opened: a file deleted or replaced
        #: while running shows up in the health check instead of silently losing data.
        self.file_identity: tuple[int, int] | None = None
        #: SQLite: transactions wait here, first come first served, not in the pool.
        self._transaction_slots = asyncio.Semaphore(transaction_slots)
        self._slot_timeout = slot_timeout
        #: The SQLite transaction the current task is running, if any.
        self._claim: ContextVar[_WriteClaim | None] = ContextVar(
            f"write_claim_{id(self)}", default=None
        )
        if self.is_sqlite:
            self._configure_sqlite()

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def session(self) -> AsyncSession:
        """A plain session. On SQLite its transaction takes the write lock of the database
        file at its start (``BEGIN IMMEDIATE``): prefer :meth:`transaction`, which takes it
        only if and when it writes."""
        return self.sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a committed-on-exit write transaction.

        On SQLite the process's writers queue on one asyncio lock: SQLite has a single
        writer anyway, and its busy handler would otherwise make waiting connections sleep
        in growing steps, which shows up as seconds of tail latency under load. The lock is
        taken at the transaction's first write (with ``BEGIN IMMEDIATE``), not at its start:
        the reads and the flow's own work before it run while others write, so the single
        writer is held only for the writes and the commit. Reads before the first write see
        the latest commit each; the engine's per-user lock and the state's version check
        keep a step's own rows consistent.
        """
        async with self._write_claim(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def step_transaction(self) -> AsyncIterator[AsyncSession]:
        """:meth:`transaction` for the engine's step: the transaction is a Core connection's,
        and the session yielded is bound to it, starting its own bookkeeping (identity map,
        snapshot, ORM transaction: a fifth of a step's CPU) only if a flow uses the ORM.

        The engine's statements go to the driver on that connection
        (``storage.driver_statements``); a flow's ORM work joins the same transaction. Rows a
        flow added are flushed before the commit; a failure anywhere rolls all of it back.
        """
        async with (
            self._write_claim(),
            self.engine.connect() as connection,
            connection.begin(),
        ):
            session = AsyncSession(
                bind=connection,
                expire_on_commit=False,
                info={SESSION_INFO_KEY: self.driver_statements},
                # The session never commits the step: the connection's transaction does.
                join_transaction_mode="rollback_only",
            )
            try:
                yield session
                if session.new or session.dirty or session.deleted:
                    await session.flush()
            finally:
                if session.in_transaction():
                    await session.close()

    @asynccontextmanager
    async def _write_claim(self) -> AsyncIterator[None]:
        """The SQLite write claim of one transaction (taken at its first write by the
        listeners and :meth:`_claim_write`), released when the transaction has ended; and
        its turn among :data:`SQLITE_TRANSACTION_SLOTS`, taken before its connection."""
        claim = _WriteClaim() if self.is_sqlite else None
        # A transaction opened inside another (same task) already has its slot.
        gate = self._transaction_slots if claim is not None and self._claim.get() is None else None
        if gate is not None:
            await self._take_slot(gate)
        token = self._claim.set(claim)
        try:
            yield
        finally:
            self._claim.reset(token)
            if claim is not None and claim.held:
                self._write_lock.release()
            if gate is not None:
                gate.release()

    async def _take_slot(self, gate: asyncio.Semaphore) -> None:
        """A turn among the transaction slots, or SQLAlchemy's own pool timeout error after
        as long as its pool would have waited for a connection."""
        try:
            async with asyncio.timeout(self._slot_timeout):
                await gate.acquire()
        except TimeoutError as exc:
            msg = f"no SQLite transaction slot free after {self._slot_timeout:g} s"
            raise PoolTimeoutError(msg) from exc

    async def _claim_write(self, connection: AsyncConnection) -> None:
        """Before a statement sent straight to the driver writes: the same write claim as
        ``before_cursor_execute`` makes for SQLAlchemy's own statements."""
        claim = self._claim.get()
        if claim is None or claim.held or claim.connection is not connection.sync_connection:
            return
        await self._write_lock.acquire()
        claim.held = True
        driver: PrefetchingConnection = (await connection.get_raw_connection()).driver_connection  # type: ignore[assignment]
        driver.begin_immediate_before_next_statement()

    async def ping(self) -> bool:
        """True when the database answers a trivial query (used by ``/healthz``)."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.checkpoints.wait()
        await self.engine.dispose()

    def _sqlite_path(self) -> str | None:
        """The SQLite database file, if this is one (not in memory)."""
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            return None
        return self.url.database

    def _configure_sqlite(self) -> None:
        sync_engine = self.engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take over transaction control from the driver: we issue BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # No busy handler sleeping on the event loop's thread, no checkpoint inside a
            # commit: the driver waits for locks and checkpoints in a thread instead.
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            # The log file is cut back to this when it starts over after a checkpoint.
            cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT_BYTES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The working set (every owner's identity and conversation, the tails of the
            # logs) outgrows SQLite's 2 MB default page cache at a few thousand owners.
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cursor.close()
            if self.file_identity is None:
                self.file_identity = sqlite_file_identity(self.url)

        @event.listens_for(sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            claim = self._claim.get()
            if claim is not None and claim.connection is None:
                claim.connection = connection  # BEGIN IMMEDIATE comes at its first write
                return
            # A session outside transaction(): the whole of it is a write transaction.
            connection.exec_driver_sql(BEGIN_IMMEDIATE)

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _before_execute(
            connection: Any,
            _cursor: Any,
            statement: str,
            _parameters: Any,
            _context: Any,
            _executemany: bool,
        ) -> None:
            claim = self._claim.get()
            if claim is None or claim.held or claim.connection is not connection:
                return
            if statement.lstrip()[:_VERB_LENGTH].upper() in _READ_VERBS:
                return
            await_only(self._write_lock.acquire())
            claim.held = True
            # Sent with this statement, in the same call.
            driver: PrefetchingConnection = connection.connection.driver_connection
            driver.begin_immediate_before_next_statement()


def json_dumps(value: Any) -> str:
    """JSON text of a column value: orjson's, or the standard library's for what orjson does
    not take (integers past 64 bits); both read back the same."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    """A column's JSON value; rows written before orjson (``NaN``) read as they did."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def sqlite_file_identity(url: URL) -> tuple[int, int] | None:
    """(device, inode) of a SQLite database file; None in memory or when it is missing."""
    if not url.database or url.database == ":memory:":
        return None
    try:
        stat = Path(url.database).stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


#: Statements that start no write: anything else (SAVEPOINT included) first takes the lock.
_READ_VERBS: Final = frozenset({"SELECT", "PRAGMA"})
_VERB_LENGTH: Final = 6
