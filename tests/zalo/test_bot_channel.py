"""The Zalo Bot platform channel: webhook secret, redelivery, polling, send errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app.runtime import BotRuntime
from bot.channels.base import SendStatus
from bot.channels.zalo_bot import ZaloBotChannel
from bot.core.messages import Choice, OutboundMessage
from storage.models.channels import WebhookInbox
from tests.fakes.zalo_api import FakeZaloBot
from tests.harness import ZALO_BOT_WEBHOOK_SECRET, running, zalo_settings

USER = "e4ea2cd5189df1c3a88c"


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


@pytest.fixture
async def zalo_bot() -> AsyncIterator[FakeZaloBot]:
    async with FakeZaloBot() as server:
        yield server


async def _inbox_rows(runtime: BotRuntime) -> int:
    assert runtime.database is not None
    async with runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookInbox)) or 0)


async def test_webhook_mode_registers_the_secret_and_checks_it(
    tmp_path: Path, zalo_bot: FakeZaloBot
) -> None:
    settings = zalo_settings(
        tmp_path, bot=zalo_bot, bot_webhook=True, public_url="http://127.0.0.1:1"
    )
    async with running(settings) as runtime:
        assert zalo_bot.webhook == {
            "url": "http://127.0.0.1:1/zalo/bot/webhook",
            "secret": ZALO_BOT_WEBHOOK_SECRET,
        }
        zalo_bot.webhook["url"] = f"http://127.0.0.1:{runtime.port}/zalo/bot/webhook"
        update = zalo_bot.text_update(USER, "/start")
        assert await zalo_bot.push(update, secret="wrong-secret-000") == 401
        assert await zalo_bot.push(update, secret="") == 401
        assert await _inbox_rows(runtime) == 0
        assert zalo_bot.sent(USER) == []

        assert await zalo_bot.push(update) == 200
        await zalo_bot.wait_for_sent(USER, 1)
        assert await zalo_bot.push(update) == 200  # redelivered
        assert await zalo_bot.push(update) == 200
        later = zalo_bot.text_update(USER, "menu")  # one user's updates keep their order
        assert await zalo_bot.push(later) == 200
        await zalo_bot.wait_for_sent(USER, 2)
        assert len(zalo_bot.sent(USER)) == 2  # a repeat would have answered before "menu"
        assert await _inbox_rows(runtime) == 2


async def test_long_polling_takes_one_update_per_call_and_408_is_normal(
    tmp_path: Path, zalo_bot: FakeZaloBot
) -> None:
    async with running(zalo_settings(tmp_path, bot=zalo_bot)):
        assert zalo_bot.webhook is None
        # Several polls time out (408) before anyone writes: the poller keeps going.
        await _until(lambda: sum(1 for c in zalo_bot.calls if c["method"] == "getUpdates") >= 3)
        for text in ("/start", "menu"):
            await zalo_bot.push(zalo_bot.text_update(USER, text))
        sent = await zalo_bot.wait_for_sent(USER, 2)
        assert "Xin chào" in sent[0]
        assert all("inline_keyboard" not in text for text in sent)


async def test_choices_are_numbered_and_send_errors_mapped(
    tmp_path: Path, zalo_bot: FakeZaloBot
) -> None:
    async with running(zalo_settings(tmp_path, bot=zalo_bot)) as runtime:
        channel = runtime.channels["zalo_bot"]
        assert isinstance(channel, ZaloBotChannel)
        message = OutboundMessage(
            text="Chọn", choices=(Choice("menu:a", "Một"), Choice("menu:b", "Hai"))
        )
        zalo_bot.known_chats.add(USER)
        result = await channel.send(USER, message)
        assert result.ok
        assert zalo_bot.sent(USER) == ["Chọn\n\n1. Một\n2. Hai"]
        await channel.send(USER, OutboundMessage(text="Anh/chị bấm «Đồng ý» nhé."))
        assert zalo_bot.sent(USER)[-1] == "Anh/chị gõ «Đồng ý» nhé."  # no buttons here
        long = OutboundMessage(text="\n\n".join(["Đoạn văn dài. " * 70] * 3))
        assert (await channel.send(USER, long)).ok
        assert all(len(text) <= 2000 for text in zalo_bot.sent(USER))
        assert (await channel.send("nobody", message)).status is SendStatus.NOT_FOUND
        zalo_bot.user_errors[USER] = 429
        assert (await channel.send(USER, message)).status is SendStatus.RETRY_AFTER
        zalo_bot.user_errors[USER] = 400
        assert (await channel.send(USER, message)).status is SendStatus.BAD_CONTENT
