from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.dashboard.kit import Desk, login, make_account, make_lead


async def test_smoke(client: TestClient[Any, Any], desk: Desk) -> None:
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(desk.database, code="KC-2026-000001")
    response = await login(client, "admin")
    assert response.status == 303, await response.text()
    for path in (
        "/staff/leads",
        f"/staff/leads/{lead_id}",
        "/staff/stats",
        "/staff/audit",
        "/staff/link",
        "/staff/leads/export.csv",
        "/staff/leads/export.xlsx",
        "/staff/audit.csv",
    ):
        page = await client.get(path)
        assert page.status == 200, (path, (await page.read())[:3000])
