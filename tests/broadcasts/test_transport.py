"""The Telegram broadcast transport against the fake Bot API: what each answer becomes.

The transport posts prepared JSON without PTB's ``Bot``; these pin the outcomes the sender
relies on (sent with its id, blocked and not found never retried, 429 with its wait,
5xx transient, bad content) and the payload Telegram receives.
"""

from __future__ import annotations

import socket

import pytest
from telegram.error import InvalidToken

from bot.channels.telegram_broadcast import TelegramBroadcastTransport, api_url
from bot.core.delivery import Attachment, SendStatus
from bot.core.messages import Choice, OutboundMessage
from tests.fakes.telegram_api import HOST, FakeTelegramAPI, FaultKind, RateLimits

CHAT = "7001"
MESSAGE = OutboundMessage(text="Chào **bà con** <3", choices=(Choice("bc:1:stop", "Dừng"),))


async def _started(fake: FakeTelegramAPI, *, paid: bool = False) -> TelegramBroadcastTransport:
    transport = TelegramBroadcastTransport(fake.token, base_url=fake.base_url, paid=paid)
    await transport.start()
    return transport


async def test_a_sent_message_carries_its_id_html_and_keyboard(fake: FakeTelegramAPI) -> None:
    transport = await _started(fake)
    try:
        result = await transport.send(CHAT, MESSAGE)
    finally:
        await transport.stop()

    [sent] = fake.sent(CHAT)
    assert result.status is SendStatus.SENT
    assert len(result.message_ids) == 1
    assert result.message_ids[0].isdigit()
    assert sent["text"] == "Chào <b>bà con</b> &lt;3"
    assert sent["parse_mode"] == "HTML"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Dừng", "callback_data": "bc:1:stop"}]]
    }
    assert "allow_paid_broadcast" not in sent


async def test_paid_mode_asks_for_paid_broadcast(fake: FakeTelegramAPI) -> None:
    transport = await _started(fake, paid=True)
    try:
        result = await transport.send(CHAT, MESSAGE)
    finally:
        await transport.stop()

    assert result.status is SendStatus.SENT
    assert fake.sent(CHAT)[0]["allow_paid_broadcast"] is True


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("blocked", SendStatus.BLOCKED),
        ("deactivated", SendStatus.BLOCKED),
        ("chat_not_found", SendStatus.NOT_FOUND),
        ("server_error", SendStatus.TRANSIENT),
    ],
)
async def test_error_answers_become_send_statuses(
    fake: FakeTelegramAPI, fault: FaultKind, status: SendStatus
) -> None:
    fake.fail_next("sendMessage", error=fault, chat_id=CHAT)
    transport = await _started(fake)
    try:
        result = await transport.send(CHAT, MESSAGE)
    finally:
        await transport.stop()

    assert result.status is status
    assert result.detail
    assert not fake.sent(CHAT)


async def test_flood_control_gives_its_wait() -> None:
    async with FakeTelegramAPI(rate_limits=RateLimits(per_chat_burst=1, retry_after=3)) as fake:
        transport = await _started(fake)
        try:
            first = await transport.send(CHAT, MESSAGE)
            second = await transport.send(CHAT, MESSAGE)
        finally:
            await transport.stop()

    assert first.status is SendStatus.SENT
    assert second.status is SendStatus.RETRY_AFTER
    assert second.retry_after == 3.0


async def test_bad_html_is_bad_content(fake: FakeTelegramAPI) -> None:
    transport = await _started(fake)
    try:
        # Neutral text is escaped, so only a broken attachment reference can be refused here.
        result = await transport.send(CHAT, MESSAGE, attachment=Attachment("photo", ""))
    finally:
        await transport.stop()

    assert result.status is SendStatus.BAD_CONTENT
    assert "photo" in result.detail


async def test_a_photo_takes_the_text_as_caption_with_the_keyboard(
    fake: FakeTelegramAPI,
) -> None:
    transport = await _started(fake)
    try:
        result = await transport.send(
            CHAT, MESSAGE, attachment=Attachment("photo", "https://example.org/a.jpg")
        )
    finally:
        await transport.stop()

    [sent] = fake.sent(CHAT)
    assert result.status is SendStatus.SENT
    assert len(result.message_ids) == 1
    assert sent["method"] == "sendPhoto"
    assert sent["photo"] == "https://example.org/a.jpg"
    assert sent["caption"] == "Chào <b>bà con</b> &lt;3"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "bc:1:stop"


async def test_an_unreachable_api_is_transient_and_never_quotes_the_token() -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    transport = TelegramBroadcastTransport("1:SECRET", base_url=f"http://{HOST}:{port}/bot")
    await transport._request.initialize()  # past start's token check, as after a restart
    try:
        result = await transport.send(CHAT, MESSAGE)
    finally:
        await transport.stop()

    assert result.status is SendStatus.TRANSIENT
    assert "SECRET" not in result.detail


async def test_start_checks_the_token_and_stop_closes_after_a_failed_start(
    fake: FakeTelegramAPI,
) -> None:
    transport = TelegramBroadcastTransport("1:WRONG", base_url=fake.base_url)

    with pytest.raises(InvalidToken):
        await transport.start()
    await transport.stop()

    assert transport._request.closed


@pytest.mark.parametrize(
    ("base_url", "url"),
    [  # PTB's Bot.base_url for each (a field names the token's place, else it is appended)
        ("https://api.telegram.org/bot", "https://api.telegram.org/bot123:ABC"),
        ("http://localhost:8081/bot{token}", "http://localhost:8081/bot123:ABC"),
        ("http://localhost:8081/custom/{bot_token}/x", "http://localhost:8081/custom/123:ABC/x"),
        ("http://localhost:8081/{BOT-TOKEN}", "http://localhost:8081/123:ABC"),
    ],
)
def test_api_url_puts_the_token_where_ptb_does(base_url: str, url: str) -> None:
    assert api_url(base_url, "123:ABC") == url
