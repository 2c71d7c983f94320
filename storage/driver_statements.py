"""The engine's per-step statements, sent straight to the database driver.

Why: a prebuilt SQLAlchemy Core statement still costs about 0.3 ms of CPU to execute
(execution context, result set-up, a greenlet switch each way), against 0.1 ms for the same
statement through the driver itself (``bench/README.md``, issue 16). A step runs four or
five of them, so the engine's hot path compiles its statements once per dialect and sends
them to the driver (asyncpg, or sqlite3 through ``storage.sqlite_driver``).

Nothing else changes: the statements are the Core statements of the repositories; values go
through the columns' own type processors both ways, so rows written here read back
identically through the ORM (and the other way round); they run on the session's own
connection inside its transaction (PostgreSQL: the driver's transaction is the one
SQLAlchemy's adapter opened; SQLite: after the same write claim as SQLAlchemy's
statements), so the session's commit and rollback cover them; driver errors are raised as
SQLAlchemy's (``OperationalError``, ``IntegrityError``…), which the engine's retry reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection

from storage.sqlite_driver import PrefetchingCursor

#: Key of the session factory's ``info`` where the database puts its :class:`DriverStatements`.
SESSION_INFO_KEY = "driver_statements"
#: Key of ``session.info`` caching the transaction's connection (see :func:`_connection_of`).
_CONNECTION_KEY = "driver_statements.connection"
#: The verbs of statements that write (the rest only read).
_READ_VERBS = frozenset({"SELECT"})

Processor = Callable[[Any], Any] | None


class WriteClaim(Protocol):
    """Takes SQLite's process write lock before a transaction's first write
    (:meth:`storage.database.Database.claim_write`)."""

    def __call__(self, connection: AsyncConnection) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement as the driver takes it: SQL text, its parameters' order and processors,
    and the processors of the columns it returns."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    writes: bool

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for value, process in zip(
                (params[name] for name in self.names), self.binds, strict=True
            )
        )

    def row(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for value, process in zip(values, self.results, strict=True)
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a statement gave back: its rows (processed) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class DriverStatements:
    """Compiles statements for one dialect (once each) and runs them on a session's
    connection through its driver."""

    def __init__(self, dialect: Dialect, *, claim_write: WriteClaim | None = None) -> None:
        self._dialect = dialect
        self._claim_write = claim_write
        self._compiled: dict[tuple[int, tuple[str, ...] | None], CompiledStatement] = {}
        #: Statements are module constants; kept here so an id is never reused meanwhile.
        self._statements: list[Executable] = []
        self._postgres = dialect.name == "postgresql"

    def compile(
        self, statement: Executable, *, column_keys: Sequence[str] | None = None
    ) -> CompiledStatement:
        keys = tuple(column_keys) if column_keys is not None else None
        cache_key = (id(statement), keys)
        found = self._compiled.get(cache_key)
        if found is None:
            found = self._compile(statement, keys)
            self._compiled[cache_key] = found
            self._statements.append(statement)
        return found

    def _compile(
        self, statement: Executable, column_keys: tuple[str, ...] | None
    ) -> CompiledStatement:
        dialect = self._dialect
        # A SQLCompiler: positiontup, binds and _result_columns are what its own execution
        # path reads to bind parameters and process rows.
        compiled: Any = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
        )
        names = tuple(compiled.positiontup or ())
        binds = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in compiled._result_columns
        )
        sql = str(compiled)
        writes = sql.lstrip()[: len("SELECT")].upper() not in _READ_VERBS
        return CompiledStatement(sql, names, binds, results, writes)

    async def run(
        self,
        session: AsyncSession,
        statement: Executable,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        column_keys: Sequence[str] | None = None,
    ) -> Outcome:
        """Run ``statement`` with one set of ``params`` (or several: one execution each) in
        the session's transaction."""
        compiled = self.compile(statement, column_keys=column_keys)
        many = not isinstance(params, Mapping)
        arguments: Any = (
            [compiled.arguments(each) for each in params] if many else compiled.arguments(params)  # type: ignore[arg-type]
        )
        connection, raw = await _connection_of(session)
        if self._postgres:
            return await self._run_asyncpg(connection, raw, compiled, arguments, many=many)
        return await self._run_sqlite(connection, raw, compiled, arguments, many=many)

    async def _run_asyncpg(
        self,
        connection: AsyncConnection,
        raw: PoolProxiedConnection,
        compiled: CompiledStatement,
        arguments: Any,
        *,
        many: bool,
    ) -> Outcome:
        adapter: Any = raw.dbapi_connection
        driver = adapter._connection
        async with adapter._execute_mutex:
            try:
                if adapter._transaction is None:
                    # The adapter's own BEGIN, so the session's commit/rollback end it.
                    await adapter._start_transaction()
                if many:
                    await driver.executemany(compiled.sql, arguments)
                    return Outcome([], len(arguments))
                if not compiled.writes or compiled.results:
                    records = await driver.fetch(compiled.sql, *arguments)
                    rows = [compiled.row(tuple(record)) for record in records]
                    return Outcome(rows, len(rows))
                status = await driver.execute(compiled.sql, *arguments)
                return Outcome([], _rowcount(status))
            except Exception as error:
                failure = self._postgres_error(compiled.sql, adapter, error)
                cause: Exception = error
        if failure.connection_invalidated:
            # As SQLAlchemy does on a disconnect: the pool drops this connection, and the
            # engine's retry of the step gets a fresh one (no ping before every checkout).
            await connection.invalidate(failure.orig)
        raise failure from cause

    def _postgres_error(self, sql: str, adapter: Any, error: Exception) -> DBAPIError:
        """asyncpg's error as SQLAlchemy would raise it (the adapter's own translation)."""
        try:
            adapter._handle_exception(error)
        except Exception as translated:
            failure = DBAPIError.instance(
                sql,
                None,
                translated,
                self._dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=self._dialect.is_disconnect(
                    translated,  # type: ignore[arg-type]
                    adapter,
                    None,
                ),
                dialect=self._dialect,
            )
            assert isinstance(failure, DBAPIError)
            return failure
        raise AssertionError  # pragma: no cover - _handle_exception always raises

    async def _run_sqlite(
        self,
        connection: AsyncConnection,
        raw: PoolProxiedConnection,
        compiled: CompiledStatement,
        arguments: Any,
        *,
        many: bool,
    ) -> Outcome:
        if compiled.writes and self._claim_write is not None:
            await self._claim_write(connection)
        # storage.sqlite_driver's cursor: BEGIN (if pending), the statement and its rows in
        # one call.
        cursor: PrefetchingCursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                await cursor.executemany(compiled.sql, arguments)
            else:
                await cursor.execute(compiled.sql, arguments)
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                compiled.sql,
                None,
                error,
                sqlite3.Error,
                hide_parameters=True,
                dialect=self._dialect,
            ) from error
        rows = [compiled.row(row) for row in await cursor.fetchall()]
        return Outcome(rows, cursor.rowcount)


async def _connection_of(session: AsyncSession) -> tuple[AsyncConnection, PoolProxiedConnection]:
    """The session's connection and its pooled driver connection, looked up once per
    transaction (each lookup is two greenlet switches; a step runs several statements)."""
    bind = session.bind
    if isinstance(bind, AsyncConnection):
        # Database.step_transaction: the session is bound to the step's connection, and
        # asking it for the connection would start its ORM transaction for nothing.
        found = session.info.get(_CONNECTION_KEY)
        if found is not None and found[1] is bind:
            return bind, found[2]
        raw_of_bind = await bind.get_raw_connection()
        session.info[_CONNECTION_KEY] = (None, bind, raw_of_bind)
        return bind, raw_of_bind
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_CONNECTION_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if transaction is not None:
        session.info[_CONNECTION_KEY] = (transaction, connection, raw)
    return connection, raw


def _rowcount(status: str) -> int:
    """asyncpg's command tag ("UPDATE 1", "INSERT 0 1") → the number of rows."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def driver_statements(session: AsyncSession) -> DriverStatements:
    """The :class:`DriverStatements` of the database that made ``session``."""
    statements: DriverStatements = session.info[SESSION_INFO_KEY]
    return statements


__all__ = [
    "SESSION_INFO_KEY",
    "CompiledStatement",
    "DriverStatements",
    "Outcome",
    "driver_statements",
]
