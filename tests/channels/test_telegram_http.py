"""AiohttpRequest driven by a real ``telegram.Bot`` against the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest

from bot.channels.telegram_http import AiohttpRequest, api_error, api_result
from tests.fakes.telegram_api import DEFAULT_BOT_USERNAME, HOST, FakeTelegramAPI

LAN = 7000001
#: Enough to notice a timeout that should not fire, short enough to keep the tests quick.
SLOW = 0.4
SHORT_TIMEOUT = 0.1

BotFactory = Callable[..., Bot]


def six_button_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"Option {row}{col}", callback_data=f"pick:{row}{col}")
                for col in range(2)
            ]
            for row in range(3)
        ]
    )


@pytest.fixture
async def make_bot(fake: FakeTelegramAPI) -> AsyncIterator[BotFactory]:
    """Bots on AiohttpRequest (``request`` options apply to both of a bot's requests)."""
    requests: list[AiohttpRequest] = []

    def make(*, base_url: str | None = None, **options: Any) -> Bot:
        request, poll_request = AiohttpRequest(**options), AiohttpRequest(**options)
        requests.extend((request, poll_request))
        return Bot(
            fake.token,
            base_url=base_url or fake.base_url,
            request=request,
            get_updates_request=poll_request,
        )

    yield make
    # Directly, not via Bot.shutdown: that skips requests of a bot whose initialize failed.
    for request in requests:
        await request.shutdown()


@pytest.fixture
async def bot(make_bot: BotFactory) -> Bot:
    bot = make_bot()
    await bot.initialize()
    return bot


def aiohttp_request(bot: Bot) -> AiohttpRequest:
    request = bot.request
    assert isinstance(request, AiohttpRequest)
    return request


# -- calls ---------------------------------------------------------------------------------


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()

    assert me.username == DEFAULT_BOT_USERNAME
    assert me.is_bot


async def test_send_message_goes_as_json_with_keyboard_intact(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    keyboard = six_button_keyboard()

    message = await bot.send_message(
        # A string chat id shows the body was JSON: in a form body every value is a string,
        # and the fake decodes a numeric one to an int, as Telegram reads its form fields.
        str(LAN),
        "<b>Hello</b> & welcome",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )

    assert fake.sent(LAN) == [
        {
            "method": "sendMessage",
            "chat_id": str(LAN),
            "text": "<b>Hello</b> & welcome",
            "parse_mode": "HTML",
            "reply_markup": keyboard.to_dict(),
        }
    ]
    assert message.text == "Hello & welcome"
    assert message.reply_markup == keyboard


async def test_send_document_uploads_multipart_with_its_name(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    content = b"col_a,col_b\n1,2\n"
    # Spaces and diacritics must arrive as typed, not percent-encoded.
    name = "Báo cáo tháng 5.csv"

    message = await bot.send_document(
        LAN, content, filename=name, caption="<i>report</i>", parse_mode=ParseMode.HTML
    )

    [sent] = fake.sent(LAN)
    assert sent["method"] == "sendDocument"
    assert sent["document"] == {"file_name": name, "file_size": len(content)}
    assert sent["caption"] == "<i>report</i>"
    assert sent["chat_id"] == LAN
    assert message.document is not None
    assert message.document.file_name == name
    assert message.caption == "report"


async def test_get_without_body_retrieves_raw_bytes(bot: Bot, fake: FakeTelegramAPI) -> None:
    """``retrieve`` (file downloads) is a GET with no body; it returns the body unparsed."""
    payload = await aiohttp_request(bot).retrieve(f"{fake.base_url}{fake.token}/getMe")

    assert payload.startswith(b'{"ok": true')
    assert DEFAULT_BOT_USERNAME.encode() in payload


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("blocked", Forbidden, "bot was blocked by the user"),
        ("chat_not_found", BadRequest, "chat not found"),
        ("server_error", NetworkError, "internal server error"),
    ],
)
async def test_api_errors_map_to_ptb_exceptions(
    bot: Bot, fake: FakeTelegramAPI, fault: Any, error: type[Exception], words: str
) -> None:
    fake.fail_next("sendMessage", error=fault)

    with pytest.raises(error) as info:
        await bot.send_message(LAN, "hello")

    # Exact type: BaseRequest maps a 500 to NetworkError itself, not to TimedOut and the like.
    assert type(info.value) is error
    assert words in str(info.value).lower()


async def test_flood_control_carries_retry_after(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.fail_next("sendMessage", error="retry_after", retry_after=7)

    with pytest.raises(RetryAfter) as info:
        await bot.send_message(LAN, "hello")

    assert info.value.retry_after == timedelta(seconds=7)


async def test_slow_answer_times_out_unless_the_call_allows_more(
    make_bot: BotFactory, fake: FakeTelegramAPI
) -> None:
    bot = make_bot(read_timeout=SHORT_TIMEOUT)
    await bot.initialize()
    fake.delay("sendMessage", SLOW)

    with pytest.raises(TimedOut):
        await bot.send_message(LAN, "default timeout")
    # An explicit value replaces the default; an explicit None means no limit at all.
    await bot.send_message(LAN, "longer timeout", read_timeout=SLOW * 5)
    await bot.send_message(LAN, "no timeout", read_timeout=None)

    assert [sent["text"] for sent in fake.sent(LAN)] == ["longer timeout", "no timeout"]


async def test_full_pool_times_out(make_bot: BotFactory, fake: FakeTelegramAPI) -> None:
    """aiohttp bounds the wait for a pooled connection by pool plus connect timeout."""
    bot = make_bot(
        connection_pool_size=1, pool_timeout=SHORT_TIMEOUT, connect_timeout=SHORT_TIMEOUT
    )
    await bot.initialize()
    fake.delay("sendMessage", SLOW)

    first, second = await asyncio.gather(
        bot.send_message(LAN, "takes the only connection"),
        bot.send_message(LAN, "waits for it"),
        return_exceptions=True,
    )

    assert not isinstance(first, BaseException)
    assert isinstance(second, TimedOut)
    assert "connection" in str(second)


async def test_refused_connection_is_a_network_error(make_bot: BotFactory) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused at once.
    bot = make_bot(base_url=f"http://{HOST}:{port}/bot")

    with pytest.raises(NetworkError) as info:
        await bot.initialize()

    assert not isinstance(info.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in str(info.value)
    assert bot.token not in str(info.value)  # the URL, and so the token, is never quoted


# -- prepared JSON (the broadcast transport's path) ---------------------------------------


class CannedRequest(BaseRequest):
    """PTB's own request logic over one canned answer: the reference for ``api_error``."""

    def __init__(self, status: int, body: bytes) -> None:
        self._answer = (status, body)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        return self._answer


def _error_answer(status: int, description: str, **parameters: Any) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body).encode()


ERROR_ANSWERS = [
    (403, _error_answer(403, "Forbidden: bot was blocked by the user")),
    (400, _error_answer(400, "Bad Request: chat not found")),
    (400, _error_answer(400, "Bad Request: can't parse entities")),
    (429, _error_answer(429, "Too Many Requests: retry after 7", retry_after=7)),
    (400, _error_answer(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1007)),
    (400, _error_answer(400, "Bad Request: odd", unknown=1)),
    (401, _error_answer(401, "Unauthorized")),
    (404, _error_answer(404, "Not Found")),
    (409, _error_answer(409, "Conflict: terminated by other getUpdates request")),
    (500, _error_answer(500, "Internal Server Error")),
    (502, b"<html>Bad Gateway</html>"),
    (503, _error_answer(503, "")),
    (599, b"{}"),
]


@pytest.mark.parametrize(("status", "body"), ERROR_ANSWERS)
async def test_api_error_is_the_exception_ptb_raises(status: int, body: bytes) -> None:
    with pytest.raises(TelegramError) as info:
        await CannedRequest(status, body).post("http://fake/botTOKEN/sendMessage")
    expected = info.value

    ours = api_error(status, body)

    assert type(ours) is type(expected)
    assert ours.message == expected.message
    if isinstance(expected, RetryAfter):
        assert isinstance(ours, RetryAfter)
        assert ours.retry_after == expected.retry_after
    if isinstance(expected, ChatMigrated):
        assert isinstance(ours, ChatMigrated)
        assert ours.new_chat_id == expected.new_chat_id
    with pytest.raises(type(expected)):
        api_result(status, body)


def test_api_result_of_a_success_is_its_result() -> None:
    assert api_result(200, b'{"ok":true,"result":{"message_id":5}}') == {"message_id": 5}
    with pytest.raises(TelegramError, match="Invalid server response"):
        api_result(200, b"not json")


async def test_post_json_sends_prepared_json(fake: FakeTelegramAPI) -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        url = f"{fake.base_url}{fake.token}/sendMessage"
        keyboard = {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
        status, body = await request.post_json(
            url,
            {
                "chat_id": LAN,
                "text": "<b>Xin chào</b>",
                "parse_mode": "HTML",
                "reply_markup": keyboard,
            },
        )
    finally:
        await request.shutdown()

    assert status == 200
    assert api_result(status, body)["message_id"]
    [sent] = fake.sent(LAN)
    assert sent["text"] == "<b>Xin chào</b>"
    assert sent["reply_markup"] == keyboard


async def test_post_json_before_initialize_or_to_nowhere() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError):
        await request.post_json("http://127.0.0.1:9/botTOKEN/getMe", {})
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as info:
            await request.post_json(f"http://{HOST}:{port}/botSECRET/getMe", {})
    finally:
        await request.shutdown()

    assert "SECRET" not in str(info.value)


# -- lifecycle -----------------------------------------------------------------------------


async def test_shutdown_is_idempotent_and_initialize_reopens(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    request = aiohttp_request(bot)
    assert not request.closed

    await bot.shutdown()
    assert request.closed
    await request.shutdown()  # a second shutdown is harmless
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{fake.base_url}{fake.token}/getMe")

    await bot.initialize()
    await request.initialize()  # a second initialize keeps the open session
    assert not request.closed
    await bot.send_message(LAN, "after restart")
    assert [sent["text"] for sent in fake.sent(LAN)] == ["after restart"]


@contextlib.asynccontextmanager
async def keep_alive_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A bare HTTP/1.1 keep-alive server answering ``{"ok": true, "result": true}``; the
    event is set when the client closes its connection (the fake cannot report that)."""
    hung_up = asyncio.Event()
    body = b'{"ok":true,"result":true}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(answer % (len(body), body))
                await writer.drain()
        except asyncio.IncompleteReadError:
            hung_up.set()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://{HOST}:{port}", hung_up


async def test_shutdown_closes_pooled_connections() -> None:
    request = AiohttpRequest()
    async with keep_alive_server() as (url, hung_up):
        await request.initialize()
        assert await request.post(f"{url}/botTOKEN/getMe") is True
        assert not hung_up.is_set()  # the connection stays open for the next call

        await request.shutdown()

        await asyncio.wait_for(hung_up.wait(), timeout=1)


# -- long polling --------------------------------------------------------------------------


async def test_get_updates_long_polls_past_the_read_timeout(
    make_bot: BotFactory, fake: FakeTelegramAPI
) -> None:
    """PTB adds the poll time to the read timeout; the poll must outlive the plain one."""
    bot = make_bot(read_timeout=SHORT_TIMEOUT)
    await bot.initialize()

    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(SLOW)
    assert not poll.done()
    fake.send_text(LAN, "hello bot")
    updates = await asyncio.wait_for(poll, timeout=2)

    assert len(updates) == 1
    assert updates[0].message is not None
    assert updates[0].message.text == "hello bot"
    assert updates[0].message.chat.id == LAN
