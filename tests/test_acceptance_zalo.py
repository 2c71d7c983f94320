"""The conversation scripts of Telegram and the web chat, replayed on the Center's Zalo OA
and on a Zalo Bot platform bot (real runtime, real aiohttp clients, fake Zalo servers)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.app.runtime import BotRuntime
from storage import ChannelIdentity, Database, OutboxMessage
from storage.models.leads import Handoff, Lead
from tests.channel_drivers import Seen, ZaloBotDriver, ZaloOADriver, check_step
from tests.fakes.zalo_api import FakeZaloBot, FakeZaloOA
from tests.harness import grant_zalo, running, zalo_settings
from tests.scripts import load_script

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_users = itertools.count(700_000_000_000_000_001)

Driver = ZaloOADriver | ZaloBotDriver


def _eligibility_scripts() -> list[dict[str, Any]]:
    with (FIXTURES / "eligibility" / "scripts.yaml").open(encoding="utf-8") as handle:
        scripts: list[dict[str, Any]] = yaml.safe_load(handle)["scripts"]
    return scripts


@pytest.fixture
async def zalo_oa() -> AsyncIterator[FakeZaloOA]:
    async with FakeZaloOA() as server:
        yield server


@pytest.fixture
async def zalo_bot() -> AsyncIterator[FakeZaloBot]:
    async with FakeZaloBot() as server:
        yield server


@pytest.fixture(params=["oa", "bot-polling", "bot-webhook"])
async def driven(
    request: pytest.FixtureRequest, tmp_path: Path, zalo_oa: FakeZaloOA, zalo_bot: FakeZaloBot
) -> AsyncIterator[tuple[BotRuntime, Any]]:
    """The runtime with one Zalo channel, and a factory of drivers for new people."""
    kind = str(request.param)
    oa = zalo_oa if kind == "oa" else None
    bot = zalo_bot if kind != "oa" else None
    extra: dict[str, object] = {"staff_chats": "zalo_oa:staff-officer-1"}
    if kind == "bot-webhook":
        # The fake posts to the URL it was given; the port is only known once listening.
        extra["public_url"] = "http://127.0.0.1:1"
    settings = zalo_settings(tmp_path, oa=oa, bot=bot, bot_webhook=kind == "bot-webhook", **extra)
    async with running(settings) as rt:
        if oa is not None:
            await grant_zalo(rt, oa)
        if bot is not None and kind == "bot-webhook":
            assert bot.webhook is not None
            bot.webhook["url"] = f"http://127.0.0.1:{rt.port}/zalo/bot/webhook"
        assert rt.database is not None
        database = rt.database

        def new_driver() -> Driver:
            user = str(next(_users))
            if oa is not None:
                return ZaloOADriver(oa, database, user)
            assert bot is not None
            return ZaloBotDriver(bot, database, user)

        yield rt, new_driver


async def _run_steps(driver: Driver, steps: list[dict[str, Any]], name: str) -> Seen:
    seen = Seen("", [])
    for number, step in enumerate(steps, start=1):
        if "tap" in step:
            seen = await driver.tap(step["tap"])
        elif "phone" in step and isinstance(driver, ZaloOADriver):
            seen = await driver.share_contact(str(step["phone"]))
        else:
            seen = await driver.say(str(step.get("say", step.get("phone"))))
        check_step(step, seen, f"{name} step {number}", reword=driver.reword)
    return seen


async def test_the_basic_script(driven: tuple[BotRuntime, Any]) -> None:
    _, new_driver = driven
    driver = new_driver()
    for number, step in enumerate(load_script("basic"), start=1):
        sent = step["send"]
        if "command" in sent:
            seen = await driver.say(f"/{sent['command']}")
        elif "choice" in sent:
            seen = await driver.tap(sent["choice"])
        else:
            seen = await driver.say(sent["text"])
        check_step(step, seen, f"basic step {number}", reword=driver.reword)


@pytest.mark.parametrize("script", _eligibility_scripts(), ids=lambda s: s["name"])
async def test_eligibility_scripts(driven: tuple[BotRuntime, Any], script: dict[str, Any]) -> None:
    _, new_driver = driven
    driver = new_driver()
    seen = await driver.say("/start")
    first = script["steps"][0].get("tap", "")
    if first and first not in seen.choice_ids:
        programme = first.rsplit(":", 1)[-1]
        await driver.tap("policies:start")
        await driver.tap(f"policies:prog:{programme}")
    await _run_steps(driver, script["steps"], script["name"])


async def _leads(database: Database) -> list[Lead]:
    async with database.session() as session:
        return list((await session.execute(select(Lead))).scalars())


async def test_registration_to_a_lead_code(driven: tuple[BotRuntime, Any]) -> None:
    runtime, new_driver = driven
    driver = new_driver()
    await driver.say("/start")
    summary = await _run_steps(driver, load_script("registration"), "registration")
    confirm = next(c for c in summary.choice_ids if c.startswith("register:ok:"))
    done = await driver.tap(confirm)
    assert runtime.database is not None
    [lead] = await _leads(runtime.database)
    assert lead.code in done.text
    assert lead.phone == "+84912345678"
    assert lead.channel == driver.channel


def _script_steps(name: str) -> list[dict[str, Any]]:
    with (FIXTURES / "conversations" / f"{name}.yaml").open(encoding="utf-8") as handle:
        steps: list[dict[str, Any]] = yaml.safe_load(handle)
    return steps


async def test_announcements_and_data_rights(driven: tuple[BotRuntime, Any]) -> None:
    _, new_driver = driven
    driver = new_driver()
    await driver.say("/start")
    await _run_steps(driver, _script_steps("rights"), "rights")


async def test_handoff_to_staff(driven: tuple[BotRuntime, Any]) -> None:
    runtime, new_driver = driven
    driver = new_driver()
    await driver.say("/start")
    await _run_steps(driver, _script_steps("handoff"), "handoff")
    assert runtime.database is not None
    async with runtime.database.session() as session:
        rows = list((await session.execute(select(OutboxMessage))).scalars())
    forwarded = [
        r for r in rows if r.topic.startswith("handoff:") and r.chat_id == "staff-officer-1"
    ]
    assert any("hạn nộp hồ sơ" in r.payload["text"] for r in forwarded)
    async with runtime.database.session() as session:
        [handoff] = (await session.execute(select(Handoff))).scalars()
        identity = await session.get(ChannelIdentity, handoff.identity_id)
    assert identity is not None
    assert identity.channel == driver.channel
