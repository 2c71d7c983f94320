"""Telegram for broadcasts: one message per recipient, no in-memory rate limiter.

Replies to owners go through :class:`~bot.channels.telegram.TelegramChannel`, whose PTB
``AIORateLimiter`` is a safety net that sleeps and retries. A broadcast must not: the
sender's pace (``bot.app.workers.broadcasts``) is the limiter, and a 429 has to pause every
worker and put the row back in the database. Rendering and the error mapping are the
channel's own (``render``, ``send_failure``), so a broadcast looks like any other message.

Sends skip PTB's ``Bot``: the payload, already the Bot API's JSON, is posted as it is over
the request's one aiohttp session, and an error answer becomes the exception PTB would have
raised (``api_error``). PTB's path turned every parameter into a ``RequestParameter`` first,
which at 1,000 messages a second was a third of the sender's CPU.
"""

from __future__ import annotations

from typing import Any, Final

from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError

from bot.channels.telegram import CHANNEL_NAME, DEFAULT_TELEGRAM_API, render, send_failure
from bot.channels.telegram_http import AiohttpRequest, api_result
from bot.core.delivery import Attachment, SendResult, SendStatus
from bot.core.messages import OutboundMessage

#: Connections kept open to the Bot API (requests in flight = rate x latency).
POOL_SIZE: Final = 32
#: …and in paid mode: 1,000 messages/s at up to a quarter second each.
PAID_POOL_SIZE: Final = 256
CAPTION_LIMIT: Final = MessageLimit.CAPTION_LENGTH
METHODS: Final = {"photo": "sendPhoto", "document": "sendDocument"}
#: PTB's rule for a base URL: these are replaced by the token, else the token is appended.
TOKEN_FIELDS: Final = tuple(
    f"{{{name}}}"
    for name in ("token", "TOKEN", "bot_token", "BOT_TOKEN", "bot-token", "BOT-TOKEN")
)


def api_url(base_url: str, token: str) -> str:
    """The bot's API address, as PTB's ``Bot`` builds it from ``base_url``."""
    if not any(field in base_url for field in TOKEN_FIELDS):
        return base_url + token
    for field in TOKEN_FIELDS:
        base_url = base_url.replace(field, token)
    return base_url


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
        self._url = api_url(base_url or DEFAULT_TELEGRAM_API, token)
        #: ``allow_paid_broadcast``: up to 1,000 messages/s, paid in Stars by the bot owner.
        self._paid = paid
        self._contact_label = contact_label
        self._started = False

    @property
    def name(self) -> str:
        return CHANNEL_NAME

    async def start(self) -> None:
        """Open the connection pool and check the token (``getMe``), as ``Bot.initialize``."""
        if not self._started:
            await self._request.initialize()
            await self._call("getMe", {})
            self._started = True

    async def stop(self) -> None:
        self._started = False
        # Also after a start that failed half-way: the HTTP session never outlives the run.
        await self._request.shutdown()

    async def _call(self, method: str, payload: dict[str, Any]) -> Any:
        """One Bot API call; its ``result``, or the ``TelegramError`` PTB would raise."""
        status, body = await self._request.post_json(f"{self._url}/{method}", payload)
        return api_result(status, body)

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
                result = await self._call(METHODS[attachment.kind], payload)
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
                result = await self._call("sendMessage", payload)
                sent.append(str(result["message_id"]))
        except TelegramError as exc:
            return send_failure(exc, sent=sent)
        return SendResult(SendStatus.SENT, message_ids=tuple(sent))
