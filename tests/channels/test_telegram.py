"""Telegram adapter against the fake Bot API, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from telegram import Update
from telegram.error import ChatMigrated, InvalidToken, TimedOut

from bot.channels.base import SendStatus
from bot.channels.telegram import (
    ALLOWED_UPDATES,
    WEBHOOK_PATH,
    TelegramChannel,
    event_from_json,
    send_failure,
    to_event,
    to_html,
)
from bot.core.content import DEFAULT_CONTENT_DIR
from bot.core.messages import (
    Choice,
    EventKind,
    GeoLocation,
    InboundEvent,
    Link,
    OutboundMessage,
    SharedContact,
)
from bot.core.texts import Texts
from tests.fakes.telegram_api import FakeTelegramAPI, parse_html

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
SECRET = "test_secret-0123456789abcdef"
LAN = 7000001
BINH = 7000002


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(DEFAULT_CONTENT_DIR)


class Recorder:
    """The engine's ``dispatch`` stand-in: records events, optionally slow or failing."""

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self.log: list[tuple[str, str]] = []
        self.fail_times = 0
        self.delays: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)
        self._note("start", event.text)
        await asyncio.sleep(self.delays.get(event.text, 0))
        self._note("end", event.text)
        if self.fail_times:
            self.fail_times -= 1
            msg = "engine crashed"
            raise RuntimeError(msg)

    def _note(self, what: str, text: str) -> None:
        self.log.append((what, text))
        self.changed.set()

    async def wait_for(self, count: int, *, finished: bool = False) -> list[InboundEvent]:
        """Wait for ``count`` events (and, with ``finished``, for their handling to end)."""

        def done() -> bool:
            ends = sum(1 for what, _ in self.log if what == "end")
            return len(self.events) >= count and (not finished or ends >= count)

        async with asyncio.timeout(2):
            while not done():
                self.changed.clear()
                await self.changed.wait()
        return self.events


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


ChannelFactory = Callable[..., Awaitable[TelegramChannel]]


@pytest.fixture
async def make_channel(
    fake: FakeTelegramAPI, recorder: Recorder, texts: Texts
) -> AsyncIterator[ChannelFactory]:
    channels: list[TelegramChannel] = []

    async def make(*, mode: str = "polling", **options: Any) -> TelegramChannel:
        options.setdefault("rate_limit_retries", 0)
        channel = TelegramChannel(
            fake.token,
            dispatch=recorder,
            texts=texts,
            base_url=fake.base_url,
            webhook_secret=SECRET,
            **options,
        )
        channels.append(channel)
        if mode == "polling":
            await channel.start_polling()
        return channel

    yield make
    for channel in channels:
        await channel.stop()


@pytest.fixture
async def polling(make_channel: ChannelFactory) -> TelegramChannel:
    return await make_channel()


def load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


Converter = Callable[[dict[str, Any]], InboundEvent | None]


@pytest.fixture(params=["webhook-json", "polling-ptb"])
def convert(request: pytest.FixtureRequest) -> Converter:
    """Both inbound paths: the webhook reads the JSON, polling gets PTB's Update objects."""
    if request.param == "webhook-json":
        return event_from_json
    return lambda data: to_event(Update.de_json(data, None))


# -- conversion ------------------------------------------------------------------------------


def test_text_message_converts(convert: Converter) -> None:
    event = convert(load_json("text.json"))
    assert event == InboundEvent(
        channel="telegram",
        user_id=str(LAN),
        chat_id=str(LAN),
        event_id="804210001",
        kind=EventKind.TEXT,
        text="Cho tôi hỏi về <b>máy móc</b> & thiết bị",
        received_at=datetime.fromtimestamp(1764190000, UTC),
    )


@pytest.mark.parametrize(
    ("fixture", "command", "args"),
    [("command.json", "start", "ref_hoi_cho"), ("command_huy.json", "huy", "")],
)
def test_commands_drop_slash_and_bot_name(
    fixture: str, command: str, args: str, convert: Converter
) -> None:
    event = convert(load_json(fixture))
    assert event is not None
    assert (event.kind, event.text, event.args) == (EventKind.COMMAND, command, args)


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("/Huỷ", "huy", ""),
        ("/dangky@khuyencong_test_bot   mây tre\nđan ", "dangky", "mây tre\nđan"),
        ("/home/lan", "home/lan", ""),
    ],
)
def test_typed_commands_are_folded(text: str, command: str, args: str, convert: Converter) -> None:
    data = json.loads((FIXTURES / "text.json").read_text(encoding="utf-8"))
    data["message"]["text"] = text
    event = convert(data)
    assert event is not None
    assert (event.kind, event.text, event.args) == (EventKind.COMMAND, command, args)


@pytest.mark.parametrize("text", ["/", "/ đăng ký", "gõ /start"])
def test_slash_text_that_is_no_command_stays_text(text: str, convert: Converter) -> None:
    data = json.loads((FIXTURES / "text.json").read_text(encoding="utf-8"))
    data["message"]["text"] = text
    event = convert(data)
    assert event is not None and (event.kind, event.text) == (EventKind.TEXT, text)


def test_callback_query_is_a_choice(convert: Converter) -> None:
    event = convert(load_json("callback_query.json"))
    assert event is not None
    assert (event.kind, event.text, event.event_id) == (
        EventKind.CHOICE,
        "policies:start",
        "804210004",
    )
    assert (event.user_id, event.chat_id) == (str(LAN), str(LAN))


@pytest.mark.parametrize(
    ("fixture", "contact"),
    [
        ("contact_own.json", SharedContact("84912345678", str(LAN), "Lan")),
        ("contact_other.json", SharedContact("+84987654321", str(BINH), "Bình")),
        ("contact_no_account.json", SharedContact("0203123456", None, "Xưởng mây tre")),
    ],
)
def test_contacts_keep_their_owner(
    fixture: str, contact: SharedContact, convert: Converter
) -> None:
    event = convert(load_json(fixture))
    assert event is not None
    assert (event.kind, event.contact) == (EventKind.CONTACT, contact)


def test_location_converts(convert: Converter) -> None:
    event = convert(load_json("location.json"))
    assert event is not None
    assert event.kind is EventKind.LOCATION
    assert event.location == GeoLocation(21.027763, 105.83416)


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("my_chat_member_kicked.json", EventKind.BLOCKED),
        ("my_chat_member_member.json", EventKind.UNBLOCKED),
    ],
)
def test_blocking_and_unblocking_in_private_chat(
    fixture: str, kind: EventKind, convert: Converter
) -> None:
    event = convert(load_json(fixture))
    assert event is not None
    assert (event.kind, event.user_id, event.chat_id) == (kind, str(LAN), str(LAN))


@pytest.mark.parametrize(
    ("fixture", "text"), [("sticker.json", ""), ("photo_caption.json", "Ảnh máy dệt của cơ sở")]
)
def test_other_messages_are_unknown(fixture: str, text: str, convert: Converter) -> None:
    event = convert(load_json(fixture))
    assert event is not None and (event.kind, event.text) == (EventKind.UNKNOWN, text)


def test_group_reply_keeps_the_replied_message(convert: Converter) -> None:
    event = convert(load_json("group_reply.json"))
    assert event is not None
    assert (event.chat_id, event.user_id) == ("-1001234567890", "7000009")
    assert event.reply_to_message_id == "305"


@pytest.mark.parametrize("fixture", ["my_chat_member_group.json", "edited_message.json"])
def test_ignored_updates(fixture: str, convert: Converter) -> None:
    assert convert(load_json(fixture)) is None


# -- rendering and sending ---------------------------------------------------------------------


def test_to_html_escapes_then_bolds() -> None:
    assert to_html("a <b> & **đậm** 1 < 2") == "a &lt;b&gt; &amp; <b>đậm</b> 1 &lt; 2"
    assert to_html("**chưa đóng") == "**chưa đóng"


async def test_user_text_with_tags_arrives_escaped(
    fake: FakeTelegramAPI, polling: TelegramChannel
) -> None:
    result = await polling.send(str(LAN), OutboundMessage(text="Anh hỏi: <b>máy</b> & **giá**"))
    assert result.ok and result.message_ids == ("1",)
    [sent] = fake.sent(LAN)
    assert sent["parse_mode"] == "HTML"
    assert sent["text"] == "Anh hỏi: &lt;b&gt;máy&lt;/b&gt; &amp; <b>giá</b>"
    shown = fake.message(LAN, 1)
    assert shown["text"] == "Anh hỏi: <b>máy</b> & giá"
    assert shown["entities"] == [{"type": "bold", "offset": 22, "length": 3}]


async def test_long_text_is_split_with_buttons_on_the_last_part(
    fake: FakeTelegramAPI, polling: TelegramChannel
) -> None:
    paragraphs = [f"Đoạn {n}: " + "chữ " * 250 for n in range(5)]
    text = "\n\n".join(paragraphs)
    assert len(text) == 5048
    message = OutboundMessage(text=text, choices=(Choice("menu:main", "Menu"),))
    result = await polling.send(str(LAN), message)
    assert result.ok and len(result.message_ids) == 2
    first, second = fake.sent(LAN)
    assert "reply_markup" not in first
    assert second["reply_markup"]["inline_keyboard"] == [
        [{"text": "Menu", "callback_data": "menu:main"}]
    ]
    shown = [parse_html(part["text"]).text for part in (first, second)]
    assert all(len(part) <= 4096 for part in shown)
    assert "\n\n".join(shown) == text.replace("**", "")


async def test_choices_become_inline_rows_and_links_url_buttons(
    fake: FakeTelegramAPI, polling: TelegramChannel
) -> None:
    longest = "policies:prog:" + "x" * 50
    assert len(longest.encode()) == 64
    message = OutboundMessage(
        text="Chọn một mục",
        choices=(Choice("a:1", "Một"), Choice("a:2", "Hai"), Choice(longest, "Ba")),
        links=(Link("Trang web", "https://khuyencong.example.vn"),),
        columns=2,
    )
    assert (await polling.send(str(LAN), message)).ok
    [sent] = fake.sent(LAN)
    assert sent["reply_markup"]["inline_keyboard"] == [
        [{"text": "Một", "callback_data": "a:1"}, {"text": "Hai", "callback_data": "a:2"}],
        [{"text": "Ba", "callback_data": longest}],
        [{"text": "Trang web", "url": "https://khuyencong.example.vn"}],
    ]


async def test_contact_button_then_keyboard_removed(
    fake: FakeTelegramAPI, polling: TelegramChannel, texts: Texts
) -> None:
    ask = OutboundMessage(text="Anh/chị cho xin số điện thoại ạ.", request_contact=True)
    assert (await polling.send(str(LAN), ask)).ok
    keyboard = fake.sent(LAN)[0]["reply_markup"]
    assert keyboard["keyboard"] == [
        [{"text": texts.label("telegram.share_contact"), "request_contact": True}]
    ]
    assert keyboard["one_time_keyboard"] is True
    # The next message (the contact arrived, or a typed phone) removes the keyboard and
    # still carries its own inline buttons.
    confirm = OutboundMessage(text="Xác nhận?", choices=(Choice("lead:ok", "Đúng"),))
    result = await polling.send(str(LAN), confirm)
    assert result.ok
    _, removal, buttons = fake.sent(LAN)
    assert removal["method"] == "sendMessage"
    assert removal["reply_markup"] == {"remove_keyboard": True}
    assert buttons["method"] == "editMessageReplyMarkup"
    assert buttons["message_id"] == int(result.message_ids[0])
    assert fake.message(LAN, 2)["reply_markup"]["inline_keyboard"][0][0]["text"] == "Đúng"
    # Only once.
    assert (await polling.send(str(LAN), OutboundMessage(text="Cảm ơn anh/chị."))).ok
    assert "reply_markup" not in fake.sent(LAN)[-1]


async def test_contact_button_with_choices_keeps_them_as_typed_buttons(
    fake: FakeTelegramAPI, polling: TelegramChannel
) -> None:
    ask = OutboundMessage(
        text="Số điện thoại?", request_contact=True, choices=(Choice("lead:skip", "Bỏ qua"),)
    )
    assert (await polling.send(str(LAN), ask)).ok
    rows = fake.sent(LAN)[0]["reply_markup"]["keyboard"]
    assert rows[1] == [{"text": "Bỏ qua"}]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("blocked", SendStatus.BLOCKED),
        ("deactivated", SendStatus.BLOCKED),
        ("chat_not_found", SendStatus.NOT_FOUND),
        ("retry_after", SendStatus.RETRY_AFTER),
        ("server_error", SendStatus.TRANSIENT),
    ],
)
async def test_send_maps_faults(
    fake: FakeTelegramAPI, polling: TelegramChannel, error: str, status: SendStatus
) -> None:
    fake.fail_next("sendMessage", chat_id=LAN, error=error, retry_after=3)  # type: ignore[arg-type]
    result = await polling.send(str(LAN), OutboundMessage(text="Xin chào"))
    assert result.status is status
    assert result.detail
    assert result.retry_after == (3.0 if status is SendStatus.RETRY_AFTER else 0.0)
    assert (await polling.send(str(LAN), OutboundMessage(text="Xin chào"))).ok


async def test_refused_content_is_bad_content(polling: TelegramChannel) -> None:
    result = await polling.send(str(LAN), OutboundMessage(text="   "))
    assert result.status is SendStatus.BAD_CONTENT
    assert "empty" in result.detail


async def test_partial_send_reports_the_parts_sent(
    fake: FakeTelegramAPI, polling: TelegramChannel
) -> None:
    text = "\n\n".join(["a" * 4000, "b" * 4000])
    fake.fail_next("sendMessage", chat_id=LAN, error="server_error", after=1)
    result = await polling.send(str(LAN), OutboundMessage(text=text))
    assert result.status is SendStatus.TRANSIENT
    assert result.message_ids == ("1",)
    assert [parse_html(s["text"]).text for s in fake.sent(LAN)] == ["a" * 4000]


async def test_rate_limiter_retries_a_short_flood_wait(
    fake: FakeTelegramAPI, make_channel: ChannelFactory
) -> None:
    channel = await make_channel(rate_limit_retries=2)
    fake.fail_next("sendMessage", error="retry_after", retry_after=0.05)
    result = await channel.send(str(LAN), OutboundMessage(text="Xin chào"))
    assert result.ok
    assert [call["ok"] for call in fake.calls if call["method"] == "sendMessage"] == [False, True]


async def test_network_failure_is_transient(
    fake: FakeTelegramAPI, make_channel: ChannelFactory
) -> None:
    channel = await make_channel(mode="webhook")
    await channel.start_webhook("http://127.0.0.1:9")  # no updater that would keep retrying
    await fake.close()
    result = await channel.send(str(LAN), OutboundMessage(text="Xin chào"))
    assert result.status is SendStatus.TRANSIENT
    assert "connect" in result.detail.lower()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (TimedOut(), SendStatus.TRANSIENT),
        (InvalidToken("Not Found"), SendStatus.TRANSIENT),
        (ChatMigrated(-100123), SendStatus.NOT_FOUND),
    ],
)
def test_send_failure_for_errors_the_fake_cannot_cause(
    error: Exception, status: SendStatus
) -> None:
    assert send_failure(error, sent=("7",)).status is status  # type: ignore[arg-type]


async def test_send_before_start_is_transient(texts: Texts, recorder: Recorder) -> None:
    channel = TelegramChannel("1:x", dispatch=recorder, texts=texts)
    result = await channel.send("1", OutboundMessage(text="x"))
    assert result.status is SendStatus.TRANSIENT
    assert channel.capabilities.supports_contact_request


async def test_set_commands_uses_content_labels(
    fake: FakeTelegramAPI, polling: TelegramChannel, texts: Texts
) -> None:
    await polling.set_commands()
    [commands] = fake.commands.values()
    assert [c["command"] for c in commands] == ["start", "menu", "help", "huy"]
    assert commands[3]["description"] == texts.label("telegram.commands.huy")


# -- polling ---------------------------------------------------------------------------------


async def test_polling_delivers_to_dispatch(
    fake: FakeTelegramAPI, polling: TelegramChannel, recorder: Recorder
) -> None:
    update_id = fake.send_text(LAN, "xin chào")
    [event] = await recorder.wait_for(1)
    assert (event.kind, event.text, event.event_id) == (EventKind.TEXT, "xin chào", str(update_id))
    assert fake.allowed_updates == list(ALLOWED_UPDATES)


async def test_one_user_in_order_other_users_alongside(
    fake: FakeTelegramAPI, polling: TelegramChannel, recorder: Recorder
) -> None:
    recorder.delays = {"lan 1": 0.2, "lan 2": 0.0, "binh 1": 0.0}
    fake.send_text(LAN, "lan 1")
    fake.send_text(LAN, "lan 2")
    fake.send_text(BINH, "binh 1")
    await recorder.wait_for(3, finished=True)
    log = recorder.log
    assert log.index(("end", "lan 1")) < log.index(("start", "lan 2"))
    assert log.index(("end", "binh 1")) < log.index(("end", "lan 1"))


async def test_callback_answered_even_when_dispatch_fails(
    fake: FakeTelegramAPI, polling: TelegramChannel, recorder: Recorder
) -> None:
    menu = OutboundMessage(text="Menu", choices=(Choice("policies:start", "Chính sách"),))
    assert (await polling.send(str(LAN), menu)).ok
    recorder.fail_times = 1
    fake.press_button(LAN, "policies:start")
    [event] = await recorder.wait_for(1)
    assert (event.kind, event.text) == (EventKind.CHOICE, "policies:start")
    await fake.wait_for_calls("answerCallbackQuery", 1)
    assert len(fake.callback_answers) == 1


async def test_contact_and_block_updates_reach_dispatch(
    fake: FakeTelegramAPI, polling: TelegramChannel, recorder: Recorder
) -> None:
    fake.share_contact(LAN, "0912345678")
    fake.chat_member(LAN, "kicked")
    first, second = await recorder.wait_for(2)
    assert first.contact == SharedContact("0912345678", str(LAN), f"Chủ cơ sở {LAN}")
    assert second.kind is EventKind.BLOCKED


async def test_stop_finishes_the_update_in_hand(
    fake: FakeTelegramAPI, make_channel: ChannelFactory, recorder: Recorder
) -> None:
    channel = await make_channel()
    recorder.delays = {"chậm": 0.2}
    fake.send_text(LAN, "chậm")
    await recorder.wait_for(1)
    await channel.stop()
    assert recorder.log == [("start", "chậm"), ("end", "chậm")]


# -- webhook ---------------------------------------------------------------------------------


@pytest.fixture
async def webhook(
    make_channel: ChannelFactory,
) -> AsyncIterator[tuple[TelegramChannel, str]]:
    channel = await make_channel(mode="webhook")
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, channel.handle_webhook)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    public_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    await channel.start_webhook(public_url)
    yield channel, public_url
    await channel.stop()
    await runner.cleanup()


async def test_start_webhook_registers_url_secret_and_updates(
    fake: FakeTelegramAPI, webhook: tuple[TelegramChannel, str]
) -> None:
    _, public_url = webhook
    assert (fake.webhook_url or "").partition("?v=")[0] == public_url + WEBHOOK_PATH
    assert fake.webhook_secret == SECRET
    assert fake.allowed_updates == list(ALLOWED_UPDATES)


async def test_webhook_update_is_dispatched_once_then_200(
    fake: FakeTelegramAPI, webhook: tuple[TelegramChannel, str], recorder: Recorder
) -> None:
    update_id = fake.send_command(LAN, "start")
    await fake.wait_until_delivered()
    assert [(e.kind, e.text, e.event_id) for e in recorder.events] == [
        (EventKind.COMMAND, "start", str(update_id))
    ]
    assert [d["status"] for d in fake.webhook_deliveries] == [200]


async def test_webhook_dispatch_failure_answers_503_and_is_redelivered(
    fake: FakeTelegramAPI, webhook: tuple[TelegramChannel, str], recorder: Recorder
) -> None:
    recorder.fail_times = 1
    update_id = fake.send_text(LAN, "đăng ký")
    await fake.wait_until_delivered()
    assert [d["status"] for d in fake.webhook_deliveries] == [503, 200]
    assert [e.event_id for e in recorder.events] == [str(update_id)] * 2


async def test_webhook_callback_answered_when_dispatch_fails(
    fake: FakeTelegramAPI, webhook: tuple[TelegramChannel, str], recorder: Recorder
) -> None:
    channel, _ = webhook
    assert (await channel.send(str(LAN), OutboundMessage("?", (Choice("a:b", "B"),)))).ok
    recorder.fail_times = 5
    fake.press_button(LAN, "a:b")
    await fake.wait_until_delivered()
    assert len(fake.callback_answers) == 1  # redeliveries find the query already answered


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, "{}", 401),
        ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, "{}", 401),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, "{not json", 200),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, "[1, 2]", 200),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, '{"message": {}}', 200),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, '{"update_id": "7"}', 200),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, '{"update_id": 7, "message": []}', 200),
        (
            {"X-Telegram-Bot-Api-Secret-Token": SECRET},
            '{"update_id": 7, "message": {"from": {"id": 1}, "chat": {"id": 1}}}',
            200,
        ),
        (
            {"X-Telegram-Bot-Api-Secret-Token": SECRET},
            '{"update_id": 7, "callback_query": {"id": "q", "from": {}}}',
            200,
        ),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, '{"update_id": 7}', 200),
    ],
)
async def test_webhook_refuses_bad_requests(  # malformed: 200 and dropped, never redelivered
    webhook: tuple[TelegramChannel, str],
    recorder: Recorder,
    headers: dict[str, str],
    body: str,
    status: int,
) -> None:
    _, public_url = webhook
    async with (
        ClientSession() as http,
        http.post(public_url + WEBHOOK_PATH, data=body, headers=headers) as response,
    ):
        assert response.status == status
    assert recorder.events == []


async def test_webhook_text_with_a_lone_surrogate_is_still_dispatched(
    webhook: tuple[TelegramChannel, str], recorder: Recorder
) -> None:
    """orjson refuses an escaped lone surrogate that Python's json reads: not dropped."""
    _, public_url = webhook
    message = {"message_id": 1, "date": 1, "chat": {"id": LAN, "type": "private"}}
    message |= {"from": {"id": LAN, "is_bot": False, "first_name": "Lan"}}
    body = json.dumps({"update_id": 9, "message": message | {"text": "TEXT"}})
    body = body.replace("TEXT", "b\\ud800nh p\\u00eda")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with (
        ClientSession() as http,
        http.post(public_url + WEBHOOK_PATH, data=body, headers=headers) as response,
    ):
        assert response.status == 200
    assert [e.text for e in recorder.events] == ["b\ud800nh pía"]


async def test_webhook_without_secret_is_refused(texts: Texts, recorder: Recorder) -> None:
    channel = TelegramChannel("1:x", dispatch=recorder, texts=texts)
    with pytest.raises(ValueError, match="secret"):
        await channel.start_webhook("https://example.vn")


async def test_a_wrong_token_fails_fast_and_cleanly(
    fake: FakeTelegramAPI, texts: Texts, recorder: Recorder
) -> None:
    channel = TelegramChannel("42:wrong", dispatch=recorder, texts=texts, base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await channel.start_polling()
    assert (await channel.send(str(LAN), OutboundMessage(text="x"))).status is SendStatus.TRANSIENT
    await channel.stop()


async def test_the_rate_limiter_can_be_switched_off_for_a_local_api(
    make_channel: ChannelFactory,
) -> None:
    for rate_limit in (False, True):
        channel = await make_channel(rate_limit=rate_limit)
        assert (channel.application.bot.rate_limiter is not None) is rate_limit
        await channel.stop()  # one poller per token at a time
