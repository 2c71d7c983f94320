"""Registering interest end to end: Telegram fake (share-contact and typed phone), web chat
and console; the staff chat gets one notice; double taps and redeliveries make one lead."""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app.runtime import BotRuntime
from bot.channels.console import ConsoleChannel, run_console
from storage import Database
from storage.models import Lead
from tests.channel_drivers import Seen, TelegramDriver, WebDriver, check_step
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import (
    committed_replies,
    make_engine,
    offered,
    outbox_idle,
    running,
    telegram_settings,
    webchat_app,
)

SCRIPT = Path(__file__).resolve().parent / "fixtures" / "conversations" / "registration.yaml"
STAFF_GROUP = -100777
_users = itertools.count(9001)


def _script() -> list[dict[str, Any]]:
    with SCRIPT.open(encoding="utf-8") as handle:
        steps: list[dict[str, Any]] = yaml.safe_load(handle)
    return steps


@pytest.fixture
async def runtime(tmp_path: Path, fake: FakeTelegramAPI) -> AsyncIterator[BotRuntime]:
    settings = telegram_settings(tmp_path, fake, staff_chats=f"telegram:{STAFF_GROUP}")
    async with running(settings) as bot:
        yield bot


async def _leads(database: Database) -> list[Lead]:
    async with database.session() as session:
        return list((await session.execute(select(Lead))).scalars())


async def _run_telegram(driver: TelegramDriver, *, share_contact: bool) -> Seen:
    seen = await driver.say("/start")
    for number, step in enumerate(_script(), start=1):
        if "tap" in step:
            seen = await driver.tap(step["tap"])
        elif "phone" in step and share_contact:
            seen = await driver.share_contact(str(step["phone"]))
        else:
            seen = await driver.say(str(step.get("say", step.get("phone"))))
        check_step(step, seen, f"registration step {number}")
    return seen


@pytest.mark.parametrize("share_contact", [True, False], ids=["contact button", "typed phone"])
async def test_registration_on_telegram(
    runtime: BotRuntime, fake: FakeTelegramAPI, share_contact: bool
) -> None:
    user = next(_users)
    assert runtime.database is not None
    driver = TelegramDriver(fake, user, database=runtime.database)
    summary = await _run_telegram(driver, share_contact=share_contact)
    if share_contact:
        keyboards = [
            call["reply_markup"]["keyboard"]
            for call in fake.sent(user)
            if "keyboard" in (call.get("reply_markup") or {})
        ]
        assert any(
            button.get("request_contact") for rows in keyboards for row in rows for button in row
        )
    confirm = next(c for c in summary.choice_ids if c.startswith("register:ok:"))
    done = await driver.tap(confirm)
    assert runtime.database is not None
    [lead] = await _leads(runtime.database)
    assert lead.code in done.text
    assert lead.phone == "+84912345678"
    # A double tap and a redelivered confirmation still make one lead.
    before = len(fake.sent(user))
    update_id = fake.press_button(user, confirm)
    await fake.wait_for_sent(user, before + 1)
    fake.redeliver(update_id)
    await fake.wait_until_delivered()
    marker = fake.send_text(user, "menu")  # one user's updates are handled in order
    await committed_replies(runtime.database, channel="telegram", event_id=str(marker))
    assert len(await _leads(runtime.database)) == 1
    # The staff group gets exactly one notice with the lead's details.
    await fake.wait_for_sent(STAFF_GROUP, 1)
    await outbox_idle(runtime.database)
    notices = fake.sent(STAFF_GROUP)
    assert len(notices) == 1
    assert "Phạm Văn Tư" in str(notices[0]["text"])
    assert str(lead.code) in str(notices[0]["text"])


async def test_someone_elses_contact_is_refused_on_telegram(
    runtime: BotRuntime, fake: FakeTelegramAPI
) -> None:
    assert runtime.database is not None
    driver = TelegramDriver(fake, next(_users), database=runtime.database)
    await driver.say("/start")
    for step in _script()[:3]:
        seen = await (driver.tap(step["tap"]) if "tap" in step else driver.say(step["say"]))
    seen = await driver.share_contact("0987654321", owner=424242)
    assert "số điện thoại" in seen.text  # asked again
    assert "Tên cơ sở" not in seen.text
    seen = await driver.share_contact("0912345678")
    assert "Tên cơ sở" in seen.text


async def test_registration_on_the_web_chat(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as client:
        driver = WebDriver(client)
        seen = await driver.say("/start")
        for number, step in enumerate(_script(), start=1):
            if "tap" in step:
                seen = await driver.tap(step["tap"])
            else:
                seen = await driver.say(str(step.get("say", step.get("phone"))))
            check_step(step, seen, f"web step {number}")
        confirm = next(c for c in seen.choice_ids if c.startswith("register:ok:"))
        done = await driver.tap(confirm)
        await driver.tap(confirm)  # double tap
    [lead] = await _leads(sqlite_database)
    assert lead.code in done.text


async def test_registration_on_the_console(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    output = io.StringIO()

    engine.register_channel(ConsoleChannel(output=output))
    steps = iter(_script())
    confirm_sent = False

    async def read_line() -> str | None:
        nonlocal confirm_sent
        last = await offered(sqlite_database, "console-owner", channel="console")
        step = next(steps, None)
        if step is None:
            if confirm_sent:
                return None
            confirm_sent = True
            ok = next(c for c in last if c.startswith("register:ok:"))
            return str(last.index(ok) + 1)
        if "tap" in step:
            if step["tap"] not in last:  # a menu entry: typed as a command instead
                return "/dangky"
            return str(last.index(step["tap"]) + 1)
        return str(step.get("say", step.get("phone")))

    await run_console(engine.process, read_line=read_line, user_id="console-owner")
    [lead] = await _leads(sqlite_database)
    assert lead.full_name == "Phạm Văn Tư"
    assert str(lead.code) in output.getvalue()
    async with sqlite_database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 1
