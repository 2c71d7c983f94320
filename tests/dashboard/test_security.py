"""The dashboard's guards: sessions on every route, CSRF, escaping, scope, throttling."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app.dashboard.auth import PUBLIC_ROUTES
from storage.models.leads import Lead, LeadHistory
from storage.models.staff import AuditEvent
from tests.dashboard.kit import Desk, csrf_of, login, make_account, make_lead

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil","bấm")'


def _sample(route_path: str) -> str:
    """A concrete URL for a route pattern (``{lead_id}`` → 1…)."""
    path = re.sub(r"\{(lead|broadcast)_id[^}]*\}", "1", route_path)
    path = re.sub(r"\{action[^}]*\}", "note", path)
    path = re.sub(r"\{fmt[^}]*\}", "csv", path)
    return path.replace("{filename:.*}", "dashboard.css")


async def test_every_route_without_a_session_goes_to_login(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_lead(desk.database, code="KC-2026-000001")
    dashboard = client.app._subapps[0]  # the /staff sub-application
    checked = 0
    for route in dashboard.router.routes():
        if route.name in PUBLIC_ROUTES or route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        pattern = info.get("path") or info.get("formatter") or ""
        url = _sample(pattern)
        assert url.startswith("/staff/"), url
        response = await client.request(route.method, url, allow_redirects=False)
        assert response.status == 303, (route.method, url, response.status)
        assert response.headers["Location"].startswith("/staff/login"), url
        checked += 1
    assert checked >= 12


async def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(desk.database, code="KC-2026-000001")
    assert (await login(client, "admin")).status == 303
    for data in ({"status": "contacted"}, {"status": "contacted", "csrf": "forged"}):
        response = await client.post(f"/staff/leads/{lead_id}/status", data=data)
        assert response.status == 403
    async with desk.database.transaction() as session:
        lead = await session.get(Lead, lead_id)
        assert lead is not None and lead.status == "new"
        count = await session.scalar(select(func.count()).select_from(LeadHistory))
        assert count == 0
    # The login form itself refuses a post without its token.
    await client.post("/staff/logout", data={"csrf": await csrf_of(client, "/staff/leads")})
    response = await client.post(
        "/staff/login", data={"username": "admin", "password": "x"}, allow_redirects=False
    )
    assert response.status == 403


async def test_owner_text_is_escaped_on_every_page(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(
        desk.database,
        code="KC-2026-000001",
        full_name=XSS,
        facility_name=XSS,
        products=XSS,
        need=XSS,
        commune_name=XSS,
    )
    assert (await login(client, "admin")).status == 303
    token = await csrf_of(client, f"/staff/leads/{lead_id}")
    await client.post(f"/staff/leads/{lead_id}/note", data={"csrf": token, "note": XSS})
    for path in (
        "/staff/leads",
        f"/staff/leads?q={XSS}",
        f"/staff/leads/{lead_id}",
        "/staff/stats",
        "/staff/audit",
    ):
        html = await (await client.get(path)).text()
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
    html = await (await client.get(f"/staff/leads/{lead_id}")).text()
    assert "&lt;script&gt;" in html


async def test_formula_cells_are_neutralised_in_both_exports(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    await make_lead(desk.database, code="KC-2026-000001", full_name=FORMULA, need="+1+1")
    assert (await login(client, "admin")).status == 303
    body = await (await client.get("/staff/leads/export.csv")).read()
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    cells = [cell for row in table[1:] for cell in row]
    assert "'" + FORMULA in cells and "'+1+1" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    data = await (await client.get("/staff/leads/export.xlsx")).read()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert "'" + FORMULA in values
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@")) for v in values)


async def test_a_ward_scoped_officer_cannot_reach_other_wards(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "lan", wards=["00001"])
    mine = await make_lead(desk.database, code="KC-2026-000001", commune_code="00001")
    other = await make_lead(
        desk.database, code="KC-2026-000002", commune_code="00099", full_name="Trần Thị Khác"
    )
    assert (await login(client, "lan")).status == 303
    listing = await (await client.get("/staff/leads")).text()
    assert "KC-2026-000001" in listing and "KC-2026-000002" not in listing
    assert (await client.get(f"/staff/leads/{mine}")).status == 200
    assert (await client.get(f"/staff/leads/{other}")).status == 404
    exported = (await (await client.get("/staff/leads/export.csv?ward=00099")).read()).decode()
    assert "KC-2026-000002" not in exported and "Trần Thị Khác" not in exported
    token = await csrf_of(client, "/staff/leads")
    for action, data in (
        ("status", {"status": "contacted"}),
        ("note", {"note": "x"}),
        ("assign", {"assignee": "me"}),
        ("reply", {"text": "x"}),
    ):
        response = await client.post(
            f"/staff/leads/{other}/{action}", data={"csrf": token, **data}
        )
        assert response.status == 404, action
    await client.post(
        "/staff/leads/bulk",
        data={"csrf": token, "lead": str(other), "action": "status", "status": "closed"},
    )
    async with desk.database.transaction() as session:
        lead = await session.get(Lead, other)
        assert lead is not None and lead.status == "new" and lead.assignee_id is None
    assert (await client.get("/staff/audit")).status == 404  # admins only


async def test_login_throttling_holds_even_with_the_right_password(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    for _ in range(5):
        assert (await login(client, "admin", "wrong-password")).status == 401
    response = await login(client, "admin")
    assert response.status == 429
    assert "15 phút" in await response.text()
    assert "kc_staff" not in {cookie.key for cookie in client.session.cookie_jar}


async def test_login_throttling_per_address(client: TestClient[Any, Any], desk: Desk) -> None:
    await make_account(desk.database, "admin", admin=True)
    for number in range(20):
        await login(client, f"guess{number}", "wrong-password")
    assert (await login(client, "admin")).status == 429


async def test_session_expires_after_idle_time(
    client: TestClient[Any, Any], desk: Desk, clock: Any
) -> None:
    from datetime import timedelta

    await make_account(desk.database, "admin", admin=True)
    assert (await login(client, "admin")).status == 303
    assert (await client.get("/staff/leads", allow_redirects=False)).status == 200
    clock.advance(timedelta(hours=9))
    response = await client.get("/staff/leads", allow_redirects=False)
    assert response.status == 303


async def test_cookies_are_http_only_and_same_site(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    response = await login(client, "admin")
    cookie = response.cookies["kc_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/staff"


async def test_the_audit_log_records_dashboard_changes(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(desk.database, code="KC-2026-000001")
    assert (await login(client, "admin")).status == 303
    token = await csrf_of(client, f"/staff/leads/{lead_id}")
    for action, data in (
        ("status", {"status": "contacted"}),
        ("assign", {"assignee": "me"}),
        ("note", {"note": "Đã gọi"}),
    ):
        await client.post(f"/staff/leads/{lead_id}/{action}", data={"csrf": token, **data})
    async with desk.database.transaction() as session:
        events = list((await session.execute(select(AuditEvent))).scalars())
    by_action = {event.action: event for event in events}
    assert by_action["status"].before == {"status": "new"}
    assert by_action["status"].after == {"status": "contacted"}
    assert by_action["assign"].actor == "admin" and by_action["assign"].via == "web"
    assert "note" in by_action and "login" in by_action
    exported = (await (await client.get("/staff/audit.csv")).read()).decode("utf-8-sig")
    assert "contacted" in exported
