"""Registration: consent first, the form, one lead per confirmation, staff notified."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core.messages import Conversation
from handlers.registration import FLOW
from storage import Database
from storage.models import Consent, Lead, LeadHistory
from tests.handlers.leads_kit import STAFF_CHAT, Kit, Owner

NAME = "Nguyễn Thị Bích"
PHONE_TYPED = "0912 345 678"
PHONE = "+84912345678"
ELIGIBILITY = {
    "answers": {
        "facility_type": "ho_kinh_doanh",
        "unit_code": "31471",
        "unit_name": "Xã Phú Tâm",
        "products": "bánh pía",
        "support_wanted": "may_moc_thiet_bi",
        "machine_cost": 400_000_000,
    },
    "verdicts": [{"programme": "may_moc_thiet_bi", "outcome": "likely_eligible"}],
    "evaluated_on": "2026-03-01",
}


async def count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def consent(owner: Owner) -> None:
    await owner.start(FLOW)
    await owner.tap("register:consent:yes")


async def fill_form(owner: Owner, *, need: str = "cần máy trộn bột") -> str:
    """Answer every question from a blank draft; the draft id of the summary."""
    await owner.say(NAME)
    await owner.say(PHONE_TYPED)
    await owner.say("Cơ sở bánh pía Bích")
    await owner.tap("register:type:ho_kinh_doanh")
    await owner.say("Phú Tâm")
    await owner.say("bánh pía, lạp xưởng")
    await owner.tap("register:kind:machinery")
    await owner.tap("register:kinds_done")
    await owner.say(need)
    await owner.say("300 triệu")
    summary = await owner.tap("register:call:morning")
    assert owner.conv.step == "summary"
    [confirm] = [choice for choice in summary.choices if choice.startswith("register:ok:")]
    return confirm


async def test_the_notice_comes_first_with_two_unselected_buttons(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    result = await owner.start(FLOW)
    assert "Quyền của anh/chị" in result.text
    assert "Trung tâm Khuyến công" in result.text
    assert "24 tháng" in result.text
    assert result.choices[:2] == ["register:consent:yes", "register:consent:no"]
    assert owner.conv.step == "consent"


async def test_nothing_personal_is_stored_before_consent(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    result = await owner.say(f"{NAME} {PHONE_TYPED}")
    assert result.choices[:2] == ["register:consent:yes", "register:consent:no"]
    assert NAME not in owner.stored() and "0912" not in owner.stored()
    assert await count(database, Lead) == 0
    assert await count(database, Consent) == 0


async def test_refusal_is_recorded_and_policies_stay_open(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    result = await owner.tap("register:consent:no")
    assert {"policies:start", "eligibility:start", "menu:main"} <= set(result.choices)
    assert "không lưu" in result.text
    assert owner.conv.flow == "menu"
    assert "register" not in owner.conv.data
    async with database.session() as session:
        [record] = (await session.execute(select(Consent))).scalars()
    assert (record.action, record.purpose, record.notice_version, record.channel) == (
        "refuse",
        "lead",
        "2026-12",
        "telegram",
    )
    assert record.person_id == owner.identity.person_id
    assert await count(database, Lead) == 0


async def test_full_registration_creates_one_lead_and_tells_staff(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    confirm = await fill_form(owner)
    done = await owner.tap(confirm)
    async with database.session() as session:
        [lead] = (await session.execute(select(Lead))).scalars()
    assert lead.code == f"KC-2026-{lead.id:06d}"
    assert lead.code in done.text
    assert (lead.full_name, lead.phone, lead.support_kinds) == (NAME, PHONE, ["machinery"])
    assert (lead.budget, lead.call_time, lead.commune_name) == (
        300_000_000,
        "morning",
        "Xã Phú Tâm",
    )
    assert lead.commune_code == "31569"  # the typed commune is stored as the official unit
    assert (lead.channel, lead.identity_id) == ("telegram", owner.identity.identity_id)
    assert lead.notice_version == "2026-12"
    [notice] = done.notices
    assert (notice.channel, notice.chat_id) == STAFF_CHAT
    assert notice.topic == f"lead:{lead.id}"
    assert NAME in notice.message.text and "0912 345 678" in notice.message.text
    assert owner.conv.flow == "menu" and "register" not in owner.conv.data
    again = await owner.tap(confirm)  # a double tap after the commit
    assert lead.code in again.text and again.notices == []
    assert await count(database, Lead) == 1
    assert await count(database, LeadHistory) == 1


async def test_double_confirmation_before_state_is_saved_gives_one_lead(
    database: Database,
) -> None:
    """A redelivered update finds the old state (draft still there): still one lead."""
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    confirm = await fill_form(owner)
    saved = owner.conv
    first = await owner.tap(confirm)
    await owner.put(saved)  # the second delivery starts from the state before the first
    second = await owner.tap(confirm)
    assert await count(database, Lead) == 1
    assert len(first.notices) == 1 and second.notices == []


async def test_same_phone_and_support_updates_the_open_lead(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    await owner.tap(await fill_form(owner))
    await owner.start(FLOW)  # consent is remembered: straight to the form
    assert owner.conv.step == "ask:facility_type"  # name, phone, facility reused
    await owner.tap("register:type:ho_kinh_doanh")
    await owner.say("Phú Tâm")
    await owner.say("bánh pía")
    await owner.tap("register:kind:machinery")
    await owner.tap("register:kinds_done")
    await owner.say("thêm máy đóng gói")
    await owner.tap("register:skip:budget")
    summary = await owner.tap("register:call:any")
    [confirm] = [choice for choice in summary.choices if choice.startswith("register:ok:")]
    updated = await owner.tap(confirm)
    assert "cập nhật" in updated.text
    async with database.session() as session:
        [lead] = (await session.execute(select(Lead))).scalars()
        actions = [
            row.action
            for row in (
                await session.execute(select(LeadHistory).order_by(LeadHistory.id))
            ).scalars()
        ]
    assert lead.need == "thêm máy đóng gói" and lead.budget is None
    assert actions == ["created", "updated"]
    assert "Cập nhật hồ sơ" in updated.notices[0].message.text


async def test_eligibility_answers_are_reused_not_asked_again(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.put(Conversation(data={"eligibility": ELIGIBILITY}))
    await owner.start(FLOW, "register:start:may_moc_thiet_bi")
    await owner.tap("register:consent:yes")
    await owner.say(NAME)
    await owner.say(PHONE_TYPED)
    asked = await owner.say("Cơ sở Bích")
    assert owner.conv.step == "ask:need"  # type, commune, products and kinds were known
    assert "mô tả ngắn" in asked.text
    await owner.say("máy nướng bánh")
    summary = await owner.tap("register:call:afternoon")  # budget = machine cost
    assert "400 triệu đồng" in summary.text and "Xã Phú Tâm" in summary.text
    [confirm] = [choice for choice in summary.choices if choice.startswith("register:ok:")]
    await owner.tap(confirm)
    async with database.session() as session:
        [lead] = (await session.execute(select(Lead))).scalars()
    assert lead.programme_id == "may_moc_thiet_bi"
    assert (lead.commune_code, lead.facility_type) == ("31471", "ho_kinh_doanh")
    assert lead.eligibility == ELIGIBILITY
    assert owner.conv.data["eligibility"] == ELIGIBILITY  # other flows' data is kept


async def test_someone_elses_contact_is_refused(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    await owner.say(NAME)
    refused = await owner.share("84987654321", owner="someone-else")
    assert "người khác" in refused.text
    assert owner.conv.step == "ask:phone" and "0987" not in owner.stored()
    assert refused.replies[-1].request_contact
    accepted = await owner.share("84987654321", owner=owner.identity.user_id)
    assert owner.conv.data["register"]["fields"]["phone"] == "+84987654321"  # type: ignore[index]
    assert owner.conv.step == "ask:facility_name"
    assert "Tên cơ sở" in accepted.text


async def test_invalid_phone_and_money_are_asked_again(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    await owner.say(NAME)
    wrong = await owner.say("12345")
    assert owner.conv.step == "ask:phone" and wrong.replies[0].request_contact
    old = await owner.say("01662345678")
    assert "0362 345 678" in old.text  # the post-2018 number offered back


async def test_edit_a_field_from_the_summary(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    await fill_form(owner)
    menu = await owner.tap("register:edit")
    assert "register:edit:phone" in menu.choices
    await owner.tap("register:edit:full_name")
    summary = await owner.say("Trần Văn Cường")
    assert owner.conv.step == "summary"
    assert "Trần Văn Cường" in summary.text and NAME not in summary.text


async def test_a_confirmation_after_withdrawal_asks_consent_again(database: Database) -> None:
    from handlers.common import record_consent
    from storage.models import ConsentAction

    kit = Kit.create(database)
    owner = await kit.owner()
    await consent(owner)
    confirm = await fill_form(owner)
    async with database.session() as session, session.begin():
        await record_consent(kit.context(session, owner.identity), ConsentAction.WITHDRAW)
    result = await owner.tap(confirm)
    assert result.choices[:2] == ["register:consent:yes", "register:consent:no"]
    assert await count(database, Lead) == 0


async def test_stale_confirm_button_says_the_form_expired(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    result = await owner.tap("register:ok:0123456789abcdef0123456789abcdef")
    assert "register:start" in result.choices
    assert await count(database, Lead) == 0
