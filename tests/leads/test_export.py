"""Staff export: CSV with BOM, XLSX through openpyxl, formula cells neutralised, filters."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.core.content import Content
from bot.leads.export import export_leads, neutralise
from storage import Database
from tests.conftest import CONTENT_DIR
from tests.leads.conftest import load_leads

BOM = b"\xef\xbb\xbf"


async def test_csv_starts_with_the_bom_and_reads_back(database: Database, tmp_path: Path) -> None:
    await load_leads(database)
    out = tmp_path / "leads.csv"
    count = await export_leads(database, fmt="csv", out=out, content=Content(CONTENT_DIR))
    assert count == 3
    raw = out.read_bytes()
    assert raw.startswith(BOM)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["Mã hồ sơ", "Ngày đăng ký", "Trạng thái", "Họ tên", "Số điện thoại"]
    assert rows[1][3] == '\'=HYPERLINK("http://x")'
    assert rows[1][4] == "0912 345 678"
    assert rows[1][10] == "'-máy trộn bột"
    assert rows[2][10] == "'@hội chợ"
    assert rows[3][10] == "'\tđào tạo"
    assert rows[2][9] == "Hội chợ, triển lãm, Website, sàn thương mại điện tử"


async def test_xlsx_opens_with_vietnamese_text_and_no_formula(
    database: Database, tmp_path: Path
) -> None:
    await load_leads(database)
    out = tmp_path / "leads.xlsx"
    assert await export_leads(database, fmt="xlsx", out=out, content=Content(CONTENT_DIR)) == 3
    sheet = load_workbook(out).active
    assert sheet is not None
    assert sheet.title == "Nhu cầu đăng ký"
    header = [cell.value for cell in sheet[1]]
    assert header[3] == "Họ tên" and header[11] == "Kinh phí dự kiến (đồng)"
    name = sheet.cell(row=2, column=4)
    assert name.value == '\'=HYPERLINK("http://x")' and name.data_type == "s"
    assert sheet.cell(row=2, column=12).value == 300_000_000
    assert sheet.cell(row=3, column=3).value == "Đã liên hệ"
    assert sheet.cell(row=3, column=6).value == "Hợp tác xã dệt chiếu"
    assert sheet.cell(row=3, column=5).value == "0292 382 1234"


async def test_filters_by_status_and_since(database: Database, tmp_path: Path) -> None:
    await load_leads(database)
    out = tmp_path / "filtered.csv"
    by_status = await export_leads(
        database, fmt="csv", out=out, status=["contacted", "closed"], content=Content(CONTENT_DIR)
    )
    assert by_status == 2
    recent = await export_leads(
        database, fmt="csv", out=out, since=date(2026, 2, 1), content=Content(CONTENT_DIR)
    )
    assert recent == 1
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [row[3] for row in rows[1:]] == ["Trần Thị Hoà"]


def test_neutralise_leaves_numbers_and_plain_text() -> None:
    assert neutralise(-5) == -5
    assert neutralise("Nguyễn") == "Nguyễn"
    assert neutralise("+84912") == "'+84912"
    assert neutralise("\rx") == "'\rx"
    assert neutralise(None) is None
