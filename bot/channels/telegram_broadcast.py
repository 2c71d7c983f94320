"""Telegram for broadcasts: one message per recipient, no in-memory rate limiter.

Replies to owners go through :class:`~bot.channels.telegram.TelegramChannel`, whose PTB
``AIORateLimiter`` is a safety net that sleeps and retries. A broadcast must not: the
sender's pace (``bot.app.workers.broadcasts``) is the limiter, and a 429 has to pause every
worker and put the row back in the database. Rendering and the error mapping are the
channel's own (``render``, ``send_failure``), so a broadcast looks like any other message.
"""

from __future__ import annotations

from typing import Any, Final

from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError

from bot.channels.telegram import (
    CHANNEL_NAME,
    DEFAULT_TELEGRAM_API,
    ReplyBot,
    render,
    send_failure,
)
from bot.channels.telegram_http import AiohttpRequest
from bot.core.delivery import Attachment, SendResult, SendStatus
from bot.core.messages import OutboundMessage

#: Connections kept open to the Bot API (requests in flight = rate x latency).
POOL_SIZE: Final = 32
#: …and in paid mode: 1,000 messages/s at up to a quarter second each.
PAID_POOL_SIZE: Final = 256
CAPTION_LIMIT: Final = MessageLimit.CAPTION_LENGTH
METHODS: Final = {"photo": "sendPhoto", "document": "sendDocument"}


class TelegramBroadcastTransport:
    """``send`` for the broadcast sender; ``start`` / ``stop`` around a run."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        paid: bool = False,
        contact_label: str = "",
        pool_size: int | None = None,
    ) -> None:
        pool_size = pool_size or (PAID_POOL_SIZE if paid else POOL_SIZE)
        self._request = AiohttpRequest(connection_pool_size=pool_size)
        self._bot = ReplyBot(
            token, base_url=base_url or DEFAULT_TELEGRAM_API, request=self._request
        )
        #: ``allow_paid_broadcast``: up to 1,000 messages/s, paid in Stars by the bot owner.
        self._paid = paid
        self._contact_label = contact_label
        self._started = False

    @property
    def name(self) -> str:
        return CHANNEL_NAME

    async def start(self) -> None:
        if not self._started:
            await self._bot.initialize()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            await self._bot.shutdown()
            self._started = False
        # Also after a start that failed half-way: the HTTP session never outlives the run.
        await self._request.shutdown()

    async def send(
        self, chat_id: str, message: OutboundMessage, *, attachment: Attachment | None = None
    ) -> SendResult:
        parts = render(message, contact_label=self._contact_label)
        sent: list[str] = []
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if self._paid else {}
        try:
            first = 0
            if attachment is not None and attachment.kind in METHODS:
                caption = parts[0].text if len(parts) == 1 else ""
                payload: dict[str, Any] = {
                    "chat_id": chat_id,
                    attachment.kind: attachment.ref,
                    "parse_mode": ParseMode.HTML.value,
                    **extra,
                }
                if caption and len(caption) <= CAPTION_LIMIT:
                    payload["caption"] = caption
                    if parts[0].reply_markup is not None:
                        payload["reply_markup"] = parts[0].reply_markup
                    first = 1
                result = await self._bot.call_raw(METHODS[attachment.kind], payload)
                sent.append(str(result["message_id"]))
            for part in parts[first:]:
                payload = {
                    "chat_id": chat_id,
                    "text": part.text,
                    "parse_mode": ParseMode.HTML.value,
                    **extra,
                }
                if part.reply_markup is not None:
                    payload["reply_markup"] = part.reply_markup
                result = await self._bot.call_raw("sendMessage", payload)
                sent.append(str(result["message_id"]))
        except TelegramError as exc:
            return send_failure(exc, sent=sent)
        return SendResult(SendStatus.SENT, message_ids=tuple(sent))
