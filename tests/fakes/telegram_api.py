"""A fake Telegram Bot API server for tests: the bot runs unmodified against it.

Point python-telegram-bot at it with ``ApplicationBuilder().base_url(fake.base_url)``. The
bot side (``/bot{token}/{method}``) answers like Telegram does: the ``{"ok": …}`` envelope,
dates in seconds, ``User.is_bot``, inline keyboards only echoed back, the 4096-character and
64-byte limits, HTML entity parsing errors, long polling with ``offset`` and webhook pushes
carrying the secret header. The control side (Python methods, mirrored under ``/_test/``) lets a
test act as users, read what the bot sent and inject faults (blocked user, chat not found,
flood control, server errors, slow methods).

Not covered on purpose: files are recorded but never stored, groups are minimal, a webhook
receives one update at a time (Telegram may open up to ``max_connections``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any, Final, Literal

from aiohttp import ClientError, ClientSession, ClientTimeout, web

HOST: Final = "127.0.0.1"
DEFAULT_TOKEN: Final = "123456789:TEST-fake-token"
DEFAULT_BOT_USERNAME: Final = "khuyencong_test_bot"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"

MAX_TEXT_LENGTH: Final = 4096
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_UPDATES_LIMIT: Final = 100
MAX_COMMAND_DESCRIPTION: Final = 256
FIRST_UPDATE_ID: Final = 100_000
#: Waits end as soon as their condition holds; the bound only matters on a very busy machine.
DEFAULT_WAIT_TIMEOUT: Final = 10.0
WEBHOOK_ATTEMPTS: Final = 3
WEBHOOK_RETRY_DELAY: Final = 0.05
WEBHOOK_REQUEST_TIMEOUT: Final = 5.0
SHUTDOWN_TIMEOUT: Final = 1.0

#: Update types Telegram leaves out when ``allowed_updates`` is empty or was never set.
OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: Parameters that stay strings in a form-encoded body (everything else arrives JSON-encoded).
STRING_PARAMS: Final = frozenset(
    {"text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "action"}
    | {"language_code", "ip_address", "inline_message_id", "business_connection_id"}
    | {"message_effect_id", "document"}
)
#: Supported HTML tags and the message entity each one makes.
ENTITY_TYPES: Final = {
    **dict.fromkeys(("b", "strong"), "bold"),
    **dict.fromkeys(("i", "em"), "italic"),
    **dict.fromkeys(("u", "ins"), "underline"),
    **dict.fromkeys(("s", "strike", "del"), "strikethrough"),
    **dict.fromkeys(("span", "tg-spoiler"), "spoiler"),
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-emoji": "custom_emoji",
    "blockquote": "blockquote",
}
SUPPORTED_TAGS: Final = frozenset(ENTITY_TYPES)
NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
TAG_RE: Final = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
ENTITY_RE: Final = re.compile(r"&(#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]+);")
HREF_RE: Final = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")

FaultKind = Literal["blocked", "deactivated", "chat_not_found", "retry_after", "server_error"]
MemberStatus = Literal["member", "kicked"]

#: (HTTP status, description) per fault; ``retry_after`` adds ``parameters``.
FAULTS: Final[Mapping[str, tuple[int, str]]] = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "retry_after": (429, "Too Many Requests: retry after {retry_after}"),
    "server_error": (500, "Internal Server Error"),
}


class _Own(Enum):
    """Sentinel: a shared contact belongs to the sender (what the contact button sends)."""

    SENDER = "sender"


OWN_CONTACT: Final = _Own.SENDER


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(
        self, status: int, description: str, *, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            payload["parameters"] = self.parameters
        return payload


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(slots=True)
class TelegramFault:
    """An injected error for the next ``times`` calls of ``method`` (to ``chat_id`` if set)."""

    method: str
    error: FaultKind
    chat_id: int | str | None = None
    retry_after: float = 1
    times: int = 1
    #: Matching calls to let through before failing (fail the 2nd part of a long text).
    after: int = 0

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    def to_error(self) -> ApiError:
        status, template = FAULTS[self.error]
        retry = int(self.retry_after) if float(self.retry_after).is_integer() else self.retry_after
        description = template.format(retry_after=retry)
        parameters = {"retry_after": retry} if self.error == "retry_after" else None
        return ApiError(status, description, parameters=parameters)


@dataclass(slots=True)
class RateLimits:
    """Telegram's flood limits, enforced with 429 and ``retry_after`` when given to the fake.

    Sliding one-second (one-minute for groups) windows over accepted sends: ``per_second``
    for the bot as a whole, ``paid_per_second`` for sends with ``allow_paid_broadcast``,
    ``per_chat_burst`` sends to one chat within a second, ``group_per_minute`` to one group.
    """

    per_second: float = 30
    paid_per_second: float = 1000
    per_chat_burst: int = 3
    group_per_minute: int = 20
    retry_after: int = 1


@dataclass(slots=True)
class _Windows:
    overall: collections.deque[float] = field(default_factory=collections.deque)
    paid: collections.deque[float] = field(default_factory=collections.deque)
    chats: dict[str, collections.deque[float]] = field(default_factory=dict)


def _over(window: collections.deque[float], now: float, span: float, limit: float) -> bool:
    while window and window[0] <= now - span:
        window.popleft()
    return len(window) >= limit


@dataclass(slots=True)
class _Pending:
    """An update waiting to be fetched or pushed; confirmed updates leave the queue."""

    update: dict[str, Any]
    delivered: bool = False
    redelivery: bool = False
    attempts: int = 0

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class ParsedText:
    """A message text after entity parsing: what the user sees, and its formatting."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def parse_html(source: str) -> ParsedText:
    """Parse Telegram-flavoured HTML like the Bot API does, with its error messages."""
    out: list[str] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    utf16 = 0
    index = 0
    while index < len(source):
        char = source[index]
        if char == "<":
            match = TAG_RE.match(source, index)
            offset = len(source[:index].encode("utf-8"))
            if match is None:
                raise bad_request(
                    f'can\'t parse entities: Unsupported start tag "" at byte offset {offset}'
                )
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in SUPPORTED_TAGS:
                kind = "end" if closing else "start"
                raise bad_request(
                    f'can\'t parse entities: Unsupported {kind} tag "{name}" '
                    f"at byte offset {offset}"
                )
            if closing:
                if not stack:
                    raise bad_request(
                        f"can't parse entities: Unexpected end tag at byte offset {offset}"
                    )
                open_name, start, extra = stack.pop()
                if open_name != name:
                    raise bad_request(
                        f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                        f'expected "</{open_name}>", found "</{name}>"'
                    )
                if utf16 > start:
                    entities.append(
                        {"type": ENTITY_TYPES[name], "offset": start, "length": utf16 - start}
                        | extra
                    )
            else:
                extra: dict[str, Any] = {}
                if name == "a":
                    href = HREF_RE.search(attrs)
                    extra["url"] = next((g for g in href.groups() if g), "") if href else ""
                stack.append((name, utf16, extra))
            index = match.end()
            continue
        if char == "&":
            entity = ENTITY_RE.match(source, index)
            if entity is not None:
                decoded = _decode_entity(entity.group(1))
                if decoded is not None:
                    out.append(decoded)
                    utf16 += _utf16_len(decoded)
                    index = entity.end()
                    continue
        out.append(char)
        utf16 += _utf16_len(char)
        index += 1
    if stack:
        raise bad_request(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1][0]}"'
        )
    entities.sort(key=lambda item: (item["offset"], -item["length"]))
    return ParsedText("".join(out), entities)


def _decode_entity(body: str) -> str | None:
    if body.startswith("#"):
        number = int(body[2:], 16) if body[1:2] in {"x", "X"} else int(body[1:])
        return chr(number) if 0 < number <= 0x10FFFF else None
    return NAMED_ENTITIES.get(body)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _now() -> int:
    return int(time.time())


Handler = Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]


class FakeTelegramAPI:
    """An in-memory Telegram Bot API on ``127.0.0.1:<random port>``.

    Use as ``async with FakeTelegramAPI() as fake:`` and give ``fake.base_url`` to
    ``ApplicationBuilder().base_url(...)`` together with ``fake.token``.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = "Khuyến công (test)",
        webhook_attempts: int = WEBHOOK_ATTEMPTS,
        webhook_retry_delay: float = WEBHOOK_RETRY_DELAY,
        rate_limits: RateLimits | None = None,
        record_calls: bool = True,
    ) -> None:
        self.token = token
        #: Enforce Telegram's flood limits (None: accept any pace, as before).
        self.rate_limits = rate_limits
        #: Keep every call in ``calls`` (off for benchmarks: only the counters grow).
        self.record_calls = record_calls
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._signal = asyncio.Event()
        self._closing = False
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
            }.items()
        }
        self._webhook: _Webhook | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._bot_route)
        app.router.add_get("/bot{token}/{method}", self._bot_route)
        app.router.add_post("/_test/updates", self._control_updates)
        app.router.add_get("/_test/sent", self._control_sent)
        app.router.add_post("/_test/faults", self._control_faults)
        app.router.add_post("/_test/redeliver", self._control_redeliver)
        app.router.add_post("/_test/reset", self._control_reset)
        app.router.add_get("/_test/stats", self._control_stats)
        # A client that gives up a long poll must not leave the handler waiting behind it.
        self._runner = web.AppRunner(
            app, handle_signals=False, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._session = ClientSession(timeout=ClientTimeout(total=WEBHOOK_REQUEST_TIMEOUT))
        self._closing = False

    async def close(self) -> None:
        self._closing = True
        await self._stop_pusher()
        self._wake()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    @property
    def base_url(self) -> str:
        """What ``ApplicationBuilder().base_url`` takes: the token and method are appended."""
        return f"{self.url}/bot"

    def reset(self) -> None:
        """Forget every update, message, fault and the webhook (the bot user stays)."""
        self._pending: list[_Pending] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(FIRST_UPDATE_ID)
        self._query_ids = itertools.count(1)
        self._message_ids: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._markups: dict[tuple[int | str, int], dict[str, Any] | None] = {}
        self._open_queries: set[str] = set()
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._faults: list[TelegramFault] = []
        self._unreachable: dict[str, FaultKind] = {}
        self._windows = _Windows()
        #: Accepted sends per chat, and every 429 the limits gave (monotonic seconds).
        self.delivered: collections.Counter[str] = collections.Counter()
        self.flood_errors: list[float] = []
        self._delays: dict[str, float] = {}
        self._poll_generation = 0
        self.allowed_updates: list[str] | None = None
        self.calls: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.dropped_updates: list[dict[str, Any]] = []
        if self._webhook is not None and self._webhook.task is not None:
            self._webhook.task.cancel()
        self._webhook = None

    # -- control side: act as users ------------------------------------------------------------

    def send_text(self, user_id: int, text: str, **user: Any) -> int:
        """The user types ``text`` in the private chat; returns the update id."""
        return self._user_message(user_id, {"text": text}, user)

    def group_reply(
        self, group_id: int, user_id: int, text: str, *, reply_to_message_id: int
    ) -> int:
        """A member of a group (the staff chat) replies to one of the bot's messages there."""
        message = {
            "message_id": self._next_message_id(group_id),
            "from": self._user(user_id),
            "chat": {"id": group_id, "type": "supergroup", "title": "Cán bộ Trung tâm"},
            "date": _now(),
            "text": text,
            "reply_to_message": dict(self._messages[(_chat_key(group_id), reply_to_message_id)]),
        }
        return self.inject({"message": message})

    def send_command(self, user_id: int, command: str, args: str = "", **user: Any) -> int:
        """The user sends ``/command args`` (with Telegram's ``bot_command`` entity)."""
        text = f"/{command} {args}".rstrip() if args else f"/{command}"
        entity = {"type": "bot_command", "offset": 0, "length": len(command) + 1}
        return self._user_message(user_id, {"text": text, "entities": [entity]}, user)

    def share_contact(
        self,
        user_id: int,
        phone: str,
        *,
        contact_user_id: int | _Own | None = OWN_CONTACT,
        first_name: str | None = None,
    ) -> int:
        """The user shares a contact: their own by default (the contact button), another
        person's with ``contact_user_id``, or one without a Telegram account with ``None``."""
        sender = self._user(user_id)
        contact: dict[str, Any] = {
            "phone_number": phone,
            "first_name": first_name or sender["first_name"],
        }
        owner = user_id if contact_user_id is OWN_CONTACT else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._user_message(user_id, {"contact": contact}, {})

    def send_location(self, user_id: int, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user_id, {"location": location}, {})

    def send_sticker(self, user_id: int, emoji: str = "👍") -> int:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEBfake",
            "file_unique_id": "AgADfake",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user_id, {"sticker": sticker}, {})

    def press_button(
        self, user_id: int, callback_data: str, *, message_id: int | None = None
    ) -> int:
        """The user taps an inline button the bot sent in their chat.

        Without ``message_id`` the newest bot message carrying that button is used. Raises
        ``LookupError`` when the bot never offered the button, as Telegram cannot send it.
        """
        chat_id = user_id
        candidates = (
            [message_id]
            if message_id is not None
            else sorted(
                (mid for (chat, mid) in self._messages if chat == chat_id),
                reverse=True,
            )
        )
        for mid in candidates:
            markup = self._markups.get((chat_id, mid))
            if markup and callback_data in _callback_datas(markup):
                query_id = f"{next(self._query_ids)}{user_id}"
                self._open_queries.add(query_id)
                query = {
                    "id": query_id,
                    "from": self._user(user_id),
                    "message": dict(self._messages[(chat_id, mid)]),
                    "chat_instance": f"-{user_id}00",
                    "data": callback_data,
                }
                return self.inject({"callback_query": query})
        msg = f"no button {callback_data!r} in the bot's messages to chat {chat_id}"
        raise LookupError(msg)

    def forge_button(self, user_id: int, callback_data: str) -> int:
        """A callback query for a button the bot never offered, attached to its newest
        message: what a tampered or very old client can send. The bot must cope."""
        chat_id = user_id
        newest = max(mid for (chat, mid) in self._messages if chat == chat_id)
        query_id = f"{next(self._query_ids)}{user_id}"
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "message": dict(self._messages[(chat_id, newest)]),
            "chat_instance": f"-{user_id}00",
            "data": callback_data,
        }
        return self.inject({"callback_query": query})

    def chat_member(self, user_id: int, status: MemberStatus = "kicked") -> int:
        """The user blocks (``kicked``) or restarts (``member``) the bot in the private chat.

        A blocked user makes every later send to them fail with 403, as on Telegram.
        """
        old_status = "member" if status == "kicked" else "kicked"
        if status == "kicked":
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)
        user = self._user(user_id)
        update = {
            "my_chat_member": {
                "chat": self._chat(user_id),
                "from": user,
                "date": _now(),
                "old_chat_member": _member(self.bot_user, old_status),
                "new_chat_member": _member(self.bot_user, status),
            }
        }
        return self.inject(update)

    def inject(self, update: Mapping[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned when missing); returns its id."""
        body = dict(update)
        body.setdefault("update_id", next(self._update_ids))
        update_id = int(body["update_id"])
        self._history[update_id] = body
        kind = next((key for key in body if key != "update_id"), "")
        if not self._accepts(kind):
            self.dropped_updates.append(body)
            return update_id
        self._pending.append(_Pending(body))
        self._wake()
        return update_id

    def redeliver(self, update_id: int) -> int:
        """Send an already delivered update once more, as Telegram does after a failure."""
        self._pending.append(_Pending(dict(self._history[update_id]), redelivery=True))
        self._wake()
        return update_id

    # -- control side: observe and inject faults ---------------------------------------------

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Successful bot calls that act on chats, oldest first: ``{"method": …, **params}``."""
        return [
            {"method": call["method"], **call["params"]}
            for call in self.calls
            if call["ok"]
            and call["method"] in _SENT_METHODS
            and (chat_id is None or str(call["params"].get("chat_id")) == str(chat_id))
        ]

    async def wait_for_sent(
        self,
        chat_id: int | str,
        count: int,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 - a test-facing bound
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent ``count`` things to ``chat_id``; return them all."""
        if not await self._until(lambda: len(self.sent(chat_id)) >= count, timeout):
            got = self.sent(chat_id)
            msg = f"chat {chat_id}: expected {count} sent, got {len(got)} after {timeout}s: {got}"
            raise AssertionError(msg)
        return self.sent(chat_id)

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 - a test-facing bound
    ) -> list[dict[str, Any]]:
        """Wait until ``method`` was called ``count`` times (successfully or not)."""

        def matching() -> list[dict[str, Any]]:
            return [call for call in self.calls if call["method"] == method]

        if not await self._until(lambda: len(matching()) >= count, timeout):
            msg = f"expected {count} {method} calls, got {len(matching())} after {timeout}s"
            raise AssertionError(msg)
        return matching()

    async def wait_until_delivered(
        self,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 - a test-facing bound
    ) -> None:
        """Wait until every queued update was fetched and confirmed, or pushed (or dropped)."""
        if not await self._until(lambda: not self._pending, timeout):
            msg = f"{len(self._pending)} updates still pending after {timeout}s"
            raise AssertionError(msg)

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any]:
        """The bot's message as the user now sees it (after edits)."""
        return self._messages[(_chat_key(chat_id), message_id)]

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        error: FaultKind = "blocked",
        retry_after: float = 1,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail like Telegram would (after
        letting ``after`` matching calls through)."""
        if error not in FAULTS:
            msg = f"unknown fault {error!r}; known: {sorted(FAULTS)}"
            raise ValueError(msg)
        self._faults.append(TelegramFault(method, error, chat_id, retry_after, times, after))

    async def wait_for_delivered(
        self,
        count: int,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109 - a test-facing bound
    ) -> None:
        """Wait until ``count`` messages were accepted in all (any chats)."""
        if not await self._until(lambda: sum(self.delivered.values()) >= count, timeout):
            msg = f"expected {count} delivered, got {sum(self.delivered.values())}"
            raise AssertionError(msg)

    def make_unreachable(self, chat_id: int | str, error: FaultKind = "blocked") -> None:
        """Every later send to ``chat_id`` fails with ``error`` (blocked, chat not found)."""
        self._unreachable[str(chat_id)] = error

    def stats(self) -> dict[str, Any]:
        """Counters that stay small however long the run: for benchmarks."""
        return {
            "delivered": sum(self.delivered.values()),
            "chats": len(self.delivered),
            "duplicates": sum(n - 1 for n in self.delivered.values() if n > 1),
            "flood_errors": len(self.flood_errors),
        }

    def delay(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` after ``seconds`` (0 removes the delay)."""
        self._delays[method.lower()] = seconds

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    @property
    def webhook_secret(self) -> str | None:
        return self._webhook.secret_token if self._webhook else None

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    # -- bot side: HTTP ------------------------------------------------------------------------

    async def _bot_route(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        known = self._methods.get(method.lower())
        if known is None:
            return _error(ApiError(404, "Not Found"))
        name, handler = known
        try:
            params = await _read_params(request)
        except ApiError as exc:
            return _error(exc)
        if delay := self._delays.get(method.lower()):
            await asyncio.sleep(delay)
        call: dict[str, Any] = {"method": name, "params": params, "ok": False}
        try:
            if name in _SEND_METHODS:
                self._check_flood(params)
            fault = self._take_fault(method, params)
            if fault is not None:
                raise fault
            result = await handler(params)
            if name in _SEND_METHODS and "chat_id" in params:
                self.delivered[str(params["chat_id"])] += 1
        except ApiError as exc:
            call["error"] = exc.description
            self._record(call)
            return _error(exc)
        call["ok"] = True
        call["result"] = result
        self._record(call)
        return web.json_response({"ok": True, "result": result})

    def _check_flood(self, params: Mapping[str, Any]) -> None:
        limits = self.rate_limits
        if limits is None:
            return
        now = time.monotonic()
        chat = str(params.get("chat_id", ""))
        paid = bool(params.get("allow_paid_broadcast"))
        windows = self._windows
        chat_window = windows.chats.setdefault(chat, collections.deque())
        group = chat.startswith("-")
        over = (
            _over(windows.paid, now, 1.0, limits.paid_per_second)
            if paid
            else _over(windows.overall, now, 1.0, limits.per_second)
        ) or (
            _over(chat_window, now, 60.0, limits.group_per_minute)
            if group
            else _over(chat_window, now, 1.0, limits.per_chat_burst)
        )
        if over:
            self.flood_errors.append(now)
            retry = limits.retry_after
            raise ApiError(
                429, f"Too Many Requests: retry after {retry}", parameters={"retry_after": retry}
            )
        (windows.paid if paid else windows.overall).append(now)
        chat_window.append(now)

    def _record(self, call: dict[str, Any]) -> None:
        if not self.record_calls:
            self._wake()
            return
        if call["method"] not in {"getUpdates", "getMe", "getWebhookInfo"}:
            self.calls.append(call)
        self._wake()

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> ApiError | None:
        unreachable = self._unreachable.get(str(params.get("chat_id")))
        if unreachable is not None and method.lower() in _SEND_METHODS_LOWER:
            return TelegramFault(method, unreachable).to_error()
        for fault in self._faults:
            if fault.matches(method, params):
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.to_error()
        return None

    # -- bot side: methods ---------------------------------------------------------------------

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or MAX_UPDATES_LIMIT), 1), MAX_UPDATES_LIMIT)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"])
        # A newer getUpdates terminates an older one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()
        if offset:
            self._pending = [
                item
                for item in self._pending
                if not (item.update_id < offset and (item.delivered or not item.redelivery))
            ]

        def batch() -> list[_Pending]:
            return [
                item
                for item in self._pending
                if item.update_id >= offset or (item.redelivery and not item.delivered)
            ][:limit]

        await self._until(lambda: bool(batch()) or generation != self._poll_generation, timeout)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only "
                "one bot instance is running",
            )
        items = batch()
        for item in items:
            item.delivered = True
        return [item.update for item in items]

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            await self._delete_webhook(params)
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self.allowed_updates = list(allowed)
        await self._stop_pusher()
        self._webhook = _Webhook(
            url=url,
            secret_token=None if secret is None else str(secret),
            allowed_updates=self.allowed_updates,
            max_connections=int(params.get("max_connections") or 40),
        )
        self._webhook.task = asyncio.create_task(self._push_loop(self._webhook))
        self._poll_generation += 1  # a pending getUpdates ends with a conflict
        self._wake()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        await self._stop_pusher()
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            if self._webhook.allowed_updates is not None:
                info["allowed_updates"] = self._webhook.allowed_updates
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        return info

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        parsed = self._parse_text(params, "text")
        markup = _check_markup(params.get("reply_markup"))
        return self._store_message(chat_id, {"text": parsed.text}, parsed.entities, markup)

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        document = params.get("document")
        if document is None:
            raise bad_request("there is no document in the request")
        name = document.get("file_name", "file") if isinstance(document, dict) else "file"
        size = document.get("file_size", 0) if isinstance(document, dict) else 0
        content: dict[str, Any] = {
            "document": {
                "file_id": f"BQACAgIAAxkBfake{len(self.calls)}",
                "file_unique_id": f"AgADfake{len(self.calls)}",
                "file_name": name,
                "file_size": size,
            }
        }
        entities: list[dict[str, Any]] = []
        if params.get("caption"):
            parsed = _parse(str(params["caption"]), params.get("parse_mode"))
            content["caption"] = parsed.text
            entities = parsed.entities
        markup = _check_markup(params.get("reply_markup"))
        return self._store_message(chat_id, content, entities, markup, entity_key="caption")

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._target_chat(params)
        if not params.get("photo"):
            raise bad_request("there is no photo in the request")
        content: dict[str, Any] = {
            "photo": [{"file_id": f"AgACAgIAAxkBfake{len(self.calls)}", "width": 1280}]
        }
        entities: list[dict[str, Any]] = []
        if params.get("caption"):
            parsed = _parse(str(params["caption"]), params.get("parse_mode"))
            content["caption"] = parsed.text
            entities = parsed.entities
        markup = _check_markup(params.get("reply_markup"))
        return self._store_message(chat_id, content, entities, markup, entity_key="caption")

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        key = self._existing_message(params, "message to edit not found")
        parsed = self._parse_text(params, "text")
        markup = _check_markup(params.get("reply_markup"))
        message = self._messages[key]
        old_markup = self._markups.get(key)
        if message.get("text") == parsed.text and old_markup == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = parsed.text
        message.pop("entities", None)
        if parsed.entities:
            message["entities"] = parsed.entities
        return self._apply_markup(key, markup, edited=True)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        key = self._existing_message(params, "message to edit not found")
        markup = _check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if self._markups.get(key) == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        return self._apply_markup(key, markup, edited=True)

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        key = self._existing_message(params, "message to delete not found")
        del self._messages[key]
        self._markups.pop(key, None)
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers.append(dict(params))
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be an array")
        for command in commands:
            if not COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= MAX_COMMAND_DESCRIPTION:
                raise bad_request("command description must be non-empty")
        self.commands[_commands_key(params)] = list(commands)
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(_commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(_commands_key(params), None)
        return True

    # -- helpers ---------------------------------------------------------------------------------

    def _target_chat(self, params: Mapping[str, Any]) -> int | str:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat_id = _chat_key(raw)
        if isinstance(chat_id, int) and chat_id in self._blocked:
            raise ApiError(*FAULTS["blocked"])
        return chat_id

    def _existing_message(self, params: Mapping[str, Any], missing: str) -> tuple[int | str, int]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = self._target_chat(params)
        key = (chat_id, int(params.get("message_id") or 0))
        if key not in self._messages:
            raise bad_request(missing)
        return key

    def _parse_text(self, params: Mapping[str, Any], name: str) -> ParsedText:
        raw = params.get(name)
        if raw is None or raw == "":
            raise bad_request("message text is empty")
        parsed = _parse(str(raw), params.get("parse_mode"))
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return parsed

    def _store_message(
        self,
        chat_id: int | str,
        content: dict[str, Any],
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        *,
        entity_key: str = "text",
    ) -> dict[str, Any]:
        message_id = self._next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": _now(),
            **content,
        }
        if entities:
            message["entities" if entity_key == "text" else "caption_entities"] = entities
        self._messages[(chat_id, message_id)] = message
        return self._apply_markup((chat_id, message_id), markup, edited=False)

    def _apply_markup(
        self, key: tuple[int | str, int], markup: dict[str, Any] | None, *, edited: bool
    ) -> dict[str, Any]:
        message = self._messages[key]
        self._markups[key] = markup
        message.pop("reply_markup", None)
        # Telegram echoes a keyboard only when it is inline.
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if edited:
            message["edit_date"] = _now()
        return dict(message)

    def _next_message_id(self, chat_id: int | str) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _user(self, user_id: int, **overrides: Any) -> dict[str, Any]:
        user = self._users.setdefault(
            user_id,
            {
                "id": user_id,
                "is_bot": False,
                "first_name": f"Chủ cơ sở {user_id}",
                "language_code": "vi",
            },
        )
        user.update(overrides)
        return dict(user)

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, int) and chat_id > 0:
            user = self._users.get(chat_id, {"first_name": f"Chủ cơ sở {chat_id}"})
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        return {"id": chat_id, "type": "supergroup", "title": f"Nhóm {chat_id}"}

    def _user_message(self, user_id: int, content: dict[str, Any], user: dict[str, Any]) -> int:
        sender = self._user(user_id, **user)
        message = {
            "message_id": self._next_message_id(user_id),
            "from": sender,
            "chat": self._chat(user_id),
            "date": _now(),
            **content,
        }
        return self.inject({"message": message})

    def _accepts(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in OPT_IN_UPDATES

    def _wake(self) -> None:
        """Wake long polls, the webhook pusher and waiting tests: something changed."""
        self._signal.set()
        self._signal = asyncio.Event()

    async def _until(self, predicate: Callable[[], bool], within: float | None) -> bool:
        """Wait until ``predicate()`` holds (True) or ``within`` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while not predicate():
            if self._closing:
                return False
            signal = self._signal
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), remaining)
        return True

    async def _stop_pusher(self) -> None:
        if self._webhook is not None and self._webhook.task is not None:
            self._webhook.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook.task
            self._webhook.task = None

    async def _push_loop(self, hook: _Webhook) -> None:
        """Push pending updates one by one, retrying non-2xx answers like Telegram."""
        while True:
            if not self._pending:
                await self._until(lambda: bool(self._pending), None)
                if self._closing:
                    return
                continue
            item = self._pending[0]
            item.attempts += 1
            status, error = await self._post_update(hook, item.update)
            self.webhook_deliveries.append(
                {"update_id": item.update_id, "status": status, "attempt": item.attempts}
            )
            if error is None:
                self._pending.remove(item)
                self._wake()
                continue
            hook.last_error_date = _now()
            hook.last_error_message = error
            if item.attempts >= self.webhook_attempts:
                self._pending.remove(item)
                self.dropped_updates.append(item.update)
                self._wake()
                continue
            await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(self, hook: _Webhook, update: dict[str, Any]) -> tuple[int, str | None]:
        assert self._session is not None
        headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
        try:
            async with self._session.post(hook.url, json=update, headers=headers) as response:
                body = await response.read()
                if 200 <= response.status < 300:
                    await self._method_in_response(response.content_type, body)
                    return response.status, None
                return response.status, f"Wrong response from the webhook: {response.status} "
        except (ClientError, TimeoutError) as exc:
            return 0, f"Connection failed: {exc!r}"

    async def _method_in_response(self, content_type: str, body: bytes) -> None:
        """Telegram runs a method given in the webhook's answer body (its result is never
        reported back); the bot uses it to answer callback queries without a request."""
        if content_type != "application/json" or not body:
            return
        params = json.loads(body)
        if not isinstance(params, dict) or "method" not in params:
            return
        method = str(params.pop("method"))
        known = self._methods.get(method.lower())
        if known is None:
            return
        name, handler = known
        call: dict[str, Any] = {"method": name, "params": params, "ok": False, "via": "webhook"}
        try:
            call["result"] = await handler(params)
            call["ok"] = True
        except ApiError as exc:
            call["error"] = exc.description
        self._record(call)

    # -- control side over HTTP ----------------------------------------------------------------

    async def _control_updates(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = body.pop("type", "raw")
        actions: dict[str, Callable[..., int]] = {
            "text": self.send_text,
            "command": self.send_command,
            "button": self.press_button,
            "contact": self.share_contact,
            "location": self.send_location,
            "sticker": self.send_sticker,
            "chat_member": self.chat_member,
        }
        try:
            update_id = self.inject(body["update"]) if kind == "raw" else actions[kind](**body)
        except (KeyError, TypeError, LookupError) as exc:
            return web.json_response({"ok": False, "description": repr(exc)}, status=400)
        return web.json_response({"ok": True, "update_id": update_id})

    async def _control_sent(self, request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        return web.json_response({"ok": True, "sent": self.sent(chat_id)})

    async def _control_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "delay" in body:
            self.delay(body["method"], float(body["delay"]))
        else:
            self.fail_next(**body)
        return web.json_response({"ok": True})

    async def _control_redeliver(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"ok": True, "update_id": self.redeliver(body["update_id"])})

    async def _control_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _control_reset(self, request: web.Request) -> web.Response:
        await self._stop_pusher()
        self.reset()
        return web.json_response({"ok": True})


#: Methods that deliver a new message: rate-limited, counted in ``delivered``.
_SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_SEND_METHODS_LOWER: Final = frozenset(name.lower() for name in _SEND_METHODS)
#: Methods whose successful calls :meth:`FakeTelegramAPI.sent` lists.
_SENT_METHODS: Final = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "sendChatAction",
        "sendDocument",
        "sendPhoto",
        "setMyCommands",
        "deleteMyCommands",
    }
)


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a JSON, form or multipart body."""
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError as exc:
            raise bad_request("can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise bad_request("JSON body must be an object")
        return params | body
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            params[key] = {"file_name": value.filename, "file_size": len(data)}
        else:
            params[key] = _decode(key, value)
    return _resolve_attachments(params)


def _resolve_attachments(params: dict[str, Any]) -> dict[str, Any]:
    """``attach://name`` references point at uploaded parts."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.pop(value.removeprefix("attach://"), value)
    return params


def _decode(key: str, value: str) -> Any:
    """Form values are strings; anything not a string parameter arrives JSON-encoded."""
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _parse(text: str, parse_mode: Any) -> ParsedText:
    mode = str(parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode in {"", "none"}:
        return ParsedText(text)
    if mode in {"markdown", "markdownv2"}:
        return ParsedText(text)  # not parsed by the fake; the bot uses HTML
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply markup like Telegram (callback data 1-64 bytes, button shapes)."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else button.get("text")
                if not text:
                    raise bad_request("can't parse keyboard button: Text is empty")
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text is empty")
    if "callback_data" in button:
        size = len(str(button["callback_data"]).encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        if not str(button["url"]).startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    elif not any(
        key in button
        for key in ("web_app", "login_url", "switch_inline_query", "copy_text", "pay")
    ):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def _callback_datas(markup: Mapping[str, Any]) -> set[str]:
    return {
        str(button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    }


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": dict(user), "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _chat_key(raw: Any) -> int | str:
    text = str(raw)
    return int(text) if text.lstrip("-").isdigit() else text


def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status)
