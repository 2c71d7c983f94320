"""Broadcasts in the dashboard: compose with filters, a preview filled for a real recipient
and the audience count, role checks (staff compose and test, admins send, approve, pause,
cancel), CSRF, the progress bar and the report."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from storage.models import OutboxMessage
from storage.models.broadcasts import Broadcast, BroadcastDelivery
from storage.models.staff import StaffIdentity
from tests.broadcasts.seed import load_fixture, seed_people
from tests.dashboard.kit import Desk, csrf_of, login, make_account
from tests.harness import TEST_NOW

FIXTURE = load_fixture("audience.yaml")


async def _switch(client: TestClient[Any, Any], username: str) -> None:
    token = await csrf_of(client, "/staff/broadcasts")
    await client.post("/staff/logout", data={"csrf": token}, allow_redirects=False)
    assert (await login(client, username)).status == 303


async def test_compose_preview_roles_send_pause_cancel(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    await seed_people(desk.database, FIXTURE["people"], now=TEST_NOW)
    await make_account(desk.database, "lan", admin=True)
    officer = await make_account(desk.database, "minh")
    assert (await login(client, "minh")).status == 303
    token = await csrf_of(client, "/staff/broadcasts")
    page = await (await client.get("/staff/broadcasts")).text()
    assert 'id="compose"' in page and "Hội chợ, triển lãm" in page
    bad = await client.post(
        "/staff/broadcasts", data={"csrf": token, "body": "Xin chào {{ name", "topics": "all"}
    )
    assert bad.status == 400 and "lỗi mẫu" in await bad.text()
    composed = await client.post(
        "/staff/broadcasts",
        data={
            "csrf": token,
            "title": "Hội chợ tháng 5",
            "body": "Kính gửi {{ name }} ở {{ ward }}: hội chợ mở đăng ký.",
            "topics": "trade_fair",
            "buttons": "register",
        },
        allow_redirects=False,
    )
    assert composed.status == 303
    location = composed.headers["Location"]
    detail = await (await client.get(location)).text()
    assert "Kính gửi Nguyễn Văn An ở Phường Hoàn Kiếm: hội chợ mở đăng ký." in detail
    assert "<strong>5</strong> chủ cơ sở" in detail
    assert "Đăng ký nhận hỗ trợ" in detail and "Ngừng nhận thông báo" in detail
    assert 'id="do-send"' not in detail  # an officer without admin rights cannot start it
    forbidden = await client.post(f"{location}/send", data={"csrf": token})
    assert forbidden.status == 403
    not_linked = await client.post(f"{location}/test", data={"csrf": token})
    assert "chưa liên kết" in await not_linked.text()
    async with desk.database.transaction() as session:
        session.add(
            StaffIdentity(
                account_id=officer, channel="telegram", user_id="777", linked_at=TEST_NOW
            )
        )
    tested = await client.post(f"{location}/test", data={"csrf": token})
    assert "Đã gửi thử" in await tested.text()
    no_csrf = await client.post(f"{location}/test", data={})
    assert no_csrf.status == 403
    await _switch(client, "lan")
    token = await csrf_of(client, location)
    started = await (await client.post(f"{location}/send", data={"csrf": token})).text()
    assert "Đã bắt đầu gửi" in started and 'id="progress" value="0"' in started
    paused = await (await client.post(f"{location}/pause", data={"csrf": token})).text()
    assert "Tạm dừng" in paused
    await client.post(f"{location}/cancel", data={"csrf": token})
    listing = await (await client.get("/staff/broadcasts")).text()
    assert "Hội chợ tháng 5" in listing and "Đã huỷ" in listing
    async with desk.database.transaction() as session:
        deliveries = await session.scalar(select(func.count()).select_from(BroadcastDelivery))
        broadcast = await session.get(Broadcast, 1)
        tests = list(
            (
                await session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == "777"))
            ).scalars()
        )
    assert deliveries == 5
    assert broadcast is not None and broadcast.created_by == f"staff:{officer}"
    assert broadcast.status == "cancelled"
    assert len(tests) == 1 and "Kính gửi anh/chị" in tests[0].payload["text"]


async def test_a_second_admin_approves_when_approval_is_required(
    client: TestClient[Any, Any], desk: Desk
) -> None:
    desk.engine.settings.broadcast_approval_required = True
    await seed_people(desk.database, FIXTURE["people"], now=TEST_NOW)
    await make_account(desk.database, "lan", admin=True)
    await make_account(desk.database, "hoa", admin=True)
    assert (await login(client, "lan")).status == 303
    token = await csrf_of(client, "/staff/broadcasts")
    composed = await client.post(
        "/staff/broadcasts",
        data={"csrf": token, "body": "Lớp tập huấn tháng 6.", "topics": "training"},
        allow_redirects=False,
    )
    location = composed.headers["Location"]
    waiting = await (await client.post(f"{location}/send", data={"csrf": token})).text()
    assert "chờ duyệt" in waiting and 'id="do-approve"' not in waiting
    assert (await client.post(f"{location}/approve", data={"csrf": token})).status == 403
    await _switch(client, "hoa")
    token = await csrf_of(client, location)
    approved = await (await client.post(f"{location}/approve", data={"csrf": token})).text()
    assert "Đã bắt đầu gửi" in approved
