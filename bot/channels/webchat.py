"""The local web chat at ``/chat``: try the bot in a browser with no token at all.

Replies to a message come back in the HTTP response; messages that arrive later (a staff
reply relayed by the outbox, a status update) are written to the message log as notices
and fetched by the page's polling.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from bot.channels.base import SendResult, SendStatus
from bot.clock import Clock
from bot.messages import ChannelCapabilities, OutboundMessage
from storage import Database
from storage import conversations as repo

CHANNEL_NAME = "web"
SESSION_COOKIE = "kc_chat"
SESSION_TOKEN_BYTES = 18
WEB_TEXT_LIMIT = 4000
WEB_MAX_BUTTONS = 12
NOTICE_KIND = "notice"
#: 160 bits of the session-scoped hash: within the 64-character event id column.
EVENT_ID_HEX = 40


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
    """Channel adapter for the browser chat."""

    def __init__(self, database: Database, *, clock: Clock) -> None:
        self._database = database
        self._clock = clock

    @property
    def name(self) -> str:
        return CHANNEL_NAME

    @property
    def capabilities(self) -> ChannelCapabilities:
        return ChannelCapabilities(
            max_text_length=WEB_TEXT_LIMIT,
            max_buttons=WEB_MAX_BUTTONS,
            supports_buttons=True,
            supports_contact_request=False,
        )

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        """Store a late message for the page to fetch on its next poll."""
        async with self._database.transaction() as session:
            identity = await repo.find_identity(session, channel=CHANNEL_NAME, user_id=chat_id)
            if identity is None:
                return SendResult(SendStatus.NOT_FOUND, detail="no such web chat session")
            repo.log_message(
                session,
                identity_id=identity.id,
                direction="out",
                kind=NOTICE_KIND,
                text=message.text,
                now=self._clock.now(),
            )
        return SendResult(SendStatus.SENT)
