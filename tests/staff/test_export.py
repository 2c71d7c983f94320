"""The export's PostgreSQL path (cells computed in SQL) writes exactly what the Python
path (``lead_view`` + ``neutralise``) writes, cell by cell, for awkward leads."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.core.content import Content
from bot.leads.catalogue import load_statuses
from bot.staff import export, leadlist
from bot.staff.scope import Scope
from storage import Database
from storage.models.leads import Lead
from tests.conftest import CONTENT_DIR
from tests.dashboard.kit import make_account, make_lead

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = Scope(account_id=1, username="admin", name="admin", is_admin=True)
AWKWARD = (
    {"full_name": '=HYPERLINK("x")', "phone": "+84912345678", "need": "+1", "budget": 5},
    {"full_name": "\tTab", "phone": "+842438234567", "facility_name": "@cmd", "budget": None},
    {
        "full_name": "Lê Thị Ánh",
        "phone": "+842923821234",
        "products": "-2",
        "call_time": "morning",
    },
    {"full_name": "Không số", "phone": "", "facility_type": "ho_kinh_doanh", "call_time": "lạ"},
    {"full_name": "Mã lạ", "phone": "12345", "facility_type": "khong_ro", "channel": "=web"},
)
ELIGIBILITY = {
    "verdicts": [
        "not a verdict first",
        {"programme_id": "may_moc_thiet_bi", "outcome": "likely_eligible"},
        {"programme_name": "Hội chợ", "outcome": "needs_review"},
        {"outcome": "unknown_outcome", "outside_province": "Tỉnh Khác"},
        {"name": "Tên riêng", "programme_id": "x", "outcome": "needs_review"},
        "not a verdict",
        {"programme_id": "website_tmdt", "result": "likely_not_eligible"},
    ]
}


async def _rows(database: Database, *, python: bool) -> list[list[str]]:
    content = Content(CONTENT_DIR)
    query = leadlist.filtered(leadlist.LeadFilter(), ADMIN, zone=ZONE)
    options = {
        "texts": content.texts,
        "statuses": content.get(load_statuses),
        "zone": ZONE,
        "names": {1: "admin"},
    }
    source = export._python_rows if python else export.rows
    found: list[list[str]] = []
    async for batch in source(database, query, **options):  # type: ignore[operator]
        found += [["" if cell is None else str(cell) for cell in row] for row in batch]
    return found


async def test_sql_cells_match_the_python_cells(database: Database) -> None:
    await make_account(database, "admin", admin=True)
    for number, extra in enumerate(AWKWARD, start=1):
        await make_lead(database, code=f"KC-2026-{number:06d}", **extra)  # type: ignore[arg-type]
    async with database.transaction() as session:
        await session.execute(
            update(Lead)
            .where(Lead.id == 1)
            .values(
                eligibility=ELIGIBILITY,
                support_kinds=["website", "machinery", "khac_la"],
                assignee_id=1,
            )
        )
    async with database.transaction() as session:
        await session.execute(
            update(Lead)
            .where(Lead.id == 2)
            .values(eligibility={"verdicts": [{"outcome": "x", "outside_province": "Tỉnh Xa"}]})
        )
    expected = await _rows(database, python=True)
    got = await _rows(database, python=False)
    assert len(got) == len(AWKWARD)
    assert got == expected
    cells = [cell for row in got for cell in row]
    assert '\'=HYPERLINK("x")' in cells and "'\tTab" in cells and "'@cmd" in cells
    assert any(cell.startswith("⚠️") and "Tỉnh Xa" in cell for cell in cells)
    assert "024 3823 4567" in cells and "0292 382 1234" in cells and "0912 345 678" in cells


async def test_the_streamed_csv_holds_the_same_cells(database: Database) -> None:
    """On PostgreSQL the rows come from COPY; on SQLite from csv.writer: same cells."""
    import csv
    import io

    await make_account(database, "admin", admin=True)
    for number, extra in enumerate(AWKWARD, start=1):
        await make_lead(database, code=f"KC-2026-{number:06d}", **extra)  # type: ignore[arg-type]
    content = Content(CONTENT_DIR)
    query = leadlist.filtered(leadlist.LeadFilter(), ADMIN, zone=ZONE)
    chunks = [
        chunk
        async for chunk in export.csv_stream(
            database,
            query,
            texts=content.texts,
            statuses=content.get(load_statuses),
            zone=ZONE,
            names={},
        )
    ]
    body = b"".join(chunks)
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0] == export.header(content.texts)
    assert table[1:] == await _rows(database, python=True)
