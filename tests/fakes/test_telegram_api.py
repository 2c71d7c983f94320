"""The fake Telegram Bot API answers python-telegram-bot 22 the way Telegram does."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.fakes.telegram_api import FakeTelegramAPI, parse_html

USER = 501
OTHER = 502


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


async def test_get_me_has_is_bot_and_username(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "khuyencong_test_bot"
    assert bot.id == 123456789


async def test_send_message_returns_a_real_message(fake: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
    message = await bot.send_message(
        USER, "<b>Chào</b> anh &amp; chị", parse_mode="HTML", reply_markup=keyboard
    )
    assert message.text == "Chào anh & chị"
    assert message.entities[0].type == "bold"
    assert (message.entities[0].offset, message.entities[0].length) == (0, 4)
    assert message.from_user is not None and message.from_user.is_bot
    # Dates are in seconds: a millisecond date would be tens of thousands of years away.
    assert abs((message.date - dtm.datetime.now(dtm.UTC)).total_seconds()) < 5
    assert message.reply_markup == keyboard
    [sent] = fake.sent(USER)
    assert sent["method"] == "sendMessage"
    assert sent["text"] == "<b>Chào</b> anh &amp; chị"
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"


async def test_reply_keyboard_is_not_echoed(fake: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Gửi số", request_contact=True)]])
    message = await bot.send_message(USER, "Số điện thoại?", reply_markup=keyboard)
    assert message.reply_markup is None
    assert fake.sent(USER)[0]["reply_markup"]["keyboard"][0][0]["request_contact"] is True


async def test_message_ids_increase_per_chat(bot: Bot) -> None:
    first = await bot.send_message(USER, "một")
    second = await bot.send_message(USER, "hai")
    other = await bot.send_message(OTHER, "ba")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)


async def test_length_is_checked_after_entity_parsing(bot: Bot) -> None:
    fits = "<b>" + "a" * 4096 + "</b>"
    assert len((await bot.send_message(USER, fits, parse_mode="HTML")).text or "") == 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b></b>", parse_mode="HTML")


async def test_callback_data_over_64_bytes_is_refused(fake: FakeTelegramAPI, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 64)]])
    await bot.send_message(USER, "ok", reply_markup=ok)
    # 42 characters but 70 bytes in UTF-8.
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="hỗ trợ" * 7)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "no", reply_markup=too_long)
    assert len(fake.sent(USER)) == 1
    assert fake.calls[-1]["ok"] is False


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_bad_html_is_refused(
    fake: FakeTelegramAPI, bot: Bot, text: str, detail: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert caught.value.message.startswith("Can't parse entities: ")
    assert fake.calls[-1]["error"] == f"Bad Request: can't parse entities: {detail}"


def test_parse_html_counts_utf16_and_entities() -> None:
    parsed = parse_html('👍 <a href="https://example.vn">x &lt; y</a>&#33;')
    assert parsed.text == "👍 x < y!"
    assert parsed.entities == [
        {"type": "text_link", "offset": 3, "length": 5, "url": "https://example.vn"}
    ]


@pytest.mark.parametrize(
    ("error", "exception", "message"),
    [
        ("blocked", Forbidden, "Forbidden: bot was blocked by the user"),
        ("deactivated", Forbidden, "Forbidden: user is deactivated"),
        ("chat_not_found", BadRequest, "Chat not found"),
        ("server_error", NetworkError, "Internal Server Error"),
    ],
)
async def test_faults_map_to_ptb_errors(
    fake: FakeTelegramAPI, bot: Bot, error: str, exception: type[Exception], message: str
) -> None:
    fake.fail_next("sendMessage", chat_id=USER, error=error)  # type: ignore[arg-type]
    await bot.send_message(OTHER, "not affected")
    with pytest.raises(exception) as caught:
        await bot.send_message(USER, "x")
    assert type(caught.value) is exception
    assert str(caught.value) == message
    await bot.send_message(USER, "only the next call fails")
    assert [sent["text"] for sent in fake.sent(USER)] == ["only the next call fails"]


async def test_retry_after_carries_the_seconds(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", error="retry_after", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "x")
        assert caught.value._retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(USER, "x")
    assert fake.calls[0]["error"] == "Too Many Requests: retry after 7"


async def test_blocking_the_bot_makes_sends_fail(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.chat_member(USER, "kicked")
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    fake.chat_member(USER, "member")
    await bot.send_message(USER, "x")
    kinds = [u.my_chat_member.new_chat_member.status for u in await bot.get_updates()]  # type: ignore[union-attr]
    assert kinds == ["kicked", "member"]


async def test_delay_slows_one_method(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.delay("sendMessage", 0.2)
    started = time.perf_counter()
    await bot.send_message(USER, "x")
    assert time.perf_counter() - started >= 0.2
    fake.delay("sendMessage", 0)
    started = time.perf_counter()
    await bot.send_message(USER, "x")
    assert time.perf_counter() - started < 0.2


async def test_get_updates_honours_offset_limit_and_timeout(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    ids = [fake.send_text(USER, f"tin {n}") for n in range(3)]
    assert ids == sorted(ids)
    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert first[0].message is not None and first[0].message.text == "tin 0"
    # An offset confirms everything below it.
    rest = await bot.get_updates(offset=ids[1] + 1)
    assert [u.update_id for u in rest] == ids[2:]
    assert fake.pending_count == 1
    assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == ()
    assert fake.pending_count == 0
    # A long poll returns as soon as an update arrives.
    asyncio.get_running_loop().call_later(0.05, fake.send_text, USER, "muộn")
    started = time.perf_counter()
    late = await bot.get_updates(offset=ids[2] + 1, timeout=5)
    assert [u.message.text for u in late if u.message] == ["muộn"]
    assert time.perf_counter() - started < 1


async def test_polling_round_trip_with_application(fake: FakeTelegramAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Đã nhận: {update.effective_message.text}")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5, allowed_updates=["message"])
        fake.send_text(USER, "xin chào")
        [reply] = await fake.wait_for_sent(USER, 1)
        await app.updater.stop()
        await app.stop()
    assert reply["text"] == "Đã nhận: xin chào"
    assert fake.allowed_updates == ["message"]
    assert fake.pending_count == 0  # the updater confirmed the update when it stopped


async def test_allowed_updates_filters_new_updates(fake: FakeTelegramAPI, bot: Bot) -> None:
    await bot.get_updates(allowed_updates=["callback_query"], timeout=0)
    fake.send_text(USER, "bị lọc")
    assert await bot.get_updates(timeout=0) == ()
    assert fake.dropped_updates[0]["message"]["text"] == "bị lọc"


async def test_commands_contacts_and_locations_parse(fake: FakeTelegramAPI, bot: Bot) -> None:
    fake.send_command(USER, "start", args="ref42")
    fake.share_contact(USER, "+84912345678")
    fake.share_contact(USER, "0987654321", contact_user_id=OTHER)
    fake.share_contact(USER, "0987654322", contact_user_id=None)
    fake.send_location(USER, 21.02, 105.85)
    fake.send_sticker(USER)
    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert messages[0].text == "/start ref42"
    assert messages[0].parse_entities(["bot_command"])
    contacts = [m.contact for m in messages[1:4]]
    assert [c.user_id for c in contacts if c] == [USER, OTHER, None]
    assert messages[4].location is not None and messages[4].location.longitude == 105.85
    assert messages[5].sticker is not None


async def test_button_press_and_callback_answer(fake: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="lead:ok:1")]])
    sent = await bot.send_message(USER, "Xác nhận?", reply_markup=keyboard)
    with pytest.raises(LookupError):
        fake.press_button(USER, "lead:ok:2")
    fake.press_button(USER, "lead:ok:1")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "lead:ok:1"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == USER
    assert await query.answer("Đã ghi nhận")
    assert fake.callback_answers == [{"callback_query_id": query.id, "text": "Đã ghi nhận"}]
    with pytest.raises(BadRequest, match="query id is invalid"):
        await query.answer()


async def test_edit_and_delete_messages(fake: FakeTelegramAPI, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(USER, "cũ", reply_markup=keyboard)
    edited = await bot.edit_message_text("mới", chat_id=USER, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "mới"
    assert edited.edit_date is not None and edited.reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("mới", chat_id=USER, message_id=sent.message_id)
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
    assert fake.message(USER, sent.message_id)["reply_markup"] == keyboard.to_dict()
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)


async def test_commands_documents_and_chat_actions(fake: FakeTelegramAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("huy", "Hủy")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "huy"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bắt-đầu", "x")])
    assert await bot.send_chat_action(USER, "typing")
    document = await bot.send_document(USER, b"a,b\n1,2\n", filename="leads.csv", caption="Tệp")
    assert document.document is not None and document.document.file_name == "leads.csv"
    assert document.document.file_size == 8
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    methods = [sent["method"] for sent in fake.sent()]
    assert methods == [
        "setMyCommands",
        "sendChatAction",
        "sendDocument",
        "deleteMyCommands",
    ]


async def test_unknown_method_and_wrong_token(fake: FakeTelegramAPI) -> None:
    async with ClientSession() as http:
        async with http.post(f"{fake.base_url}{fake.token}/sendTelepathy") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.post(f"{fake.base_url}1:wrong/getMe") as response:
            assert response.status == 401


async def test_json_and_form_bodies_are_read_alike(fake: FakeTelegramAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    url = f"{fake.base_url}{fake.token}/sendMessage"
    async with ClientSession() as http:
        body = {"chat_id": USER, "text": "123", "reply_markup": markup}
        async with http.post(url, json=body) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        form = {"chat_id": str(USER), "text": "123", "reply_markup": '{"inline_keyboard": '
                '[[{"text": "A", "callback_data": "a"}]]}'}  # fmt: skip
        async with http.post(url, data=form) as response:
            assert (await response.json())["ok"] is True
    first, second = fake.sent(USER)
    assert first == second
    assert second["text"] == "123"  # a numeric text stays a string


async def test_control_routes_over_http(fake: FakeTelegramAPI, bot: Bot) -> None:
    async with ClientSession() as http:
        async with http.post(
            f"{fake.url}/_test/updates", json={"type": "text", "user_id": USER, "text": "qua HTTP"}
        ) as response:
            update_id = (await response.json())["update_id"]
        async with http.post(
            f"{fake.url}/_test/faults",
            json={"method": "sendMessage", "error": "chat_not_found", "chat_id": OTHER},
        ):
            pass
        [update] = await bot.get_updates()
        assert update.update_id == update_id
        await bot.send_message(USER, "trả lời")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(OTHER, "x")
        async with http.get(f"{fake.url}/_test/sent", params={"chat_id": str(USER)}) as response:
            assert [s["text"] for s in (await response.json())["sent"]] == ["trả lời"]
        async with http.post(f"{fake.url}/_test/reset"):
            pass
    assert fake.sent() == []


class _Receiver:
    """A webhook endpoint answering with scripted statuses and recording what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[str | None, dict[str, object]]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), body))
        self.arrived.set()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[_Receiver, str]]:
    target = _Receiver([])
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield target, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_webhook_pushes_with_secret_and_retries(
    fake: FakeTelegramAPI, bot: Bot, receiver: tuple[_Receiver, str]
) -> None:
    target, url = receiver
    target.statuses = [503, 500]
    assert await bot.set_webhook(url, secret_token="s3cr3t", allowed_updates=["message"])
    info = await bot.get_webhook_info()
    assert info.url == url and info.allowed_updates == ("message",)
    update_id = fake.send_text(USER, "qua webhook")
    await fake.wait_until_delivered()
    assert [secret for secret, _ in target.received] == ["s3cr3t"] * 3
    assert [body["update_id"] for _, body in target.received] == [update_id] * 3
    assert [d["status"] for d in fake.webhook_deliveries] == [503, 500, 200]
    assert (await bot.get_webhook_info()).last_error_message is not None
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    # Redelivery sends the same update id again.
    target.received.clear()
    fake.redeliver(update_id)
    await fake.wait_until_delivered()
    assert target.received[0][1]["update_id"] == update_id
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_webhook_gives_up_after_a_few_attempts(
    fake: FakeTelegramAPI, bot: Bot, receiver: tuple[_Receiver, str]
) -> None:
    target, url = receiver
    target.statuses = [500] * 10
    await bot.set_webhook(url)
    update_id = fake.send_text(USER, "mất")
    second = fake.send_text(USER, "đến")
    await fake.wait_until_delivered()
    assert [body["update_id"] for _, body in target.received] == [update_id] * 3 + [second] * 3
    assert [u["update_id"] for u in fake.dropped_updates] == [update_id, second]
    assert target.received[0][0] is None  # no secret configured, no header
