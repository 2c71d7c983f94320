"""One person, one record: a lead made on Telegram and one made on the Center's Zalo OA,
the two accounts linked by a one-time code, and "Hồ sơ của tôi" shows both."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app.runtime import BotRuntime
from storage import ChannelIdentity, Person
from storage.models.leads import Consent, Lead
from tests.channel_drivers import Seen, TelegramDriver, ZaloOADriver
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloOA
from tests.harness import grant_zalo, running, telegram_settings, zalo_oa_values
from tests.scripts import load_script

TELEGRAM_USER = 5511
ZALO_USER = "7700000000000000001"
_CODE = re.compile(r"/lienket (\d{6})")


@pytest.fixture
async def zalo_oa() -> AsyncIterator[FakeZaloOA]:
    async with FakeZaloOA() as server:
        yield server


@pytest.fixture
async def runtime(
    tmp_path: Path, fake: FakeTelegramAPI, zalo_oa: FakeZaloOA
) -> AsyncIterator[BotRuntime]:
    settings = telegram_settings(tmp_path, fake, **zalo_oa_values(zalo_oa))
    async with running(settings) as bot:
        await grant_zalo(bot, zalo_oa)
        yield bot


async def _register(driver: TelegramDriver | ZaloOADriver) -> str:
    seen: Seen = await driver.say("/start")
    for step in load_script("registration"):
        if "tap" in step:
            seen = await driver.tap(step["tap"])
        else:
            seen = await driver.say(str(step.get("say", step.get("phone"))))
    confirm = next(c for c in seen.choice_ids if c.startswith("register:ok:"))
    done = await driver.tap(confirm)
    code = re.search(r"KC-\d{4}-\d+", done.text)
    assert code is not None, done.text
    return code.group(0)


async def _count(runtime: BotRuntime, model: Any) -> int:
    assert runtime.database is not None
    async with runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_linked_accounts_show_both_channels_leads(
    runtime: BotRuntime, fake: FakeTelegramAPI, zalo_oa: FakeZaloOA
) -> None:
    assert runtime.database is not None
    telegram = TelegramDriver(fake, TELEGRAM_USER, database=runtime.database)
    zalo = ZaloOADriver(zalo_oa, runtime.database, ZALO_USER)
    telegram_lead = await _register(telegram)
    zalo_lead = await _register(zalo)
    assert await _count(runtime, Person) == 2

    shown = await telegram.say("/lienket")
    shown = await telegram.tap("link:show")
    code = _CODE.search(shown.text)
    assert code is not None, shown.text
    same = await telegram.say(f"/lienket {code.group(1)}")
    assert "ứng dụng còn lại" in same.text  # not on the channel that showed it

    linked = await zalo.say(f"/lienket {code.group(1)}")
    assert "Đã liên kết" in linked.text
    assert "Telegram" in linked.text
    assert await _count(runtime, Person) == 1
    async with runtime.database.session() as session:
        leads = list((await session.execute(select(Lead))).scalars())
        consents = list((await session.execute(select(Consent))).scalars())
        identities = list((await session.execute(select(ChannelIdentity))).scalars())
    assert {lead.channel for lead in leads} == {"telegram", "zalo_oa"}  # recorded per lead
    assert {consent.channel for consent in consents} == {"telegram", "zalo_oa"}
    assert len({i.person_id for i in identities} | {lead.person_id for lead in leads}) == 1

    for driver in (zalo, telegram):
        mine = await driver.say("/hoso")
        assert telegram_lead in mine.text
        assert zalo_lead in mine.text

    again = await zalo.say(f"/lienket {code.group(1)}")
    assert "không đúng hoặc đã hết hạn" in again.text  # single use
