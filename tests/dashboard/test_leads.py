"""Working the leads from the dashboard: filters, pages, owner notices, bulk, CLI."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app.cli import main
from storage import OutboxMessage
from storage.models.leads import Lead
from tests.dashboard.kit import Desk, csrf_of, login, make_account, make_lead


async def test_filters_text_search_and_keyset_pages(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    for number in range(1, 56):
        await make_lead(
            desk.database,
            code=f"KC-2026-{number:06d}",
            full_name="Lê Thị Bình" if number == 7 else "Nguyễn Văn An",
            status="contacted" if number % 5 == 0 else "new",
            days_ago=number,
        )
    assert (await login(client, "admin")).status == 303
    first = await (await client.get("/staff/leads")).text()
    assert "55 hồ sơ" in first and "KC-2026-000001" in first and "KC-2026-000051" not in first
    assert 'rel="next"' in first
    cursor = first.split('href="/staff/leads?', 2)[-1].split('"', 1)[0].replace("&amp;", "&")
    second = await (await client.get(f"/staff/leads?{cursor}")).text()
    assert "KC-2026-000051" in second and "KC-2026-000001" not in second
    found = await (await client.get("/staff/leads?q=le+thi+binh")).text()
    assert "1 hồ sơ" in found and "KC-2026-000007" in found
    by_phone = await (await client.get("/staff/leads?q=0912345678&status=contacted")).text()
    assert "11 hồ sơ" in by_phone


async def test_status_change_tells_the_owner_as_statuses_yaml_says(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await make_account(desk.database, "admin", admin=True)
    lead_id = await make_lead(desk.database, code="KC-2026-000001")
    assert (await login(client, "admin")).status == 303
    token = await csrf_of(client, f"/staff/leads/{lead_id}")
    response = await client.post(
        f"/staff/leads/{lead_id}/status", data={"csrf": token, "status": "contacted"}
    )
    assert "người đăng ký sẽ nhận tin báo" in await response.text()
    await client.post(
        f"/staff/leads/{lead_id}/reply", data={"csrf": token, "text": "Chiều nay tôi gọi lại."}
    )
    async with desk.database.transaction() as session:
        notices = list((await session.execute(select(OutboxMessage))).scalars())
        lead = await session.get(Lead, lead_id)
    assert lead is not None and lead.status == "contacted"
    assert [n.chat_id for n in notices] == ["owner-KC-2026-000001"] * 2
    assert "KC-2026-000001" in notices[0].payload["text"]
    assert "Chiều nay tôi gọi lại." in notices[1].payload["text"]


async def test_bulk_assign_and_status(client: TestClient[Any, Any], desk: Desk) -> None:
    admin = await make_account(desk.database, "admin", admin=True)
    ids = [await make_lead(desk.database, code=f"KC-2026-00000{n}") for n in (1, 2, 3)]
    assert (await login(client, "admin")).status == 303
    token = await csrf_of(client, "/staff/leads")
    chosen = [("lead", str(i)) for i in ids[:2]]
    await client.post(
        "/staff/leads/bulk",
        data=[("csrf", token), *chosen, ("action", "assign"), ("assignee", "me")],
    )
    response = await client.post(
        "/staff/leads/bulk",
        data=[("csrf", token), *chosen, ("action", "status"), ("status", "closed")],
    )
    assert "Đã cập nhật 2 hồ sơ" in await response.text()
    async with desk.database.transaction() as session:
        leads = {lead.id: lead for lead in (await session.execute(select(Lead))).scalars()}
    assert [leads[i].assignee_id for i in ids] == [admin, admin, None]
    assert [leads[i].status for i in ids] == ["closed", "closed", "new"]


async def test_first_login_with_the_one_time_password_forces_a_new_one(
    client: TestClient[Any, Any], desk: Desk, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(desk.database.url))
    assert await _cli(["staff", "add", "chi", "--admin"]) == 0
    password = capsys.readouterr().out.split("one-time password: ", 1)[1].split()[0]
    response = await login(client, "chi", password)
    assert response.status == 303
    page = await client.get("/staff/leads")
    assert str(page.url).endswith("/staff/password")
    token = await csrf_of(client, "/staff/password")
    new = "mot-mat-khau-moi-dai"
    await client.post(
        "/staff/password", data={"csrf": token, "current": password, "new": new, "again": new}
    )
    assert str((await client.get("/staff/leads")).url).endswith("/staff/leads")
    assert await _cli(["staff", "list"]) == 0
    assert "chi\tadmin\tactive" in capsys.readouterr().out
    assert await _cli(["staff", "remove", "chi"]) == 0
    assert str((await client.get("/staff/leads")).url).endswith("/staff/login?next=/staff/leads")


async def _cli(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)
