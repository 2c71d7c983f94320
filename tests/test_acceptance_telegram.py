"""The real ``khuyencong serve`` runtime against the fake Telegram Bot API, with the real
python-telegram-bot client, in long-polling and in webhook mode."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp

from bot.app.runtime import BotRuntime
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import committed_replies, fixed_clock, running, telegram_settings
from tests.scripts import load_script

USER = 7001
OTHER = 7002
SECRET = "test-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _texts(fake: FakeTelegramAPI, chat: int, count: int) -> list[str]:
    sent = await fake.wait_for_sent(chat, count)
    return [str(call.get("text", "")) for call in sent if call["method"] == "sendMessage"]


async def test_polling_start_menu_tap_and_redelivery(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(tmp_path, fake)):
        fake.send_command(USER, "start")
        texts = await _texts(fake, USER, 1)
        assert "Xin chào" in texts[0]
        first = fake.sent(USER)[0]
        assert first["parse_mode"] == "HTML"
        assert "<b>Trung tâm Khuyến công Cần Thơ</b>" in first["text"]

        update_id = fake.press_button(USER, "menu:help")
        texts = await _texts(fake, USER, 3)
        assert any("Em giúp được gì" in t for t in texts)
        answers = await fake.wait_for_calls("answerCallbackQuery", 1)
        assert answers

        before = len(fake.sent(USER))
        fake.redeliver(update_id)
        await fake.wait_until_delivered()
        fake.send_text(USER, "menu")  # a marker: one user's updates are handled in order
        await fake.wait_for_sent(USER, before + 1)
        after = fake.sent(USER)[before:]
        assert len(after) == 1, after  # the redelivered tap produced nothing
        assert "Anh/chị cần em giúp gì" in str(after[0]["text"])


async def test_the_basic_script_runs_on_telegram(tmp_path: Path, fake: FakeTelegramAPI) -> None:
    async with running(telegram_settings(tmp_path, fake)) as runtime:
        assert runtime.database is not None
        count = 0
        for step in load_script("basic"):
            send = step["send"]
            before = len(fake.sent(USER))
            if "command" in send:
                update_id = fake.send_command(USER, send["command"])
            elif "choice" in send:
                update_id = fake.press_button(USER, send["choice"])
            else:
                update_id = fake.send_text(USER, send["text"])
            replies = await committed_replies(
                runtime.database, channel="telegram", event_id=str(update_id)
            )
            await fake.wait_for_sent(USER, before + len(replies))  # every reply of the step
            text = "\n".join(str(c.get("text", "")) for c in fake.sent(USER)[before:])
            for fragment in step["expect"]:
                assert fragment in text, (send, text)
            count += 1
        assert count == len(load_script("basic"))


async def test_a_server_error_from_telegram_crashes_nothing(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(tmp_path, fake)):
        fake.fail_next("sendMessage", chat_id=USER, error="server_error")
        fake.send_command(USER, "start")
        await fake.wait_for_calls("sendMessage", 1)
        fake.send_command(OTHER, "start")
        assert "Xin chào" in (await _texts(fake, OTHER, 1))[0]
        fake.send_text(USER, "menu")
        assert any("Anh/chị cần em giúp gì" in t for t in await _texts(fake, USER, 1))


async def test_state_survives_a_restart_mid_conversation(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    settings = telegram_settings(tmp_path, fake)
    runtime = BotRuntime(settings, clock=fixed_clock())
    await runtime.start()
    fake.send_command(USER, "start")
    await fake.wait_for_sent(USER, 1)
    await runtime.stop()

    restarted = BotRuntime(settings, clock=fixed_clock())
    await restarted.start()
    try:
        fake.send_text(USER, "8")  # the 8th option of the menu shown before the restart
        texts = await _texts(fake, USER, 2)
        assert "Em giúp được gì" in texts[1]
    finally:
        await restarted.stop()


async def test_webhook_mode_checks_the_secret_and_handles_updates(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    port = _free_port()
    settings = telegram_settings(
        tmp_path,
        fake,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        telegram_webhook_secret=SECRET,
    )
    async with running(settings):
        assert (fake.webhook_url or "").partition("?v=")[
            0
        ] == f"http://127.0.0.1:{port}/telegram/webhook"
        assert fake.webhook_secret == SECRET
        (call,) = await fake.wait_for_calls("setWebhook", 1)
        assert set(call["params"]["allowed_updates"]) == {
            "message",
            "callback_query",
            "my_chat_member",
        }
        update_id = fake.send_command(USER, "start")
        assert "Xin chào" in (await _texts(fake, USER, 1))[0]

        fake.redeliver(update_id)
        await fake.wait_until_delivered()
        fake.send_text(USER, "menu")  # a marker: handled after the redelivered update
        sent = await fake.wait_for_sent(USER, 2)
        assert "Xin chào" not in str(sent[1]["text"])  # the redelivery was handled once

        fake.press_button(USER, "menu:help")
        await fake.wait_for_sent(USER, 3)
        (answer,) = await fake.wait_for_calls("answerCallbackQuery", 1)
        assert answer["ok"]
        assert answer.get("via") == "webhook"  # answered in the webhook reply, no extra request

        async with aiohttp.ClientSession() as client:
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-000000"}
            response = await client.post(url, json={"update_id": 1}, headers=wrong)
            assert response.status == 401
            response = await client.post(url, json={"update_id": 1})
            assert response.status == 401
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            response = await client.post(url, data="not json", headers=right)
            assert response.status == 200  # dropped: a redelivery could never succeed


async def test_the_command_menu_is_set_in_vietnamese(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    async with running(telegram_settings(tmp_path, fake)):
        (call,) = await fake.wait_for_calls("setMyCommands", 1)
        commands = call["params"]["commands"]
        names = [item["command"] for item in commands]
        assert names[:4] == ["start", "menu", "help", "huy"]
        assert "kiemtra" in names
        assert all(item["description"] for item in commands)


async def test_blocking_the_bot_marks_the_user_inactive(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    from sqlalchemy import select

    from storage import ChannelIdentity

    async with running(telegram_settings(tmp_path, fake)) as runtime:
        fake.send_command(USER, "start")
        await fake.wait_for_sent(USER, 1)
        fake.chat_member(USER, "kicked")
        await fake.wait_until_delivered()
        assert runtime.database is not None
        for _ in range(50):
            async with runtime.database.session() as session:
                identity = await session.scalar(select(ChannelIdentity))
            if identity is not None and identity.blocked_at is not None:
                break
            await asyncio.sleep(0.05)
        assert identity is not None
        assert identity.blocked_at is not None
