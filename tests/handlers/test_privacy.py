"""Data rights: view, correct, erase (keeping anonymous statistics), and re-consent."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.messages import Conversation
from handlers import registration
from handlers.privacy import FLOW
from storage import Database
from storage.models import Consent, Lead, LeadHistory, MessageLog, OutboxMessage
from tests.handlers.leads_kit import Kit, Owner
from tests.handlers.test_registration import NAME, consent, fill_form


async def registered(kit: Kit) -> tuple[Owner, Lead]:
    owner = await kit.owner()
    await consent(owner)
    await owner.tap(await fill_form(owner))
    async with kit.database.session() as session:
        [lead] = (await session.execute(select(Lead))).scalars()
    return owner, lead


async def test_view_shows_everything_stored_in_plain_words(database: Database) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    await owner.start(FLOW)
    view = await owner.tap("privacy:view")
    assert NAME in view.text and "0912 345 678" in view.text
    assert lead.code is not None and lead.code in view.text
    assert "Đồng ý" in view.text and "2026-12" in view.text
    assert "Mới tiếp nhận" in view.text


async def test_correct_a_phone_number(database: Database) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    await owner.start(FLOW)
    pick = await owner.tap("privacy:fix")  # one lead: straight to the fields
    assert "privacy:fixfield:phone" in pick.choices
    ask = await owner.tap("privacy:fixfield:phone")
    assert ask.replies[0].request_contact
    done = await owner.say("0987 654 321")
    assert "0987 654 321" in done.text
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
        assert stored is not None and stored.phone == "+84987654321"
        history = list((await session.execute(select(LeadHistory))).scalars())
    assert history[-1].action == "corrected" and history[-1].fields == ["phone"]
    assert "0987" not in history[-1].note
    assert "Số điện thoại" in done.notices[0].message.text  # staff told which field changed
    # Issue 15 (15): staff are told by when the request must be acknowledged (Monday + 2
    # working days under Decree 356).
    assert "đến hết ngày 04/03/2026" in done.notices[0].message.text
    assert "Nghị định 356/2025/NĐ-CP" in done.notices[0].message.text


async def test_erasure_anonymises_leads_and_keeps_statistics(database: Database) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    async with database.session() as session, session.begin():
        session.add(
            MessageLog(
                identity_id=owner.identity.identity_id,
                direction="in",
                kind="text",
                text=NAME,
                created_at=kit.now,
            )
        )
    await kit.deliver(kit.outbox, first_message_id=100)  # the staff notice of the new lead
    eligibility = {"answers": {"unit_name": "Xã Phú Tâm"}}
    await owner.put(Conversation(data={"x": NAME, "eligibility": eligibility}))
    await owner.start(FLOW)
    confirm = await owner.tap("privacy:delete")
    assert confirm.choices == ["privacy:delete:yes", "privacy:delete:no"]
    done = await owner.tap("privacy:delete:yes")
    assert owner.conv.data == {} and owner.conv.flow == "menu"
    assert lead.code is not None and lead.code in done.notices[0].message.text
    assert NAME not in done.notices[0].message.text
    assert "2 ngày làm việc, đến hết ngày 04/03/2026" in done.notices[0].message.text
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
        assert stored is not None
        assert (stored.full_name, stored.phone, stored.facility_name, stored.need) == ("",) * 4
        assert (stored.status, stored.support_kinds, stored.budget) == (
            "new",
            ["machinery"],
            300_000_000,
        )
        assert stored.person_id is None
        logs = list((await session.execute(select(MessageLog))).scalars())
        assert logs == []
        outbox = list((await session.execute(select(OutboxMessage))).scalars())
        assert all(NAME not in str(row.payload) for row in outbox)
        actions = [c.action for c in (await session.execute(select(Consent))).scalars()]
    assert actions == ["consent", "withdraw"]
    again = await owner.start(registration.FLOW)
    assert again.choices[:2] == ["register:consent:yes", "register:consent:no"]


async def test_keeping_the_data_changes_nothing(database: Database) -> None:
    kit = Kit.create(database)
    owner, lead = await registered(kit)
    await owner.start(FLOW)
    await owner.tap("privacy:delete")
    home = await owner.tap("privacy:delete:no")
    assert "privacy:view" in home.choices
    async with database.session() as session:
        stored = await session.get(Lead, lead.id)
    assert stored is not None and stored.full_name == NAME


async def test_nothing_to_fix_without_leads(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    result = await owner.tap("privacy:fix")
    assert "chưa lưu hồ sơ" in result.text


async def test_notice_can_be_read_again(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    result = await owner.tap("privacy:notice")
    assert "Ai giữ thông tin" in result.text
