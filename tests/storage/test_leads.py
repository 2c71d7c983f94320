"""Lead, consent, subscription and hand-off repositories on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

import storage.all_models  # noqa: F401 - registers the lead tables
from storage import Database
from storage.models import (
    AppendOnlyError,
    Base,
    ChannelIdentity,
    ConsentAction,
    ConversationState,
    Lead,
    LeadHistory,
    LeadStatus,
    MessageLog,
    OutboxMessage,
    Person,
)
from storage.repositories import (
    PURPOSE_LEAD,
    Consents,
    Handoffs,
    LeadFields,
    Leads,
    Outcome,
    Subscriptions,
    anonymise_leads,
    erase_person,
    handoff_topic,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PHONE = "+84912345678"


def fields(**changes: object) -> LeadFields:
    base: dict[str, object] = {
        "full_name": "Nguyễn Văn An",
        "phone": PHONE,
        "facility_name": "Cơ sở bánh pía Tân Huê Viên",
        "facility_type": "household",
        "commune_name": "Xã Phú Tâm",
        "products": "bánh pía",
        "support_kinds": ("machinery",),
        "need": "máy trộn bột",
        "budget": 300_000_000,
        "call_time": "morning",
    }
    base.update(changes)
    return LeadFields(**base)  # type: ignore[arg-type]


async def make_person(database: Database, *, user_id: str = "1001") -> tuple[int, int]:
    async with database.session() as session, session.begin():
        person = Person(created_at=NOW)
        session.add(person)
        await session.flush()
        identity = ChannelIdentity(
            person_id=person.id,
            channel="telegram",
            user_id=user_id,
            chat_id=user_id,
            created_at=NOW,
            last_seen_at=NOW,
        )
        session.add(identity)
        await session.flush()
        return person.id, identity.id


async def submit(database: Database, person: tuple[int, int], draft: str, **changes: object):
    async with database.session() as session, session.begin():
        return await Leads(session).submit(
            draft,
            fields(**changes),
            person_id=person[0],
            identity_id=person[1],
            channel="telegram",
            notice_version="2026-01",
            now=NOW,
            make_code=lambda lead_id: f"KC-2026-{lead_id:06d}",
        )


async def test_migration_matches_the_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_submit_creates_one_lead_per_draft(database: Database) -> None:
    person = await make_person(database)
    first = await submit(database, person, "draft-1")
    again = await submit(database, person, "draft-1")
    assert first.outcome is Outcome.CREATED
    assert again.outcome is Outcome.DUPLICATE
    assert again.lead.id == first.lead.id
    assert first.lead.code == f"KC-2026-{first.lead.id:06d}"
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 1
        history = await Leads(session).history(first.lead.id)
    assert [entry.action for entry in history] == ["created"]


async def test_same_phone_and_support_updates_the_open_lead(database: Database) -> None:
    person = await make_person(database)
    first = await submit(database, person, "draft-1")
    second = await submit(database, person, "draft-2", need="máy đóng gói")
    other = await submit(database, person, "draft-3", support_kinds=("trade_fair",))
    assert second.outcome is Outcome.UPDATED
    assert second.lead.id == first.lead.id
    assert second.lead.need == "máy đóng gói"
    assert other.outcome is Outcome.CREATED
    async with database.session() as session:
        history = await Leads(session).history(first.lead.id)
    assert [entry.action for entry in history] == ["created", "updated"]
    assert history[1].fields == ["need"]


async def test_another_person_with_the_same_phone_gets_a_new_lead(database: Database) -> None:
    first = await submit(database, await make_person(database), "draft-1")
    second = await submit(database, await make_person(database, user_id="2002"), "draft-2")
    assert second.outcome is Outcome.CREATED
    assert second.lead.id != first.lead.id


async def test_a_closed_lead_is_not_reopened(database: Database) -> None:
    person = await make_person(database)
    first = await submit(database, person, "draft-1")
    async with database.session() as session, session.begin():
        lead = await Leads(session).get(first.lead.id)
        assert lead is not None
        await Leads(session).set_status(lead, LeadStatus.CLOSED, actor="telegram:9", now=NOW)
    again = await submit(database, person, "draft-2")
    assert again.outcome is Outcome.CREATED


async def test_history_and_consents_are_append_only(database: Database) -> None:
    person = await make_person(database)
    created = await submit(database, person, "draft-1")
    async with database.session() as session, session.begin():
        entry = (await Leads(session).history(created.lead.id))[0]
        entry.note = "rewritten"
        with pytest.raises(AppendOnlyError):
            await session.flush()
        await session.rollback()
    async with database.session() as session, session.begin():
        consent = await Consents(session).record(
            person[0],
            identity_id=person[1],
            channel="telegram",
            purpose=PURPOSE_LEAD,
            action=ConsentAction.CONSENT,
            notice_version="2026-01",
            now=NOW,
        )
        await session.delete(consent)
        with pytest.raises(AppendOnlyError):
            await session.flush()


async def test_consent_in_force_is_the_latest_for_the_version(database: Database) -> None:
    person = await make_person(database)
    async with database.session() as session, session.begin():
        consents = Consents(session)
        assert not await consents.has_consent(person[0], PURPOSE_LEAD, "2026-01")
        for minutes, action in enumerate((ConsentAction.REFUSE, ConsentAction.CONSENT)):
            await consents.record(
                person[0],
                identity_id=person[1],
                channel="telegram",
                purpose=PURPOSE_LEAD,
                action=action,
                notice_version="2026-01",
                now=NOW + timedelta(minutes=minutes),
            )
        assert await consents.has_consent(person[0], PURPOSE_LEAD, "2026-01")
        assert not await consents.has_consent(person[0], PURPOSE_LEAD, "2026-02")
        await consents.record(
            person[0],
            identity_id=person[1],
            channel="telegram",
            purpose=PURPOSE_LEAD,
            action=ConsentAction.WITHDRAW,
            notice_version="2026-01",
            now=NOW + timedelta(minutes=5),
        )
        assert not await consents.has_consent(person[0], PURPOSE_LEAD, "2026-01")
        assert [c.action for c in await consents.for_person(person[0])] == [
            "refuse",
            "consent",
            "withdraw",
        ]


async def test_subscriptions_stop_all_and_opt_in_again(database: Database) -> None:
    alice = await make_person(database)
    bob = await make_person(database, user_id="2002")
    async with database.session() as session, session.begin():
        subs = Subscriptions(session)
        assert await subs.start(alice[0], "machinery", now=NOW)
        assert not await subs.start(alice[0], "machinery", now=NOW)
        assert await subs.start(alice[0], "training", now=NOW)
        assert await subs.start(bob[0], "all", now=NOW)
        assert await subs.subscribers("machinery") == sorted([alice[0], bob[0]])
        assert await subs.subscribers("trade_fair") == [bob[0]]
        assert sorted(await subs.stop_all(alice[0], now=NOW)) == ["machinery", "training"]
        assert await subs.subscribers("machinery") == [bob[0]]
        assert await subs.stop_all(alice[0], now=NOW) == []
        assert await subs.start(alice[0], "machinery", now=NOW)
        assert await subs.active_topics(alice[0]) == {"machinery"}


async def test_one_open_handoff_per_identity_and_idle_close(database: Database) -> None:
    person = await make_person(database)
    async with database.session() as session, session.begin():
        handoffs = Handoffs(session)
        first = await handoffs.open(
            person_id=person[0], identity_id=person[1], lead_id=None, now=NOW
        )
        assert (await handoffs.open_for(person[1])) is first
        assert (
            await handoffs.close_idle(now=NOW + timedelta(hours=1), idle=timedelta(hours=2)) == 0
        )
        assert (
            await handoffs.close_idle(now=NOW + timedelta(hours=3), idle=timedelta(hours=2)) == 1
        )
        assert first.closed_by == "idle"
        second = await handoffs.open(
            person_id=person[0], identity_id=person[1], lead_id=None, now=NOW
        )
        assert second.id != first.id


async def test_handoff_found_from_a_stored_platform_message_id(database: Database) -> None:
    person = await make_person(database)
    async with database.session() as session, session.begin():
        handoffs = Handoffs(session)
        handoff = await handoffs.open(
            person_id=person[0], identity_id=person[1], lead_id=None, now=NOW
        )
        for topic, ids in ((handoff_topic(handoff.id), ["501", "502"]), ("lead:1", ["5020"])):
            session.add(
                OutboxMessage(
                    channel="telegram",
                    chat_id="-100",
                    payload={"text": "x"},
                    topic=topic,
                    status="sent",
                    message_ids=ids,
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
            )
        await session.flush()
        found = await handoffs.find_by_message(
            channel="telegram", chat_id="-100", message_id="502"
        )
        assert found is handoff
        assert (
            await handoffs.find_by_message(channel="telegram", chat_id="-100", message_id="50")
            is None
        )
        assert (
            await handoffs.find_by_message(channel="telegram", chat_id="-1", message_id="502")
            is None
        )
        assert (
            await handoffs.find_by_message(channel="telegram", chat_id="-100", message_id="5020")
            is None
        )


async def test_erase_person_keeps_statistics_and_drops_personal_data(database: Database) -> None:
    person = await make_person(database)
    other = await make_person(database, user_id="2002")
    created = await submit(database, person, "draft-1")
    kept = await submit(database, other, "draft-2")
    async with database.session() as session, session.begin():
        leads = Leads(session)
        lead = await leads.get(created.lead.id)
        assert lead is not None
        await leads.add_note(lead, "Anh An hẹn gọi lại", actor="telegram:9", now=NOW)
        session.add(
            MessageLog(
                identity_id=person[1], direction="in", kind="text", text="0912", created_at=NOW
            )
        )
        session.add(
            MessageLog(
                identity_id=other[1], direction="in", kind="text", text="hi", created_at=NOW
            )
        )
        session.add(
            ConversationState(identity_id=person[1], data={"register": {"x": 1}}, updated_at=NOW)
        )
        for status in ("sent", "pending"):
            session.add(
                OutboxMessage(
                    channel="telegram",
                    chat_id="-100",
                    payload={"text": "Nguyễn Văn An"},
                    topic=f"lead:{created.lead.id}",
                    status=status,
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
            )
        await Subscriptions(session).start(person[0], "all", now=NOW)
    async with database.session() as session, session.begin():
        report = await erase_person(session, person[0], now=NOW, current_identity_id=person[1])
    assert report.lead_codes == [created.lead.code]
    assert report.messages_deleted == 1
    assert report.outbox_redacted == 2
    assert report.subscriptions_stopped == 1
    async with database.session() as session:
        lead = await Leads(session).get(created.lead.id)
        assert lead is not None
        assert (lead.full_name, lead.phone, lead.facility_name, lead.need) == ("", "", "", "")
        assert lead.person_id is None and lead.anonymised_at is not None
        assert (lead.status, lead.support_kinds, lead.commune_name) == (
            "new",
            ["machinery"],
            "Xã Phú Tâm",
        )
        notes = [entry.note for entry in await Leads(session).history(created.lead.id)]
        assert notes == ["", "", ""]
        outbox = list((await session.execute(select(OutboxMessage))).scalars())
        assert [row.payload for row in outbox] == [{"text": "", "redacted": True}]
        logs = list((await session.execute(select(MessageLog))).scalars())
        assert [row.identity_id for row in logs] == [other[1]]
        untouched = await Leads(session).get(kept.lead.id)
        assert untouched is not None and untouched.full_name == "Nguyễn Văn An"


async def test_anonymise_leads_redacts_their_outbox(database: Database) -> None:
    created = await submit(database, await make_person(database), "draft-1")
    async with database.session() as session, session.begin():
        lead = await Leads(session).get(created.lead.id)
        assert lead is not None
        count = await anonymise_leads(session, [lead], now=NOW, actor="system")
        assert count == 1
        history = await Leads(session).history(created.lead.id)
    assert history[-1].action == "anonymised"
    async with database.session() as session:
        stored = await session.scalar(select(LeadHistory.action).order_by(LeadHistory.id.desc()))
    assert stored == "anonymised"
