"""Subscriptions: opt-in by topic, separate from lead consent; /huy stops all for good."""

from __future__ import annotations

from sqlalchemy import select

from handlers.subscriptions import FLOW, stop_all
from storage import Database
from storage.models import Consent
from storage.repositories import Subscriptions
from tests.handlers.leads_kit import Kit


async def test_opt_in_by_topic_records_its_own_consent(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    intro = await owner.start(FLOW)
    assert "/huy" in intro.text
    assert "subscribe:on:machinery" in intro.choices and "subscribe:stop" not in intro.choices
    started = await owner.tap("subscribe:on:machinery")
    assert "subscribe:off:machinery" in started.choices and "subscribe:stop" in started.choices
    async with database.session() as session:
        assert await Subscriptions(session).subscribers("machinery") == [owner.identity.person_id]
        [record] = (await session.execute(select(Consent))).scalars()
    assert (record.purpose, record.action) == ("subscribe:machinery", "consent")


async def test_stop_all_is_immediate_and_lasts(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    await owner.tap("subscribe:on:machinery")
    await owner.tap("subscribe:on:all")
    async with database.session() as session, session.begin():
        ctx = kit.context(session, owner.identity)
        assert await stop_all(ctx) is True
        assert await stop_all(ctx) is False
    async with database.session() as session:
        assert await Subscriptions(session).subscribers("trade_fair") == []
        actions = [c.action for c in (await session.execute(select(Consent))).scalars()]
    assert actions.count("withdraw") == 2


async def test_stop_choice_from_the_typed_command(database: Database) -> None:
    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(FLOW)
    await owner.tap("subscribe:on:training")
    stopped = await owner.tap("subscribe:stop")
    assert "tất cả" in stopped.text
    nothing = await owner.tap("subscribe:stop")
    assert "không nhận thông báo nào" in nothing.text


async def test_lead_consent_does_not_subscribe(database: Database) -> None:
    from handlers.registration import FLOW as REGISTER

    kit = Kit.create(database)
    owner = await kit.owner()
    await owner.start(REGISTER)
    await owner.tap("register:consent:yes")
    async with database.session() as session:
        assert await Subscriptions(session).active_topics(owner.identity.person_id) == set()
