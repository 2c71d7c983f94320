"""The eligibility scripts of ``tests/fixtures/eligibility/scripts.yaml`` on the Telegram fake
(real runtime, real PTB client) and on the web chat, plus resume after a restart."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.app.runtime import BotRuntime
from storage import Database
from tests.channel_drivers import TelegramDriver, WebDriver, check_step
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import fixed_clock, make_engine, running, telegram_settings, webchat_app

SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "eligibility" / "scripts.yaml"
_user_ids = itertools.count(8001)


def _scripts() -> list[dict[str, Any]]:
    with SCRIPTS.open(encoding="utf-8") as handle:
        scripts: list[dict[str, Any]] = yaml.safe_load(handle)["scripts"]
    return scripts


@pytest.fixture
async def telegram_runtime(tmp_path: Path, fake: FakeTelegramAPI) -> AsyncIterator[BotRuntime]:
    async with running(telegram_settings(tmp_path, fake)) as runtime:
        yield runtime


async def _run(driver: TelegramDriver | WebDriver, script: dict[str, Any]) -> None:
    for number, step in enumerate(script["steps"], start=1):
        if "tap" in step:
            seen = await driver.tap(step["tap"])
        else:
            seen = await driver.say(str(step["say"]))
        check_step(step, seen, f"{script['name']} step {number}")


@pytest.mark.parametrize("script", _scripts(), ids=lambda script: script["name"])
async def test_eligibility_script_on_telegram(
    telegram_runtime: BotRuntime, fake: FakeTelegramAPI, script: dict[str, Any]
) -> None:
    assert telegram_runtime.database is not None
    driver = TelegramDriver(fake, next(_user_ids), database=telegram_runtime.database)
    seen = await driver.say("/start")  # the menu carries the eligibility button
    first = script["steps"][0].get("tap", "")
    if first and first not in seen.choice_ids:
        # A programme's own "check eligibility" button lives on that programme's page.
        programme = first.rsplit(":", 1)[-1]
        await driver.tap("policies:start")
        await driver.tap(f"policies:prog:{programme}")
    await _run(driver, script)


@pytest.mark.parametrize("script", _scripts(), ids=lambda script: script["name"])
async def test_eligibility_script_on_the_web_chat(
    sqlite_database: Database, script: dict[str, Any]
) -> None:
    engine, _ = make_engine(sqlite_database)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as client:
        await _run(WebDriver(client), script)


async def test_an_interrupted_check_resumes_after_a_restart(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    settings = telegram_settings(tmp_path, fake)
    user = next(_user_ids)
    runtime = BotRuntime(settings, clock=fixed_clock())
    await runtime.start()
    assert runtime.database is not None
    driver = TelegramDriver(fake, user, database=runtime.database)
    await driver.say("/start")
    await driver.tap("eligibility:start")
    seen = await driver.tap("eligibility:a:facility_type:ho_kinh_doanh")
    assert "Câu 2." in seen.text
    await runtime.stop()

    clock = fixed_clock()
    restarted = BotRuntime(settings, clock=clock)
    await restarted.start()
    assert restarted.database is not None
    driver.database = restarted.database
    try:
        seen = await driver.say("Phú Tâm")  # the answer to question 2, after the restart
        assert "Xã Phú Tâm" in seen.text  # the only match, named in the next question
        assert "Câu 3." in seen.text
        seen = await driver.tap("eligibility:back")
        assert "Câu 2." in seen.text
    finally:
        await restarted.stop()
