"""Telegram adapter: python-telegram-bot 22 as a typed client and update source, nothing more.

Updates become neutral :class:`~bot.core.messages.InboundEvent` objects handed to the engine's
``dispatch``; replies come back through :meth:`TelegramChannel.send`. Conversation state,
de-duplication and persistence live in the engine and the database, so there is no
ConversationHandler and no PTB persistence here: both keep state in one process's memory.

Polling runs updates of different users concurrently and one user's updates in order. In
webhook mode our own aiohttp app receives the POST, the update is handled before answering
200, and a failure answers 503 so Telegram delivers it again (the engine drops repeats by id).
"""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import logging
import re
import secrets
import warnings
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict
from telegram import BotCommand, Update
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    ContextTypes,
    ExtBot,
    TypeHandler,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    Channel,
    ChannelHost,
    ChannelPlugin,
    ChannelSettings,
    Dispatch,
    SendResult,
    SendStatus,
)
from bot.channels.telegram_guard import (
    CountingPollRequest,
    Fatal,
    PollingErrors,
    webhook_is_current,
    webhook_url,
)
from bot.channels.telegram_http import AiohttpRequest
from bot.core.config import ConfigError
from bot.core.formatting import BOLD_RE, split_text
from bot.core.locks import KeyedLocks
from bot.core.messages import (
    ChannelCapabilities,
    EventKind,
    GeoLocation,
    InboundEvent,
    OutboundMessage,
    SharedContact,
)
from bot.core.sanitize import MAX_PLATFORM_ID, MalformedInputError
from bot.nlu.normalize import fold

log = logging.getLogger(__name__)

CHANNEL_NAME: Final = "telegram"
DEFAULT_TELEGRAM_API: Final = "https://api.telegram.org/bot"
MIN_SECRET_LENGTH: Final = 16
#: Where our aiohttp app mounts :meth:`TelegramChannel.handle_webhook`.
WEBHOOK_PATH: Final = "/telegram/webhook"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
#: Always sent explicitly: when omitted, Telegram keeps whatever was set before.
ALLOWED_UPDATES: Final = ("message", "callback_query", "my_chat_member")
#: Commands shown in Telegram's "/" menu, each described by ``telegram.commands.<name>``.
DEFAULT_COMMANDS: Final = ("start", "menu", "help", "huy")
SHARE_CONTACT_LABEL: Final = "telegram.share_contact"
CONTACT_PLACEHOLDER_LABEL: Final = "telegram.contact_placeholder"
COMMAND_LABEL_PREFIX: Final = "telegram.commands."

MAX_TEXT_LENGTH: Final = int(MessageLimit.MAX_TEXT_LENGTH)
#: Telegram accepts at most 100 inline buttons and 8 per row.
MAX_BUTTONS: Final = 100
MAX_BUTTONS_PER_ROW: Final = 8
DEFAULT_CONCURRENCY: Final = 16
#: Updates allowed to wait for a processing slot, per slot, before polling pauses.
BACKLOG_PER_SLOT: Final = 8
#: Retries of a 429 inside PTB's rate limiter: a safety net for interactive replies only.
RATE_LIMIT_RETRIES: Final = 2
#: Long-poll length in seconds; Telegram answers as soon as an update arrives.
POLL_TIMEOUT_SECONDS: Final = 30
#: BadRequest descriptions meaning the chat is gone rather than the message being wrong.
NOT_FOUND_MARKERS: Final = ("chat not found", "user not found", "peer_id_invalid")

#: ``/name``, ``/name@our_bot``, then the arguments. Names are folded ("/Huỷ" means "huy"):
#: owners type commands by hand, with diacritics and capitals.
COMMAND_RE: Final = re.compile(r"/(\S+?)(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?", re.DOTALL)

#: In a private chat, the bot's own membership says whether the user blocked it.
_MEMBER_EVENTS: Final[dict[str, EventKind]] = {
    ChatMemberStatus.BANNED: EventKind.BLOCKED,
    ChatMemberStatus.MEMBER: EventKind.UNBLOCKED,
}

#: Errors reading or mapping a webhook body that no redelivery can fix (bad encoding, bad
#: JSON, nesting past the recursion limit, fields of the wrong type or out of range).
MALFORMED_UPDATE_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    RecursionError,
    OverflowError,
    web.HTTPBadRequest,
    RequestPayloadError,
)


class TelegramSettings(ChannelSettings):
    """``TELEGRAM_*`` variables; without a token Telegram is off and the web chat still runs."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_")

    bot_token: str | None = None
    api_base_url: str = DEFAULT_TELEGRAM_API
    #: Required in webhook mode (when PUBLIC_URL is set): Telegram echoes it in a header.
    webhook_secret: str | None = None
    #: Keep replies under Telegram's flood limits; off only for a local Bot API or benchmarks.
    rate_limit: bool = True

    @field_validator("bot_token")
    @classmethod
    def _empty_token_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if not value:
            return None
        allowed = value.replace("_", "").replace("-", "")
        if len(value) < MIN_SECRET_LENGTH or not allowed.isalnum() or not allowed.isascii():
            msg = f"use {MIN_SECRET_LENGTH}-256 characters from A-Z a-z 0-9 _ -"
            raise ValueError(msg)
        return value


class LabelSource(Protocol):
    """Where button labels and command descriptions come from (:class:`bot.core.texts.Texts`)."""

    def label(self, key: str) -> str: ...


# -- inbound: Telegram update → neutral event ------------------------------------------------


def to_event(update: Update) -> InboundEvent | None:
    """The neutral event for a PTB ``update`` (polling), or None when the bot does not act."""
    return event_from_json(update.to_dict())


def event_from_json(update: Mapping[str, Any]) -> InboundEvent | None:
    """The neutral event for an update as Telegram sends it (JSON), or None for updates the
    bot does not act on.

    Read straight from the JSON: only a handful of fields matter, and building PTB's whole
    object tree for every webhook update (a button press carries the bot's message and its
    keyboard) cost more CPU than the rest of the step. Raises KeyError, TypeError or
    ValueError when a field the bot needs is missing or malformed.
    """
    event_id = str(_require_int(update["update_id"]))
    if (query := update.get("callback_query")) is not None:
        return _choice_event(event_id, query)
    if (member := update.get("my_chat_member")) is not None:
        if member["chat"]["type"] != ChatType.PRIVATE:
            return None
        kind = _MEMBER_EVENTS.get(member["new_chat_member"]["status"])
        if kind is None:
            return None
        return InboundEvent(
            channel=CHANNEL_NAME,
            user_id=str(_require_int(member["from"]["id"])),
            chat_id=str(_require_int(member["chat"]["id"])),
            event_id=event_id,
            kind=kind,
            received_at=_timestamp(member["date"]),
        )
    if (message := update.get("message")) is not None:
        return _message_event(event_id, message)
    return None


def _require_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"expected an integer id, got {type(value).__name__}"
        raise TypeError(msg)
    if abs(value) > MAX_PLATFORM_ID:  # Telegram's ids fit in 52 bits
        msg = "an id out of range"
        raise ValueError(msg)
    return value


def _is_private(chat: Mapping[str, Any]) -> bool:
    return bool(chat.get("type") == ChatType.PRIVATE)


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(_require_int(value), UTC)
    except (OverflowError, OSError) as exc:  # a date past the year 9999
        raise ValueError(str(exc)) from None


def _choice_event(event_id: str, query: Mapping[str, Any]) -> InboundEvent:
    user_id = _require_int(query["from"]["id"])
    message = query.get("message")
    chat_id = _require_int(message["chat"]["id"]) if message else user_id
    data = query.get("data")
    return InboundEvent(
        channel=CHANNEL_NAME,
        user_id=str(user_id),
        chat_id=str(chat_id),
        event_id=event_id,
        kind=EventKind.CHOICE if data else EventKind.UNKNOWN,
        text=str(data or ""),
        # A button press carries no date of its own; the engine stamps the step with its clock.
        received_at=None,
        # A button on an inline-mode message has no chat: never a private conversation.
        private=message is not None and _is_private(message["chat"]),
    )


def _message_event(event_id: str, message: Mapping[str, Any]) -> InboundEvent | None:
    sender = message.get("from")
    if sender is None:  # channel posts and anonymous admins
        return None
    reply_to = message.get("reply_to_message")
    common: dict[str, Any] = {
        "channel": CHANNEL_NAME,
        "user_id": str(_require_int(sender["id"])),
        "chat_id": str(_require_int(message["chat"]["id"])),
        "event_id": event_id,
        "received_at": _timestamp(message["date"]),
        "reply_to_message_id": str(reply_to["message_id"]) if reply_to else None,
        "private": _is_private(message["chat"]),
    }
    text = message.get("text")
    if text is not None:
        text = str(text)
        command = COMMAND_RE.fullmatch(text.strip())
        if command is not None:
            args = (command.group(2) or "").strip()
            name = fold(command.group(1))
            return InboundEvent(kind=EventKind.COMMAND, text=name, args=args, **common)
        return InboundEvent(kind=EventKind.TEXT, text=text, **common)
    if (contact := message.get("contact")) is not None:
        owner = contact.get("user_id")
        shared = SharedContact(
            phone=str(contact["phone_number"]),
            owner_user_id=str(_require_int(owner)) if owner else None,
            first_name=str(contact.get("first_name", "")),
        )
        return InboundEvent(kind=EventKind.CONTACT, contact=shared, **common)
    if (location := message.get("location")) is not None:
        where = GeoLocation(float(location["latitude"]), float(location["longitude"]))
        # Out of range or infinite (10^400): the engine's sanitiser makes it an unknown input.
        return InboundEvent(kind=EventKind.LOCATION, location=where, **common)
    return InboundEvent(kind=EventKind.UNKNOWN, text=str(message.get("caption") or ""), **common)


# -- outbound: neutral message → Telegram messages ------------------------------------------


#: A keyboard as the Bot API's JSON (``InlineKeyboardMarkup``, ``ReplyKeyboardMarkup``…).
Markup = dict[str, Any]
REMOVE_KEYBOARD: Final[Markup] = {"remove_keyboard": True}


@dataclass(frozen=True, slots=True)
class RenderedPart:
    """One Telegram message: HTML text and the keyboard it carries (the last part only)."""

    text: str
    reply_markup: Markup | None = None


def to_html(text: str) -> str:
    """Neutral text to Telegram HTML: everything escaped, ``**bold**`` made bold."""
    return BOLD_RE.sub(r"<b>\1</b>", html.escape(text, quote=False))


def render(
    message: OutboundMessage, *, contact_label: str, contact_placeholder: str | None = None
) -> list[RenderedPart]:
    """Split on paragraphs (before escaping, so each part stays within 4096 characters
    once Telegram has parsed the HTML) and put the keyboard on the last part.

    Keyboards are built as the Bot API's JSON, not PTB objects: a reply is sent once and
    never read back, so the object tree would only be built to be serialised again.
    """
    parts = [to_html(part) for part in split_text(message.text, MAX_TEXT_LENGTH)]
    markup: Markup | None = None
    if message.request_contact:
        markup = _contact_keyboard(message, contact_label, contact_placeholder)
        if message.links:  # a reply keyboard leaves no room for URL buttons
            anchors = "\n".join(
                f'<a href="{html.escape(link.url)}">{html.escape(link.label)}</a>'
                for link in message.links
            )
            parts[-1] = f"{parts[-1]}\n\n{anchors}"
    elif message.choices or message.links:
        markup = _inline_keyboard(message)
    rendered = [RenderedPart(text) for text in parts[:-1]]
    rendered.append(RenderedPart(parts[-1], markup))
    return rendered


def _columns(message: OutboundMessage) -> int:
    return min(max(message.columns, 1), MAX_BUTTONS_PER_ROW)


def _inline_keyboard(message: OutboundMessage) -> Markup:
    width = _columns(message)
    buttons = [{"text": c.label, "callback_data": c.id} for c in message.choices]
    rows = [buttons[i : i + width] for i in range(0, len(buttons), width)]
    rows.extend([{"text": link.label, "url": link.url}] for link in message.links)
    return {"inline_keyboard": rows}


def _contact_keyboard(message: OutboundMessage, label: str, placeholder: str | None) -> Markup:
    """The share-contact button; choices become typed-label buttons the engine maps back."""
    width = _columns(message)
    labels = [{"text": choice.label} for choice in message.choices]
    rows: list[list[dict[str, Any]]] = [[{"text": label, "request_contact": True}]]
    rows.extend(labels[i : i + width] for i in range(0, len(labels), width))
    markup: Markup = {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}
    if placeholder:
        markup["input_field_placeholder"] = placeholder
    return markup


def send_failure(exc: TelegramError, *, sent: Sequence[str] = ()) -> SendResult:
    """What a Telegram error means for the sender (outbox, broadcasts)."""
    detail = exc.message
    ids = tuple(sent)
    if isinstance(exc, Forbidden):
        return SendResult(SendStatus.BLOCKED, message_ids=ids, detail=detail)
    if isinstance(exc, RetryAfter):
        seconds = _retry_seconds(exc)
        return SendResult(
            SendStatus.RETRY_AFTER, retry_after=seconds, message_ids=ids, detail=detail
        )
    if isinstance(exc, ChatMigrated):
        return SendResult(SendStatus.NOT_FOUND, message_ids=ids, detail=detail)
    if isinstance(exc, BadRequest):  # before NetworkError: BadRequest subclasses it
        lowered = detail.lower()
        if any(marker in lowered for marker in NOT_FOUND_MARKERS):
            return SendResult(SendStatus.NOT_FOUND, message_ids=ids, detail=detail)
        return SendResult(SendStatus.BAD_CONTENT, message_ids=ids, detail=detail)
    # NetworkError, TimedOut, 5xx, and configuration errors (InvalidToken, Conflict) that a
    # later attempt may get past once someone fixes them.
    return SendResult(SendStatus.TRANSIENT, message_ids=ids, detail=detail)


def _retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whether PTB gives an int (v22) or a timedelta (v23)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- the client ------------------------------------------------------------------------------


class ReplyBot(ExtBot[Any]):
    """PTB's bot with one addition: a Bot API call from prepared JSON, returning the raw
    result.

    Replies are fire-and-forget: we need only the new message's id, not PTB's typed
    ``Message`` parsed from every answer (with its keyboard) nor typed keyboards serialised
    back to JSON on the way out. The call still goes through PTB's request, error mapping
    and rate limiter.
    """

    async def call_raw(self, method: str, payload: dict[str, Any]) -> Any:
        return await self._post(method, payload)


# -- update processing ---------------------------------------------------------------------


def parse_update_body(body: bytes) -> Any:
    """A webhook POST's JSON: orjson, or the standard library for what it refuses but
    ``json`` reads (a lone surrogate escaped in a text), so no update is dropped for it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _order_key(update: object) -> str | None:
    """Updates with the same key are handled one after another, in arrival order."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return f"user:{update.effective_user.id}"
        if update.effective_chat is not None:
            return f"chat:{update.effective_chat.id}"
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential for one user.

    PTB's own bound (``max_concurrent_updates``) is kept high so that a user sending many
    messages in a row waits on their own lock without holding the ``concurrency`` slots
    other users need.
    """

    def __init__(self, concurrency: int) -> None:
        super().__init__(max_concurrent_updates=concurrency * BACKLOG_PER_SLOT)
        self._locks = KeyedLocks()
        self._slots = asyncio.Semaphore(concurrency)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        try:
            if key is None:
                async with self._slots:
                    await coroutine
                return
            async with self._locks.hold(key), self._slots:
                await coroutine
        except BaseException:
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == (
                inspect.CORO_CREATED
            ):
                coroutine.close()  # cancelled while waiting: do not leave it un-awaited
            raise

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class TelegramChannel:
    """The Telegram channel: receives updates (polling or webhook) and sends replies."""

    name: Final = CHANNEL_NAME
    capabilities: Final = ChannelCapabilities(
        max_text_length=MAX_TEXT_LENGTH,
        max_buttons=MAX_BUTTONS,
        supports_buttons=True,
        supports_contact_request=True,
        supports_bold=True,
    )

    def __init__(
        self,
        token: str,
        *,
        dispatch: Dispatch,
        texts: LabelSource,
        base_url: str | None = None,
        webhook_secret: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        rate_limit_retries: int = RATE_LIMIT_RETRIES,
        rate_limit: bool = True,
        poll_timeout: float = POLL_TIMEOUT_SECONDS,
        on_fatal: Fatal | None = None,
        public_url: str | None = None,
        commands: Sequence[str] = DEFAULT_COMMANDS,
    ) -> None:
        if concurrency < 1:
            msg = "concurrency must be at least 1"
            raise ValueError(msg)
        self._token = token
        self._dispatch = dispatch
        self._texts = texts
        self._base_url = base_url
        self._webhook_secret = webhook_secret
        self._concurrency = concurrency
        self._rate_limit_retries = rate_limit_retries
        #: PTB's AIORateLimiter keeps replies under Telegram's flood limits (about 30 messages
        #: a second in all); only a local Bot API server or a benchmark turns it off.
        self._rate_limit = rate_limit
        self._poll_timeout = poll_timeout
        #: Told, in one line, when this process must stop (a second poller on the token).
        self._on_fatal = on_fatal
        self._polls = CountingPollRequest(connection_pool_size=1)
        #: Webhook mode when set (our app serves :data:`WEBHOOK_PATH`), else long polling.
        self._public_url = public_url
        self._commands = tuple(commands)
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._locks = KeyedLocks()
        #: Chats showing the share-contact keyboard; the next other message removes it.
        self._contact_keyboards: set[str] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False

    @property
    def application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        if self._app is None:
            msg = "the Telegram channel is not started"
            raise RuntimeError(msg)
        return self._app

    # -- lifecycle -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """The webhook route in webhook mode; nothing in polling mode."""
        if self._public_url is None:
            return []
        return [web.post(WEBHOOK_PATH, self.handle_webhook)]

    async def start(self) -> None:
        """Webhook mode when a public URL is set (the route must already listen), else
        polling; then fill the "/" command menu."""
        if self._public_url is not None:
            await self.start_webhook(self._public_url)
            log.info("Telegram in webhook mode")
        else:
            await self.start_polling()
            log.info("Telegram in long-polling mode (PUBLIC_URL is not set)")
        try:
            await self.set_commands(self._commands)
        except Exception:  # the command menu is a nicety, never fatal
            log.warning("could not set the Telegram command menu")

    async def start_polling(self) -> None:
        """Fetch updates with getUpdates (one process only: Telegram allows one poller)."""
        app = await self._start(polling=True)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=int(self._poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
            error_callback=PollingErrors(self._polls, self._on_fatal),
        )

    async def start_webhook(self, public_url: str) -> None:
        """Ask Telegram to POST updates to ``public_url + WEBHOOK_PATH`` (served by our app)."""
        if not self._webhook_secret:
            msg = "webhook mode needs a secret token"
            raise ValueError(msg)
        app = await self._start(polling=False)
        url = webhook_url(public_url, WEBHOOK_PATH, self._webhook_secret)
        if webhook_is_current(
            await app.bot.get_webhook_info(), url=url, allowed_updates=ALLOWED_UPDATES
        ):
            log.info("Telegram webhook already registered; not set again")
            return
        await app.bot.set_webhook(
            url=url,
            secret_token=self._webhook_secret,
            allowed_updates=list(ALLOWED_UPDATES),
            max_connections=self._concurrency,
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        """Stop taking updates and finish the ones in hand, then close the HTTP client."""
        app = self._app
        if app is None:
            return
        self._stopping = True
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # waits for updates already fetched
        await self._idle.wait()  # webhook requests in hand
        await app.shutdown()
        self._app = None

    async def set_commands(self, commands: Sequence[str] = DEFAULT_COMMANDS) -> None:
        """Fill Telegram's "/" menu; descriptions come from ``telegram.commands.<name>``."""
        await self.application.bot.set_my_commands(
            [BotCommand(name, self._texts.label(COMMAND_LABEL_PREFIX + name)) for name in commands]
        )

    async def _start(self, *, polling: bool) -> Application[Any, Any, Any, Any, Any, Any]:
        if self._app is not None:
            msg = "the Telegram channel is already started"
            raise RuntimeError(msg)
        limiter = AIORateLimiter(max_retries=self._rate_limit_retries)
        self._polls = CountingPollRequest(connection_pool_size=1)
        bot = ReplyBot(
            self._token,
            base_url=self._base_url or DEFAULT_TELEGRAM_API,
            request=AiohttpRequest(),
            # One long poll at a time: a pool of one, as PTB's own default.
            get_updates_request=self._polls,
            rate_limiter=limiter if self._rate_limit else None,
        )
        # Any: PTB's builder changes its generic type once a bot is set.
        builder: Any = (
            Application.builder()
            .bot(bot)
            .concurrent_updates(PerUserUpdateProcessor(self._concurrency))
        )
        if not polling:
            builder = builder.updater(None)
        app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        try:
            await app.initialize()  # getMe: fails fast on a wrong token
        except Exception:
            # PTB's shutdown skips an Application that never finished initialising, which
            # would leave the bot's HTTP connections open.
            await app.bot.shutdown()
            raise
        self._app = app
        self._stopping = False
        return app

    # -- receiving -------------------------------------------------------------------------

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """Our aiohttp route for Telegram's POSTs: 200 only once the update is handled."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        secret = (self._webhook_secret or "").encode()
        if not secret or not secrets.compare_digest(given, secret):
            return web.Response(status=401)
        if self._app is None or self._stopping:
            return web.Response(status=503)  # Telegram retries; the next instance takes it
        try:
            data = parse_update_body(await request.read())
            if not isinstance(data, dict):
                raise TypeError(type(data).__name__)
            event = event_from_json(data)
        except MALFORMED_UPDATE_ERRORS as exc:
            # No redelivery can fix it: answered 200 (Telegram stops retrying), then dropped.
            log.warning("dropped a malformed Telegram update: %s", type(exc).__name__)
            return web.Response()
        query = data.get("callback_query")
        query_id = str(query["id"]) if isinstance(query, dict) and "id" in query else None
        if event is None:
            return web.Response()  # an update the bot does not act on
        self._in_flight += 1
        self._idle.clear()
        try:
            # One sender's updates in order, as the polling processor keys them (_order_key).
            async with self._locks.hold(f"user:{event.user_id}"):
                await self._dispatch(event)
        except MalformedInputError as exc:
            log.warning("dropped telegram update %s: %s", event.event_id, exc)
            return web.Response()
        except Exception:
            log.exception("telegram update %s failed; Telegram will retry", event.event_id)
            if query_id is not None:
                await self._answer(query_id)  # stop the spinner all the same
            return web.Response(status=503)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        if query_id is not None:
            # Telegram runs a method given in the webhook's answer: the tap is acknowledged
            # with no request of our own (one Bot API call saved per button press).
            return web.json_response(
                {"method": "answerCallbackQuery", "callback_query_id": query_id}
            )
        return web.Response()

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB handler in polling mode: the update is already confirmed, so only log."""
        query = update.callback_query
        # Answer the tap at once (the spinner stops), whatever happens to the event.
        answer = asyncio.create_task(self._answer(query.id)) if query is not None else None
        try:
            event = to_event(update)
            if event is not None:
                await self._dispatch(event)
        except (MalformedInputError, *MALFORMED_UPDATE_ERRORS) as exc:
            log.warning("dropped telegram update %s: %s", update.update_id, type(exc).__name__)
        except Exception:
            log.exception("telegram update %s failed", update.update_id)
        finally:
            if answer is not None:
                await answer

    async def _answer(self, query_id: str) -> None:
        try:
            await self.application.bot.answer_callback_query(query_id)
        except TelegramError as exc:  # too old after a redelivery, network hiccup
            log.info("callback query %s not answered: %s", query_id, exc)

    # -- sending ---------------------------------------------------------------------------

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        """Send one reply (several messages if long). Never raises for Telegram errors."""
        if self._app is None:
            return SendResult(SendStatus.TRANSIENT, detail="the Telegram channel is not started")
        bot: ReplyBot = self._app.bot
        parts = render(
            message,
            contact_label=self._texts.label(SHARE_CONTACT_LABEL),
            contact_placeholder=self._texts.label(CONTACT_PLACEHOLDER_LABEL),
        )
        remove_keyboard = not message.request_contact and chat_id in self._contact_keyboards
        sent: list[str] = []
        try:
            for index, part in enumerate(parts):
                markup = part.reply_markup
                later_markup: Markup | None = None
                if remove_keyboard and index == 0:
                    # One markup per message: remove the contact keyboard now, and add the
                    # inline buttons right after when they belong on this same message.
                    if markup is not None and "inline_keyboard" in markup:
                        later_markup = markup
                    markup = REMOVE_KEYBOARD
                payload: dict[str, Any] = {
                    "chat_id": chat_id,
                    "text": part.text,
                    "parse_mode": ParseMode.HTML.value,
                }
                if markup is not None:
                    payload["reply_markup"] = markup
                result = await bot.call_raw("sendMessage", payload)
                message_id = result["message_id"]
                sent.append(str(message_id))
                if later_markup is not None:
                    edit = {"chat_id": chat_id, "message_id": message_id}
                    await bot.call_raw(
                        "editMessageReplyMarkup", edit | {"reply_markup": later_markup}
                    )
        except TelegramError as exc:
            if sent and remove_keyboard:
                self._contact_keyboards.discard(chat_id)  # the first part removed it
            return send_failure(exc, sent=sent)
        if message.request_contact:
            self._contact_keyboards.add(chat_id)
        else:
            self._contact_keyboards.discard(chat_id)
        return SendResult(SendStatus.SENT, message_ids=tuple(sent))


def build(settings: TelegramSettings, host: ChannelHost) -> Channel | None:
    """The Telegram channel, or None (logged) when no token is set."""
    if settings.bot_token is None:
        log.info("TELEGRAM_BOT_TOKEN is not set: Telegram is off, the web chat still runs")
        return None
    if host.settings.public_url and not settings.webhook_secret:
        msg = "Invalid setting TELEGRAM_WEBHOOK_SECRET: required when PUBLIC_URL is set"
        raise ConfigError(msg)
    return TelegramChannel(
        settings.bot_token,
        dispatch=host.dispatch,
        on_fatal=host.on_fatal,
        texts=host.texts,
        base_url=settings.api_base_url,
        webhook_secret=settings.webhook_secret,
        rate_limit=settings.rate_limit,
        public_url=host.settings.public_url,
        commands=host.commands or DEFAULT_COMMANDS,
    )


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=TelegramSettings, build=build)

__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL_NAME",
    "PLUGIN",
    "WEBHOOK_PATH",
    "PerUserUpdateProcessor",
    "RenderedPart",
    "TelegramChannel",
    "TelegramSettings",
    "render",
    "send_failure",
    "to_event",
    "to_html",
]
