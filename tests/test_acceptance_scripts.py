"""The announcement, data-rights and hand-off scripts on the web chat and Telegram (the same
files run on both Zalo channels in test_acceptance_zalo.py)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.core.config import load_settings
from storage import Database
from tests.channel_drivers import TelegramDriver, WebDriver, check_step
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import make_engine, running, telegram_settings, webchat_app

SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "conversations"
_users = itertools.count(7301)
#: Hand-offs need a staff chat to hand off to.
STAFF = "telegram:-100999"


def _steps(name: str) -> list[dict[str, Any]]:
    with (SCRIPTS / f"{name}.yaml").open(encoding="utf-8") as handle:
        steps: list[dict[str, Any]] = yaml.safe_load(handle)
    return steps


async def _run(driver: TelegramDriver | WebDriver, name: str) -> None:
    await driver.say("/start")
    for number, step in enumerate(_steps(name), start=1):
        seen = await (driver.tap(step["tap"]) if "tap" in step else driver.say(str(step["say"])))
        check_step(step, seen, f"{name} step {number}")


@pytest.mark.parametrize("name", ["rights", "handoff"])
async def test_on_the_web_chat(sqlite_database: Database, name: str) -> None:
    settings = load_settings(database_url=str(sqlite_database.url), staff_chats=STAFF)
    engine, _ = make_engine(sqlite_database, settings=settings)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as client:
        await _run(WebDriver(client), name)


@pytest.mark.parametrize("name", ["rights", "handoff"])
async def test_on_telegram(tmp_path: Path, fake: FakeTelegramAPI, name: str) -> None:
    settings = telegram_settings(tmp_path, fake, staff_chats=STAFF)
    async with running(settings) as runtime:
        assert runtime.database is not None
        await _run(TelegramDriver(fake, next(_users), database=runtime.database), name)
