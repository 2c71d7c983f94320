"""What the broadcast sender needs from a channel: send one message, say what happened.

A channel plugs into broadcasting by giving a :class:`BroadcastTransport`. Any channel's own
``send`` does through :class:`ChannelTransport` (Zalo, whose send already reports blocked,
not-found and out-of-window recipients as :class:`~bot.channels.base.SendStatus` values);
Telegram has a dedicated one (``bot.channels.telegram_broadcast``) without PTB's in-memory
rate limiter, because the sender's own pace, shared through the database, is the limiter
and a 429 must park database rows, not sleep inside a retry loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.channels.base import Channel, SendResult, SendStatus
from bot.messages import OutboundMessage

ATTACHMENT_KINDS = ("photo", "document")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or a PDF, by URL or by the platform's file id."""

    kind: str
    ref: str


class BroadcastTransport(Protocol):
    @property
    def name(self) -> str: ...

    async def send(
        self, chat_id: str, message: OutboundMessage, *, attachment: Attachment | None = None
    ) -> SendResult: ...


class ChannelTransport:
    """Broadcast through a channel's ordinary ``send`` (attachments become a link line)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    @property
    def name(self) -> str:
        return self._channel.name

    async def send(
        self, chat_id: str, message: OutboundMessage, *, attachment: Attachment | None = None
    ) -> SendResult:
        if attachment is not None and attachment.ref.startswith(("https://", "http://")):
            message = OutboundMessage(
                text=f"{message.text}\n\n{attachment.ref}",
                choices=message.choices,
                links=message.links,
                columns=message.columns,
            )
        try:
            return await self._channel.send(chat_id, message)
        except Exception as exc:  # a channel bug must not stop the whole broadcast
            return SendResult(SendStatus.TRANSIENT, detail=type(exc).__name__)
