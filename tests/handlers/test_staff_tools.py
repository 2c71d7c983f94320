"""Staff tools in the staff chat: linking, role and scope checks, /leads, /lead, /tim,
the lead card's buttons, and the audit log of what was done from chat."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.messages import EventKind
from bot.staff.accounts import add_account, new_link_code
from storage import Database
from storage.models.leads import Lead
from storage.models.staff import AuditEvent, StaffAccount
from tests.handlers.leads_kit import Kit, staff_event
from tests.handlers.test_privacy import registered


async def test_a_chat_member_who_is_not_staff_is_refused(database: Database) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    for name, args in (
        ("trangthai", f"{lead.code} lienhe"),
        ("ghichu", f"{lead.code} x"),
        ("hoso", str(lead.code)),
        ("leads", ""),
        ("lead", str(lead.code)),
        ("tim", "0912"),
    ):
        result = await staff_event(kit, name, kind=EventKind.COMMAND, args=args, linked=False)
        assert "/lienket" in result.text and result.notices == [], name
    tapped = await staff_event(
        kit, f"staff:st:{lead.id}:contacted", kind=EventKind.CHOICE, linked=False
    )
    assert "/lienket" in tapped.text
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
    assert stored is not None and stored.status == "new"


async def test_linking_by_one_time_code_then_working_a_lead_by_buttons(
    database: Database,
) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    await add_account(database, "lan", now=kit.now)
    async with database.session() as session:
        account = (
            await session.execute(select(StaffAccount).where(StaffAccount.username == "lan"))
        ).scalar_one()
    code = await new_link_code(database, account.id, now=kit.now)
    wrong = await staff_event(
        kit, "lienket", kind=EventKind.COMMAND, args="00000000", linked=False
    )
    assert "không đúng" in wrong.text
    linked = await staff_event(kit, "lienket", kind=EventKind.COMMAND, args=code, linked=False)
    assert "Đã liên kết" in linked.text
    again = await staff_event(kit, "lienket", kind=EventKind.COMMAND, args=code + " ")
    assert "không đúng" in again.text  # used once

    listing = await staff_event(kit, "leads", kind=EventKind.COMMAND)
    assert str(lead.code) in listing.text
    card = await staff_event(kit, "lead", kind=EventKind.COMMAND, args=str(lead.code))
    assert f"staff:mine:{lead.id}" in card.choices
    mine = await staff_event(kit, f"staff:mine:{lead.id}", kind=EventKind.CHOICE)
    assert "Đã giao" in mine.text
    contacted = await staff_event(kit, f"staff:st:{lead.id}:contacted", kind=EventKind.CHOICE)
    assert "đã nhắn cho người đăng ký" in contacted.text
    [notice] = contacted.notices
    assert notice.chat_id == owner.identity.chat_id
    found = await staff_event(kit, "tim", kind=EventKind.COMMAND, args="nguyen thi bich")
    assert str(lead.code) in found.text
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
        events = list((await session.execute(select(AuditEvent))).scalars())
    assert stored is not None and stored.status == "contacted"
    assert stored.assignee_id == account.id
    actions = [(event.actor, event.via, event.action) for event in events]
    assert ("lan", "telegram", "link") in actions
    assert ("lan", "telegram", "assign") in actions
    assert ("lan", "telegram", "status") in actions


async def test_a_ward_scoped_officer_cannot_touch_other_wards_from_chat(
    database: Database,
) -> None:
    kit = Kit.create(database)
    _, lead = await registered(kit)
    shown = await staff_event(
        kit, "hoso", kind=EventKind.COMMAND, args=str(lead.code), wards=("99999",)
    )
    assert "Không tìm thấy" in shown.text
    for args in (f"{lead.code} lienhe",):
        changed = await staff_event(kit, "trangthai", kind=EventKind.COMMAND, args=args)
        assert "Không tìm thấy" in changed.text
    tapped = await staff_event(kit, f"staff:st:{lead.id}:contacted", kind=EventKind.CHOICE)
    assert "Không tìm thấy" in tapped.text
    listing = await staff_event(kit, "leads", kind=EventKind.COMMAND)
    assert str(lead.code) not in listing.text
    found = await staff_event(kit, "tim", kind=EventKind.COMMAND, args=str(lead.code))
    assert str(lead.code) not in found.text.split("»", 1)[1]
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
    assert stored is not None and stored.status == "new"


async def test_unlinked_members_cannot_answer_or_close_a_handoff(database: Database) -> None:
    from tests.handlers.test_handoff import talking

    kit = Kit.create(database)
    owner, handoff_id = await talking(kit)
    first = await owner.say("Máy sấy có được hỗ trợ không ạ?")
    [message_id] = await kit.deliver(first.notices, first_message_id=700)
    reply = await staff_event(
        kit, "Chào anh", kind=EventKind.TEXT, reply_to=message_id, linked=False
    )
    assert "/lienket" in reply.text and reply.notices == []
    closed = await staff_event(
        kit, "dong", kind=EventKind.COMMAND, args=f"HT-{handoff_id}", linked=False
    )
    assert "/lienket" in closed.text and closed.notices == []
