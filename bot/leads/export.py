"""Leads for staff as CSV (UTF-8 with BOM, so Excel shows Vietnamese) or XLSX.

Every text cell that a spreadsheet could read as a formula (starting with = + - @, a tab
or a carriage return) gets a leading apostrophe: an owner typing ``=HYPERLINK(…)`` as a
name must not become a live link in a staff member's Excel (CSV injection, OWASP).
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.config import DEFAULT_TIMEZONE
from bot.core.content import DEFAULT_CONTENT_DIR, Content
from bot.leads.catalogue import load_statuses
from bot.leads.views import LeadView, lead_view
from storage import Database
from storage.repositories import Leads

#: Columns in order: (label key in ``labels/staff.yaml``, value of a :class:`LeadView`).
COLUMNS: tuple[str, ...] = (
    "code",
    "created",
    "status_name",
    "full_name",
    "phone",
    "facility_name",
    "facility_type",
    "commune",
    "products",
    "kinds",
    "need",
    "budget_amount",
    "call_time",
    "programme_id",
    "verdicts",
    "channel",
    "updated",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"
SHEET_TITLE_KEY = "staff.export.sheet"

Cell = str | int | None


def neutralise(value: Cell) -> Cell:
    """Text a spreadsheet would evaluate is prefixed with an apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


async def export_leads(
    database: Database,
    *,
    fmt: Literal["csv", "xlsx"],
    out: Path,
    status: list[str] | None = None,
    since: date | None = None,
    content: Content | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> int:
    """Write the leads matching the filters to ``out``; the number of leads written."""
    zone = ZoneInfo(timezone)
    loaded = (
        content if content is not None else await asyncio.to_thread(Content, DEFAULT_CONTENT_DIR)
    )
    statuses = loaded.get(load_statuses)
    start = datetime.combine(since, time.min, tzinfo=zone) if since is not None else None
    async with database.transaction() as session:  # reads only: writers go on meanwhile
        leads = await Leads(session).search(statuses=status, since=start)
        views = [
            lead_view(lead, texts=loaded.texts, statuses=statuses, zone=zone) for lead in leads
        ]
    header = [loaded.texts.label(f"staff.export.{column}") for column in COLUMNS]
    rows = [[neutralise(_cell(view, column)) for column in COLUMNS] for view in views]
    title = loaded.texts.label(SHEET_TITLE_KEY)
    if fmt == "csv":
        await asyncio.to_thread(_write_csv, out, header, rows)
    elif fmt == "xlsx":
        await asyncio.to_thread(_write_xlsx, out, header, rows, title)
    else:
        msg = f"unknown export format {fmt!r}"
        raise ValueError(msg)
    return len(rows)


def _cell(view: LeadView, column: str) -> Cell:
    value: object = getattr(view, column)
    if value is None or isinstance(value, int):
        return value
    return str(value)


def _write_csv(out: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    with out.open("w", encoding=CSV_ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if cell is None else cell for cell in row] for row in rows)


def _write_xlsx(
    out: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]], title: str
) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(out)
