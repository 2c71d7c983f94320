"""A Zalo Bot platform bot (``bot-api.zaloplatforms.com``) as a channel.

Telegram-like but simpler: a static token, ``sendMessage`` with text only (at most 2000
characters), no buttons, so choices are numbered lines the engine maps back. Updates come by
webhook (``X-Bot-Api-Secret-Token`` checked in constant time) or by ``getUpdates`` long
polling, which returns one update per call and answers 408 when the poll simply timed out.
Either way the raw update goes to the durable inbox first, de-duplicated on
``event_name`` + ``message_id``, and one user's updates are handled in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from bot.channels.base import (
    Channel,
    ChannelHost,
    ChannelPlugin,
    ChannelSettings,
    SendResult,
    SendStatus,
)
from bot.channels.inbox import InboxWorker
from bot.channels.zalo import errors
from bot.channels.zalo.events import BOT_CHANNEL, bot_event, bot_event_key, unwrap_bot_update
from bot.channels.zalo.policy import window_check
from bot.channels.zalo.render import MAX_TEXT_LENGTH, bot_texts
from bot.channels.zalo.signature import verify_bot_secret
from bot.core.messages import ChannelCapabilities, OutboundMessage
from bot.core.wording import load_no_buttons_wording

log = logging.getLogger(__name__)

CHANNEL_NAME: Final = BOT_CHANNEL
WEBHOOK_PATH: Final = "/zalo/bot/webhook"
DEFAULT_API_BASE: Final = "https://bot-api.zaloplatforms.com"
MIN_SECRET: Final = 8
MAX_SECRET: Final = 256
MAX_WEBHOOK_BYTES: Final = 64 * 1024
POLL_TIMEOUT_SECONDS: Final = 30
#: getUpdates answers error_code 408 when nothing arrived during the poll: not an error.
POLL_TIMED_OUT: Final = 408
POLL_ERROR_PAUSE_SECONDS: Final = 5.0
HTTP_SLACK_SECONDS: Final = 10.0
HTTP_TIMEOUT_SECONDS: Final = 15.0


class ZaloBotSettings(ChannelSettings):
    """``ZALO_BOT_*`` variables (documented in .env.example); on when a token is set."""

    model_config = SettingsConfigDict(env_prefix="ZALO_BOT_")

    token: str = ""
    api_base_url: str = DEFAULT_API_BASE
    #: With PUBLIC_URL set: the webhook's shared secret (8-256 characters).
    webhook_secret: str = ""
    poll_timeout: int = POLL_TIMEOUT_SECONDS

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if value and not MIN_SECRET <= len(value) <= MAX_SECRET:
            msg = f"use {MIN_SECRET}-{MAX_SECRET} characters"
            raise ValueError(msg)
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class ZaloBotApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class ZaloBotChannel:
    """Receives updates (webhook or polling) into the inbox and sends text replies."""

    name: Final = CHANNEL_NAME
    capabilities: Final = ChannelCapabilities(
        max_text_length=MAX_TEXT_LENGTH,
        max_buttons=0,
        supports_buttons=False,
        supports_contact_request=False,
        supports_bold=False,
    )

    def __init__(self, settings: ZaloBotSettings, host: ChannelHost) -> None:
        self._settings = settings
        self._database = host.database
        self._dispatch = host.dispatch
        self._clock = host.clock
        self._zone = ZoneInfo(host.settings.timezone)
        self._public_url = host.settings.public_url
        #: No buttons here: "bấm «X»" in the texts becomes "gõ «X»" (content/channels/).
        self._reword = load_no_buttons_wording(host.settings.content_dir).apply
        self._inbox = InboxWorker(
            host.database,
            {CHANNEL_NAME: self.handle_stored},
            clock=host.clock,
            keep=timedelta(hours=host.settings.dedup_retention_hours),
        )
        self._inbox_task: asyncio.Task[None] | None = None
        self._base = f"{settings.api_base_url.rstrip('/')}/bot{settings.token}/"
        self._http: aiohttp.ClientSession | None = None
        self._poller: asyncio.Task[None] | None = None

    def _now(self) -> datetime:
        """The runtime's clock in the Center's time zone (Zalo's night rule is local)."""
        return self._clock.now().astimezone(self._zone)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Webhook mode when PUBLIC_URL and a secret are set; long polling otherwise."""
        self._http = aiohttp.ClientSession()
        self._inbox_task = asyncio.create_task(self._inbox.run())
        await self.call("getMe", {})
        public_url = self._public_url
        if public_url and self._settings.webhook_secret:
            await self.call(
                "setWebhook",
                {
                    "url": public_url.rstrip("/") + WEBHOOK_PATH,
                    "secret_token": self._settings.webhook_secret,
                },
            )
            log.info("Zalo bot in webhook mode")
        else:
            with contextlib.suppress(ZaloBotApiError):
                await self.call("deleteWebhook", {})  # getUpdates and webhooks exclude each other
            self._poller = asyncio.create_task(self._poll())
            log.info("Zalo bot in long-polling mode")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        self._inbox.stop()
        if self._inbox_task is not None:
            await self._inbox_task
            self._inbox_task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.handle_webhook)]

    async def health(self) -> str:
        return "ok" if self._http is not None else "stopped"

    # -- the Bot API -----------------------------------------------------------------------

    async def call(
        self, method: str, params: dict[str, Any], *, wait: float = HTTP_TIMEOUT_SECONDS
    ) -> Any:
        """POST a method; its ``result``, or :class:`ZaloBotApiError`. The URL carries the
        token, so network errors are re-raised without it."""
        if self._http is None:
            msg = "the Zalo bot channel is not started"
            raise RuntimeError(msg)
        try:
            async with self._http.post(
                self._base + method, json=params, timeout=aiohttp.ClientTimeout(total=wait)
            ) as response:
                answer: Any = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ZaloBotApiError(0, f"network: {type(exc).__name__}") from None
        if not isinstance(answer, dict):
            raise ZaloBotApiError(0, "not a Bot API answer")
        if not answer.get("ok"):
            raise ZaloBotApiError(
                int(answer.get("error_code") or 0), str(answer.get("description", ""))
            )
        return answer.get("result")

    # -- receiving -------------------------------------------------------------------------

    async def handle_webhook(self, request: web.Request) -> web.Response:
        if not verify_bot_secret(headers=request.headers, secret=self._settings.webhook_secret):
            return web.Response(status=401)
        body = await request.content.read(MAX_WEBHOOK_BYTES + 1)
        if len(body) > MAX_WEBHOOK_BYTES:
            return web.Response(status=413)
        try:
            update = unwrap_bot_update(json.loads(body))
            await self._store(update)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.Response(status=400, text="not a Zalo bot update")
        return web.Response()

    async def _store(self, update: Any) -> bool:
        event_id, user_key = bot_event_key(update)
        return await self._inbox.store(
            channel=CHANNEL_NAME,
            event_id=event_id,
            user_key=user_key,
            body=json.dumps(update, ensure_ascii=False),
        )

    async def _poll(self) -> None:
        timeout = self._settings.poll_timeout
        while True:
            try:
                update = await self.call(
                    "getUpdates", {"timeout": str(timeout)}, wait=timeout + HTTP_SLACK_SECONDS
                )
            except ZaloBotApiError as exc:
                if exc.code != POLL_TIMED_OUT:
                    log.warning("zalo getUpdates failed: %s", exc.code)
                    await asyncio.sleep(POLL_ERROR_PAUSE_SECONDS)
                continue
            if not isinstance(update, dict):
                continue
            try:
                await self._store(unwrap_bot_update(update))
            except (KeyError, TypeError, AttributeError):
                log.warning("zalo bot update without a message; skipped")
            except Exception:
                log.exception("could not store a zalo bot update")
                await asyncio.sleep(POLL_ERROR_PAUSE_SECONDS)

    async def handle_stored(self, event_id: str, body: str) -> None:
        try:
            event = bot_event(json.loads(body), event_id=event_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("zalo bot update %s is malformed; dropped", event_id)
            return
        if event is not None:
            await self._dispatch(event)

    # -- sending ---------------------------------------------------------------------------

    async def check_reach(self, chat_id: str) -> SendResult | None:
        """The bot can only write to people who wrote to it first."""
        return await window_check(
            self._database, channel=CHANNEL_NAME, chat_id=chat_id, now=self._now(), window=None
        )

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        if self._http is None:
            return SendResult(SendStatus.TRANSIENT, detail="the Zalo bot channel is not started")
        sent: list[str] = []
        for text in bot_texts(message):
            params = {"chat_id": chat_id, "text": self._reword(text)}
            try:
                result = await self.call("sendMessage", params)
            except ZaloBotApiError as exc:
                return errors.bot_send_result(exc.code, exc.description, sent=tuple(sent))
            if isinstance(result, dict) and result.get("message_id"):
                sent.append(str(result["message_id"]))
        return SendResult(SendStatus.SENT, message_ids=tuple(sent))


def build(settings: ZaloBotSettings, host: ChannelHost) -> Channel | None:
    return ZaloBotChannel(settings, host) if settings.enabled else None


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=ZaloBotSettings, build=build)
