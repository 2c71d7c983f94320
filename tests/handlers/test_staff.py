"""Staff commands: status changes (owner told when configured), notes, lead view, help."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.messages import EventKind
from handlers import myleads
from storage import Database
from storage.models import Lead, LeadHistory
from tests.handlers.leads_kit import Kit, staff_event
from tests.handlers.test_privacy import registered


async def test_status_change_appends_history_and_tells_the_owner(database: Database) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    code = str(lead.code)
    typed = code.lower().replace("-", "")  # staff may type it loosely
    result = await staff_event(
        kit, "trangthai", kind=EventKind.COMMAND, args=f"{typed} lienhe đã gọi, hẹn thứ Hai"
    )
    assert "Đã liên hệ" in result.text and "Đã nhắn" in result.text
    [notice] = result.notices
    assert notice.chat_id == owner.identity.chat_id and notice.topic == f"status:{lead.id}"
    assert code in notice.message.text
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
        history = list(
            (await session.execute(select(LeadHistory).order_by(LeadHistory.id))).scalars()
        )
    assert stored is not None and stored.status == "contacted"
    assert (history[-1].action, history[-1].old_status, history[-1].new_status) == (
        "status",
        "new",
        "contacted",
    )
    assert history[-1].note == "đã gọi, hẹn thứ Hai"
    assert history[-1].actor == "telegram:canbo"
    listing = await owner.start(myleads.FLOW)
    assert "Đã liên hệ" in listing.text
    detail = await owner.tap(f"myleads:view:{lead.id}")
    assert "Mới tiếp nhận" in detail.text and "Đã liên hệ" in detail.text


async def test_a_status_without_notification_stays_silent(database: Database) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    await staff_event(kit, "trangthai", kind=EventKind.COMMAND, args=f"{lead.code} contacted")
    back = await staff_event(kit, "trangthai", kind=EventKind.COMMAND, args=f"{lead.code} new")
    assert back.notices == [] and "Mới tiếp nhận" in back.text


async def test_unknown_status_and_code_are_explained(database: Database) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    status = await staff_event(kit, "trangthai", kind=EventKind.COMMAND, args=f"{lead.code} xyz")
    assert "dossier_prepared" in status.text
    code = await staff_event(kit, "trangthai", kind=EventKind.COMMAND, args="KC-2026-999999 new")
    assert "Không tìm thấy hồ sơ" in code.text
    helping = await staff_event(kit, "abc", kind=EventKind.COMMAND)
    assert "/trangthai" in helping.text


async def test_note_and_show(database: Database) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    noted = await staff_event(
        kit, "ghichu", kind=EventKind.COMMAND, args=f"{lead.code} gọi lại sau"
    )
    assert "ghi chú" in noted.text
    shown = await staff_event(kit, "hoso", kind=EventKind.COMMAND, args=str(lead.code))
    assert "Nguyễn Thị Bích" in shown.text and "0912 345 678" in shown.text


async def test_staff_chatter_is_ignored(database: Database) -> None:
    kit = Kit.create(database)
    result = await staff_event(kit, "chào mọi người", kind=EventKind.TEXT)
    assert result.replies == [] and result.notices == []


async def test_owner_sees_only_their_own_leads(database: Database) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    stranger = await kit.owner(user_id="777")
    empty = await stranger.start(myleads.FLOW)
    assert "chưa có hồ sơ" in empty.text
    peek = await stranger.tap(f"myleads:view:{lead.id}")
    assert "Nguyễn Thị Bích" not in peek.text
