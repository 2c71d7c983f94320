"""The local web chat at ``/chat``: try the bot in a browser with no token at all.

Replies to a message come back in the HTTP response; messages that arrive later (a staff
reply relayed by the outbox, a status update) are written to the message log as notices
and fetched by the page's polling. Errors are short Vietnamese messages with a 4xx status
(the app's error middleware covers the rest).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Final

from aiohttp import web
from pydantic_settings import SettingsConfigDict

from bot.channels.base import (
    Channel,
    ChannelHost,
    ChannelPlugin,
    ChannelSettings,
    SendResult,
    SendStatus,
    fit,
)
from bot.channels.web_guard import Handler, WebChatGuard, is_https
from bot.channels.web_ratelimit import RateLimiter
from bot.core.messages import (
    ChannelCapabilities,
    EventKind,
    InboundEvent,
    OutboundMessage,
    message_to_dict,
)
from bot.core.sanitize import bounded_int
from storage import Database
from storage.repositories.conversations import Conversations

CHANNEL_NAME: Final = "web"
SESSION_COOKIE: Final = "kc_chat"
SESSION_TOKEN_BYTES: Final = 18
SESSION_MAX_AGE_SECONDS: Final = 180 * 24 * 3600
WEB_TEXT_LIMIT: Final = 4000
#: The page wraps buttons; the bound only guards against a runaway list.
WEB_MAX_BUTTONS: Final = 100
NOTICE_KIND: Final = "notice"
#: 160 bits of the session-scoped hash: within the 64-character event id column.
EVENT_ID_HEX: Final = 40
MAX_WEB_TEXT: Final = 2000
MAX_EVENT_ID_LENGTH: Final = 64
MAX_NOTICE_ID: Final = 2**63 - 1
#: Messages a reload shows again (about a day of ordinary use).
HISTORY_LIMIT = 80
#: What the owner did that is shown as their own bubble (commands such as /start are not).
SHOWN_INBOUND = frozenset({EventKind.TEXT.value, EventKind.CHOICE.value})
CAPABILITIES: Final = ChannelCapabilities(
    max_text_length=WEB_TEXT_LIMIT,
    max_buttons=WEB_MAX_BUTTONS,
    supports_buttons=True,
    supports_contact_request=False,
)


class WebChatSettings(ChannelSettings):
    """``WEBCHAT_ENABLED``: on by default, so the bot can be tried without any token."""

    model_config = SettingsConfigDict(env_prefix="WEBCHAT_")

    enabled: bool = True


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_TOKEN_BYTES)


def new_event_id() -> str:
    return uuid.uuid4().hex


def session_event_id(session_id: str, client_event_id: str) -> str:
    """The stored event id: the page's id scoped to its session, so a repeat is replayed
    only to the browser that sent it, never to another one posting the same id."""
    digest = hashlib.sha256(
        f"{session_id}\x00{client_event_id}".encode("utf-8", "surrogatepass")
    ).hexdigest()
    return digest[:EVENT_ID_HEX]


class WebChatChannel:
    """The browser chat: its page and JSON API, and late messages kept for the page."""

    name: Final = CHANNEL_NAME
    capabilities: Final = CAPABILITIES

    def __init__(self, host: ChannelHost) -> None:
        self._host = host
        self._guard = WebChatGuard(
            RateLimiter(host.clock.now), self._template_error, SESSION_COOKIE
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.home),
            web.get("/chat", self.chat_page),
            web.post("/chat/api/message", self._guarded(self.chat_message)),
            web.get("/chat/api/poll", self._guarded(self.chat_poll)),
            web.get("/chat/api/history", self._guarded(self.chat_history)),
        ]

    def _guarded(self, handler: Handler) -> Handler:
        """The API's body rules and rate limits (``bot.channels.web_guard``) before ``handler``."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            return await self._guard.middleware(request, handler)

        return guarded

    def _template_error(self, _request: web.Request, template: str, status: int) -> web.Response:
        return _error(self._host.texts.render(template), status=status)

    async def start(self) -> None:
        """Nothing to start: the page and the API are routes of the app."""

    async def stop(self) -> None:
        """Nothing to stop: the app finishes requests in hand."""

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        """Store a late message for the page to fetch on its next poll."""
        async with self._host.database.transaction() as session:
            identity = await Conversations(session).find_identity(
                channel=CHANNEL_NAME, user_id=chat_id
            )
            if identity is None:
                return SendResult(SendStatus.NOT_FOUND, detail="no such web chat session")
            Conversations(session).log_message(
                identity_id=identity.id,
                direction="out",
                kind=NOTICE_KIND,
                text=message.text,
                now=self._host.clock.now(),
            )
        return SendResult(SendStatus.SENT)

    # -- HTTP ------------------------------------------------------------------------------

    async def home(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/chat")

    async def chat_page(self, _request: web.Request) -> web.Response:
        html = self._host.texts.render("web/chat_page")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def chat_message(self, request: web.Request) -> web.Response:
        """One user message in, the bot's replies out (after they are committed)."""
        texts = self._host.texts
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, nesting too deep
            return _error(texts.render("web/bad_request"), status=400)
        if not isinstance(body, dict):
            return _error(texts.render("web/bad_request"), status=400)
        text = body.get("text")
        choice = body.get("choice")
        event_id = body.get("event_id") or new_event_id()
        if not isinstance(event_id, str) or len(event_id) > MAX_EVENT_ID_LENGTH:
            return _error(texts.render("web/bad_request"), status=400)
        if choice is not None and not isinstance(choice, str):
            return _error(texts.render("web/bad_request"), status=400)
        if isinstance(choice, str) and choice:
            kind, value = EventKind.CHOICE, choice
        elif isinstance(text, str) and text.strip():
            if len(text) > MAX_WEB_TEXT:
                return _error(texts.render("web/too_long", limit=MAX_WEB_TEXT), status=400)
            kind, value = EventKind.TEXT, text.strip()
            if value.startswith("/") and len(value) > 1:
                kind = EventKind.COMMAND
                value = value[1:]
        else:
            return _error(texts.render("web/empty"), status=400)
        session_id = request.cookies.get(SESSION_COOKIE) or new_session_id()
        command_args = ""
        if kind is EventKind.COMMAND:
            value, _, command_args = value.partition(" ")
        event = InboundEvent(
            channel=CHANNEL_NAME,
            user_id=session_id,
            chat_id=session_id,
            event_id=session_event_id(session_id, event_id),
            kind=kind,
            text=value,
            args=command_args,
        )
        replies = await self._host.handle(event)
        shown = [message_to_dict(part) for reply in replies for part in fit(reply, CAPABILITIES)]
        response = web.json_response({"replies": shown})
        response.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=SESSION_MAX_AGE_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=is_https(request),
        )
        return response

    async def chat_poll(self, request: web.Request) -> web.Response:
        """Messages that reached this chat after the page's last poll (staff replies…)."""
        session_id = request.cookies.get(SESSION_COOKIE)
        after = bounded_int(request.query.get("after", "0"), low=0, high=MAX_NOTICE_ID)
        if after is None:
            return _error(self._host.texts.render("web/bad_request"), status=400)
        notices: list[dict[str, object]] = []
        if session_id:
            async with self._host.database.transaction() as session:  # reads only: no lock
                identity = await Conversations(session).find_identity(
                    channel=CHANNEL_NAME, user_id=session_id
                )
                if identity is not None:
                    rows = await Conversations(session).history(
                        identity_id=identity.id, after_id=after, kinds=(NOTICE_KIND,)
                    )
                    notices = [{"id": row.id, "text": row.text} for row in rows]
        return web.json_response({"notices": notices})

    async def chat_history(self, request: web.Request) -> web.Response:
        """The session's recent messages and live buttons: a reload continues the chat."""
        history = await session_history(self._host.database, request.cookies.get(SESSION_COOKIE))
        return web.json_response(history)


async def session_history(database: Database, session_id: str | None) -> dict[str, object]:
    """``{"messages": [{"id", "who", "text"}], "choices": [{"id", "label"}], "last_id"}``."""
    messages: list[dict[str, object]] = []
    choices: list[dict[str, str]] = []
    last_id = 0
    if session_id:
        async with database.transaction() as session:  # reads only: no write lock
            conversations = Conversations(session)
            identity = await conversations.find_identity(channel=CHANNEL_NAME, user_id=session_id)
            if identity is not None:
                rows = await conversations.recent(identity_id=identity.id, limit=HISTORY_LIMIT)
                offered = await conversations.offered_choices(identity_id=identity.id)
                for row in rows:
                    last_id = max(last_id, row.id)
                    if row.direction == "in" and row.kind not in SHOWN_INBOUND:
                        continue
                    who = "me" if row.direction == "in" else "bot"
                    kind = NOTICE_KIND if row.kind == NOTICE_KIND else "reply"
                    messages.append({"id": row.id, "who": who, "text": row.text, "kind": kind})
                choices = [
                    {"id": str(item[0]), "label": str(item[1])}
                    for item in offered
                    if isinstance(item, list) and len(item) > 1
                ]
    return {"messages": messages, "choices": choices, "last_id": last_id}


def _error(message: str, *, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def build(settings: WebChatSettings, host: ChannelHost) -> Channel | None:
    return WebChatChannel(host) if settings.enabled else None


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=WebChatSettings, build=build)
