"""What the broadcast sender needs from a channel: send one message, say what happened.

A channel plugs into broadcasting by giving a :class:`BroadcastTransport`. Any channel's own
``send`` does through :class:`ChannelTransport` (Zalo, whose send already reports blocked,
not-found and out-of-window recipients as :class:`~bot.core.delivery.SendStatus` values);
Telegram has a dedicated one (``bot.channels.telegram_broadcast``) without PTB's in-memory
rate limiter, because the sender's own pace, shared through the database, is the limiter
and a 429 must park database rows, not sleep inside a retry loop.
"""

from __future__ import annotations

from bot.core.delivery import (
    ATTACHMENT_KINDS,
    Attachment,
    BroadcastTransport,
    Sender,
    SendResult,
    SendStatus,
)
from bot.core.messages import OutboundMessage

__all__ = ["ATTACHMENT_KINDS", "Attachment", "BroadcastTransport", "ChannelTransport"]


class ChannelTransport:
    """Broadcast through a channel's ordinary ``send`` (attachments become a link line)."""

    def __init__(self, channel: Sender) -> None:
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
