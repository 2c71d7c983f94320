"""The dashboard in a real browser (Debian's chromium through Playwright): an officer
signs in, filters, opens a lead, changes its status, adds a note, assigns it, exports
and opens the file, reads the statistics, and everything fits a 390 px phone.

Screenshots of each page go to ``.screenshots/dashboard/`` (git-ignored).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app.dashboard import mount_dashboard
from bot.app.web import create_app
from storage import OutboxMessage
from storage.models.leads import Lead
from tests.browser import CHROMIUM, browser_env
from tests.dashboard.kit import PASSWORD, Desk, make_account, make_lead

SHOTS = Path(__file__).resolve().parents[2] / ".screenshots" / "dashboard"
PHONE_WIDTH = 390

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)"
)


@pytest.fixture
async def server(desk: Desk) -> AsyncIterator[TestServer]:
    app = create_app(desk.engine)
    mount_dashboard(app, desk.engine)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield test_server


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], env=browser_env()
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_an_officer_works_a_lead_in_the_browser(
    server: TestServer, browser: Any, desk: Desk, tmp_path: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(desk.database, code="KC-2026-000001", full_name="Phạm Văn Cường")
    await make_lead(desk.database, code="KC-2026-000002", full_name="Đỗ Thị Dung", days_ago=3)
    base = str(server.make_url("/staff"))
    context = await browser.new_context(accept_downloads=True)
    page = await context.new_page()

    await page.goto(f"{base}/leads")
    assert page.url.startswith(f"{base}/login")
    await page.screenshot(path=str(SHOTS / "login.png"))
    await page.fill("input[name=username]", "admin")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/leads")
    await page.screenshot(path=str(SHOTS / "leads.png"), full_page=True)

    await page.fill("input[name=q]", "pham van")
    await page.click("text=Lọc")
    await page.wait_for_url("**q=pham+van**")
    assert "1 hồ sơ" in await page.inner_text("#count")
    assert await page.locator("text=Đỗ Thị Dung").count() == 0

    await page.click("text=KC-2026-000001")
    await page.wait_for_url(f"{base}/leads/{lead_id}")
    await page.select_option("#status-form select[name=status]", "contacted")
    await page.click("#status-form button")
    await page.wait_for_url("**done=status_notified")
    assert await page.inner_text("#status") == "Đã liên hệ"
    await page.fill("#note-form textarea", "Đã gọi, hẹn gặp thứ Hai.")
    await page.click("#note-form button")
    await page.wait_for_url("**done=note")
    assert "hẹn gặp thứ Hai" in await page.inner_text("#history")
    await page.select_option("#assign-form select", "me")
    await page.click("#assign-form button")
    await page.wait_for_url("**done=assign")
    assert await page.inner_text("#assignee") == "admin"
    await page.screenshot(path=str(SHOTS / "lead.png"), full_page=True)

    await page.goto(f"{base}/leads?status=contacted")
    async with page.expect_download() as waiting:
        await page.click("#export-csv")
    download = await waiting.value
    saved = tmp_path / "leads.csv"
    await download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and "Phạm Văn Cường" in rows[1]
    async with page.expect_download() as waiting:
        await page.click("#export-xlsx")
    workbook_path = tmp_path / "leads.xlsx"
    await (await waiting.value).save_as(workbook_path)
    import openpyxl

    sheet = openpyxl.load_workbook(workbook_path).active
    assert sheet is not None and sheet.max_row == 2

    await page.goto(f"{base}/stats")
    for chart in ("chart-funnel", "chart-status", "chart-ward", "chart-programme", "chart-week"):
        assert await page.locator(f"#{chart} svg rect").count() >= 1, chart
        assert await page.locator(f"#{chart} table tr").count() >= 2, chart
    await page.screenshot(path=str(SHOTS / "stats.png"), full_page=True)

    phone = await browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": 844}, storage_state=await context.storage_state()
    )
    small = await phone.new_page()
    for name, path in (
        ("leads", "/leads"),
        ("lead", f"/leads/{lead_id}"),
        ("stats", "/stats"),
        ("audit", "/audit"),
    ):
        await small.goto(f"{base}{path}")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, (name, width)
        await small.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)
    await phone.close()
    await context.close()

    async with desk.database.transaction() as session:
        lead = await session.get(Lead, lead_id)
        notices = list((await session.execute(select(OutboxMessage))).scalars())
    assert lead is not None and lead.status == "contacted" and lead.assignee_id is not None
    assert len(notices) == 1  # the owner is told of "contacted"
