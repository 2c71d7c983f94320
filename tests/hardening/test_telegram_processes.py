"""Two processes on one token: the second poller stops with one line; webhook processes do
not fight over setWebhook (issue 18.13)."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from bot.app.runtime import BotRuntime
from bot.channels.telegram_guard import SECOND_POLLER
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import fixed_clock, telegram_settings

USER = 7101
SECRET = "process-secret-0123456789"
WAIT_SECONDS = 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_second_poller_says_so_once_and_stops(
    tmp_path: Path, fake: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    first = BotRuntime(telegram_settings(tmp_path, fake), clock=fixed_clock())
    second = BotRuntime(
        telegram_settings(tmp_path, fake, database_url=_sqlite(tmp_path / "b")),
        clock=fixed_clock(),
    )
    await first.start()
    try:
        fake.send_command(USER, "start")
        await fake.wait_for_sent(USER, 1)  # the first process has polled successfully
        with caplog.at_level(logging.WARNING):
            await second.start()
            await asyncio.wait_for(second.stop_requested.wait(), WAIT_SECONDS)
            await second.stop()
            assert second.failure == SECOND_POLLER
            fake.send_command(USER, "help")
            await fake.wait_for_sent(USER, 2)  # the first one carries on
        assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
        polling = [r for r in caplog.records if r.name.startswith("bot.channels.telegram")]
        assert len([r for r in polling if r.levelno == logging.WARNING]) <= 1, polling
    finally:
        await first.stop()


async def test_webhook_processes_register_the_hook_once(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    public = f"http://127.0.0.1:{_free_port()}"
    runtimes = [
        BotRuntime(
            telegram_settings(
                tmp_path,
                fake,
                port=_free_port(),
                public_url=public,
                telegram_webhook_secret=SECRET,
            ),
            clock=fixed_clock(),
        )
        for _ in range(2)
    ]
    for runtime in runtimes:
        await runtime.start()
    try:
        assert len([c for c in fake.calls if c["method"] == "setWebhook"]) == 1
        rotated = BotRuntime(
            telegram_settings(
                tmp_path,
                fake,
                port=_free_port(),
                public_url=public,
                telegram_webhook_secret=SECRET + "-new",
            ),
            clock=fixed_clock(),
        )
        await rotated.start()
        await rotated.stop()
        assert len([c for c in fake.calls if c["method"] == "setWebhook"]) == 2  # new secret
    finally:
        for runtime in runtimes:
            await runtime.stop()


def _sqlite(folder: Path) -> str:
    folder.mkdir()
    return f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"


async def test_polling_drops_malformed_updates_with_a_warning(
    tmp_path: Path, fake: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = BotRuntime(telegram_settings(tmp_path, fake), clock=fixed_clock())
    await runtime.start()
    try:
        with caplog.at_level(logging.WARNING):
            fake.send_text(USER, "a\x00b\ud800")  # cleaned, then handled
            await fake.wait_for_sent(USER, 1)
            forged = {"message_id": 9, "date": 1764190000, "text": "hi"}
            forged |= {"from": {"id": 10**20, "is_bot": False, "first_name": "X"}}
            forged |= {"chat": {"id": USER, "type": "private"}}
            fake.inject({"message": forged})  # an id no platform gives: dropped
            fake.send_text(USER, "menu")
            await fake.wait_for_sent(USER, 2)
        assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    finally:
        await runtime.stop()
