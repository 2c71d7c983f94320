"""The current filter of the dashboard as a streamed CSV or XLSX download.

Rows come from a server-side cursor in batches and leave as they are formatted, so memory
stays flat whatever the number of leads. Cells are the ones of ``khuyencong leads export``
(:mod:`bot.leads.export`): same columns, same wording, the same formula neutralising.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Select

from bot.core.texts import Texts
from bot.leads.catalogue import Statuses
from bot.leads.export import COLUMNS, CSV_ENCODING, SHEET_TITLE_KEY, Cell, neutralise
from bot.leads.views import lead_view
from bot.staff import export_sql
from storage import Database
from storage.models.leads import Lead

BATCH_ROWS = 2000
#: Chunks of COPY output held between the database and a slow client (about 64 KB each).
COPY_QUEUE_CHUNKS = 16
BUDGET_INDEX = COLUMNS.index("budget_amount")
ASSIGNEE_COLUMN = "assignee"
_LEAD_COLUMNS = [column for column in Lead.__table__.columns if column.key != "search_text"]


def header(texts: Texts) -> list[str]:
    return [
        *(texts.label(f"staff.export.{column}") for column in COLUMNS),
        texts.label("dashboard.export.assignee"),
    ]


async def rows(
    database: Database,
    query: Select[Any],
    *,
    texts: Texts,
    statuses: Statuses,
    zone: tzinfo,
    names: dict[int, str],
) -> AsyncIterator[Sequence[Sequence[Cell]]]:
    """Batches of formatted, neutralised rows for ``query`` (a select over :class:`Lead`).

    On PostgreSQL the database formats the cells (:mod:`bot.staff.export_sql`); elsewhere
    each lead goes through :func:`~bot.leads.views.lead_view` here.
    """
    if database.is_postgres:
        formatted = export_sql.formatted(query, texts=texts, statuses=statuses, timezone=str(zone))
        async with database.transaction() as session:
            result = await session.stream(formatted.execution_options(yield_per=BATCH_ROWS))
            async for partition in result.partitions(BATCH_ROWS):
                yield partition
        return
    async for batch in _python_rows(
        database, query, texts=texts, statuses=statuses, zone=zone, names=names
    ):
        yield batch


async def _python_rows(
    database: Database,
    query: Select[Any],
    *,
    texts: Texts,
    statuses: Statuses,
    zone: tzinfo,
    names: dict[int, str],
) -> AsyncIterator[list[list[Cell]]]:
    columns_query = query.with_only_columns(*_LEAD_COLUMNS).order_by(Lead.id)
    async with database.transaction() as session:
        result = await session.stream(columns_query.execution_options(yield_per=BATCH_ROWS))
        async for partition in result.partitions(BATCH_ROWS):
            batch: list[list[Cell]] = []
            for row in partition:
                view = lead_view(cast(Lead, row), texts=texts, statuses=statuses, zone=zone)
                cells: list[Cell] = [_cell(getattr(view, column)) for column in COLUMNS]
                cells.append(names.get(row.assignee_id, "") if row.assignee_id else "")
                batch.append([neutralise(cell) for cell in cells])
            yield batch


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, int):
        return value
    return str(value)


async def csv_chunks(
    head: Sequence[str], batches: AsyncIterator[Sequence[Sequence[Cell]]]
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM (Excel then reads Vietnamese), one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    yield buffer.getvalue().encode(CSV_ENCODING)
    async for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)  # None is written as an empty cell
        yield buffer.getvalue().encode("utf-8")


async def write_xlsx(
    out: Path,
    head: Sequence[str],
    batches: AsyncIterator[Sequence[Sequence[Cell]]],
    *,
    texts: Texts,
) -> int:
    """Write the workbook in write-only mode (rows go to a temporary file, not memory)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=texts.label(SHEET_TITLE_KEY))
    sheet.append(list(head))
    written = 0
    async for batch in batches:
        for row in batch:
            cells = list(row)
            budget = cells[BUDGET_INDEX]
            if isinstance(budget, str) and budget.isdigit():  # PostgreSQL path: text
                cells[BUDGET_INDEX] = int(budget)
            sheet.append(cells)
        written += len(batch)
    await asyncio.to_thread(workbook.save, out)
    return written


async def csv_stream(
    database: Database,
    query: Select[Any],
    *,
    texts: Texts,
    statuses: Statuses,
    zone: tzinfo,
    names: dict[int, str],
) -> AsyncIterator[bytes]:
    """The whole CSV file (BOM, header, rows) in chunks.

    On PostgreSQL the server writes the rows itself (``COPY (…) TO STDOUT`` of the
    formatted query), so they reach the response without a Python object per row.
    """
    head = header(texts)
    if not database.is_postgres:
        batches = rows(database, query, texts=texts, statuses=statuses, zone=zone, names=names)
        async for chunk in csv_chunks(head, batches):
            yield chunk
        return
    buffer = io.StringIO()
    csv.writer(buffer).writerow(head)
    yield buffer.getvalue().encode(CSV_ENCODING)
    formatted = export_sql.formatted(query, texts=texts, statuses=statuses, timezone=str(zone))
    async for chunk in _copy_out(database, formatted):
        yield chunk


async def _copy_out(database: Database, query: Select[Any]) -> AsyncIterator[bytes]:
    """Stream ``COPY (query) TO STDOUT (FORMAT csv)`` through a small bounded queue."""
    compiled = query.compile(dialect=database.engine.dialect)
    values = compiled.construct_params()
    arguments = [values[name] for name in compiled.positiontup or ()]
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=COPY_QUEUE_CHUNKS)

    async def produce() -> None:
        try:
            async with database.transaction() as session:
                connection = await session.connection()
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.copy_from_query(
                    str(compiled), *arguments, output=chunks.put, format="csv"
                )
        finally:
            await chunks.put(None)

    task = asyncio.create_task(produce())
    try:
        while (chunk := await chunks.get()) is not None:
            yield chunk
        await task  # raises what the copy raised
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
