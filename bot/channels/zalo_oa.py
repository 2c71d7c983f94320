"""The Center's Zalo Official Account (OA OpenAPI v3) as a channel.

Inbound: Zalo POSTs signed events to ``/zalo/oa/webhook``. The signature is checked in
constant time (401 and nothing stored otherwise), the raw event is committed to the webhook
inbox (once per event id) and Zalo gets its 200 at once; the inbox worker then maps it to a
neutral event for the engine. A staff member's message from OA Manager (an ``oa_send_*``
echo that is not one of ours) pauses the bot for that person (a hand-off).

Outbound: ``POST /v3.0/oa/message/cs`` with the ``access_token`` header from the token
store; a token Zalo calls invalid is refreshed once and the send tried again. Zalo's error
codes become send statuses (bot/channels/zalo/errors.py); sends nobody is waiting for are first
checked against the 7-day window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from pydantic import ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

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
from bot.channels.zalo.crypto import SecretBox, SecretBoxError
from bot.channels.zalo.events import OA_CHANNEL, StaffEcho, oa_event, oa_event_key
from bot.channels.zalo.handoff import pause_for_staff
from bot.channels.zalo.policy import window_check
from bot.channels.zalo.render import MAX_OA_BUTTONS, MAX_TEXT_LENGTH, InfoRequest, oa_messages
from bot.channels.zalo.signature import OA_SIGNATURE_HEADER, verify_oa_signature
from bot.channels.zalo.tokens import (
    DEFAULT_OAUTH_BASE,
    PERMISSION_PATH,
    OAuthClient,
    TokenStore,
    ZaloAuthError,
    code_challenge,
)
from bot.core.messages import ChannelCapabilities, OutboundMessage, message_to_dict
from storage.models.channels import SentMessage
from storage.repositories import Conversations

log = logging.getLogger(__name__)

CHANNEL_NAME: Final = OA_CHANNEL
WEBHOOK_PATH: Final = "/zalo/oa/webhook"
CALLBACK_PATH: Final = "/zalo/oa/callback"
DEFAULT_API_BASE: Final = "https://openapi.zalo.me"
SEND_PATH: Final = "/v3.0/oa/message/cs"
MAX_WEBHOOK_BYTES: Final = 64 * 1024
HTTP_TIMEOUT_SECONDS: Final = 15.0
#: Saving the webhook URL in Zalo's console may POST an unsigned ``{}``: answered 200, ignored.
EMPTY_PING: Final = b"{}"
INFO_TITLE_LABEL: Final = "zalo.request_info_title"
INFO_SUBTITLE_LABEL: Final = "zalo.request_info_subtitle"
REAUTH_TEMPLATE: Final = "zalo/reauthorise"
GRANTED_TEMPLATE: Final = "zalo/granted"
GRANT_FAILED_TEMPLATE: Final = "zalo/grant_failed"
REAUTH_TOPIC: Final = "zalo:reauthorise"
STATE_BYTES: Final = 24
#: Own message ids kept in memory; older ones are found in ``channel_sent_message``.
MAX_REMEMBERED_IDS: Final = 10_000
#: Zalo echoes a send within seconds; ids older than this are forgotten.
SENT_ID_RETENTION: Final = timedelta(days=2)


class ZaloOASettings(ChannelSettings):
    """``ZALO_*`` variables for the OA (documented in .env.example); the OA is on when
    ``ZALO_APP_ID`` and ``ZALO_OA_ID`` are set."""

    model_config = SettingsConfigDict(env_prefix="ZALO_")

    app_id: str = ""
    #: Used by ``khuyencong zalo authorize`` (then kept sealed in the database) or set here.
    app_secret: str = ""
    oa_id: str = ""
    #: The "OA Secret Key" of the app's Webhook page (not the app secret): signs webhooks.
    oa_secret_key: str = ""
    #: Fernet key sealing tokens and the app secret at rest (``khuyencong zalo key``).
    token_key: str = ""
    #: The fixed PKCE verifier whose challenge is saved in Zalo's console.
    oa_code_verifier: str = ""
    oauth_base_url: str = DEFAULT_OAUTH_BASE
    oa_api_base_url: str = DEFAULT_API_BASE
    #: Optional picture on the "share your phone" card (https, jpg or png).
    oa_info_image_url: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.oa_id)

    @field_validator("oa_secret_key", "token_key")
    @classmethod
    def _required_for_the_oa(cls, value: str, info: ValidationInfo) -> str:
        """A half configuration stops start-up with the variable's name."""
        if info.data.get("app_id") and info.data.get("oa_id") and not value:
            msg = "required when ZALO_APP_ID and ZALO_OA_ID are set"
            raise ValueError(msg)
        if info.field_name == "token_key" and value:
            try:
                SecretBox(value)
            except SecretBoxError as exc:
                raise ValueError(str(exc)) from None
        return value


def permission_link(settings: ZaloOASettings, *, redirect_uri: str, state: str) -> str:
    query = {"app_id": settings.app_id, "redirect_uri": redirect_uri, "state": state}
    if settings.oa_code_verifier:
        query["code_challenge"] = code_challenge(settings.oa_code_verifier)
    return f"{settings.oauth_base_url.rstrip('/')}{PERMISSION_PATH}?{urlencode(query)}"


class ZaloOAChannel:
    """Receives OA webhooks into the inbox and sends consultation messages."""

    name: Final = CHANNEL_NAME
    capabilities: Final = ChannelCapabilities(
        max_text_length=MAX_TEXT_LENGTH,
        max_buttons=MAX_OA_BUTTONS,
        supports_buttons=True,
        supports_contact_request=True,
        supports_bold=False,
    )

    def __init__(self, settings: ZaloOASettings, host: ChannelHost) -> None:
        self._settings = settings
        self._database = host.database
        self._dispatch = host.dispatch
        self._texts = host.texts
        self._clock = host.clock
        self._zone = ZoneInfo(host.settings.timezone)
        self._staff_targets = host.settings.staff_targets
        self._inbox = InboxWorker(
            host.database,
            {CHANNEL_NAME: self.handle_stored},
            clock=host.clock,
            keep=timedelta(hours=host.settings.dedup_retention_hours),
        )
        self._inbox_task: asyncio.Task[None] | None = None
        self._box = SecretBox(settings.token_key)
        self._http: aiohttp.ClientSession | None = None
        self._tokens: TokenStore | None = None
        self._send_url = settings.oa_api_base_url.rstrip("/") + SEND_PATH
        #: Ids this process sent, so their echo is known at once (the table serves others).
        self._own_ids: set[str] = set()

    def _now(self) -> datetime:
        """The runtime's clock in the Center's time zone (Zalo's night rule is local)."""
        return self._clock.now().astimezone(self._zone)

    @property
    def tokens(self) -> TokenStore:
        if self._tokens is None:
            msg = "the Zalo OA channel is not started"
            raise RuntimeError(msg)
        return self._tokens

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP client and handle stored events (those left by a crash first)."""
        self._http = aiohttp.ClientSession()
        oauth = OAuthClient(
            base_url=self._settings.oauth_base_url,
            app_id=self._settings.app_id,
            session=self._http,
        )
        self._tokens = TokenStore(
            database=self._database,
            box=self._box,
            oauth=oauth,
            oa_id=self._settings.oa_id,
            clock=self._clock,
            app_secret=self._settings.app_secret or None,
            on_reauth_needed=self._alert_staff,
        )
        self._inbox_task = asyncio.create_task(self._inbox.run())

    async def stop(self) -> None:
        """Finish the stored events in hand, then close the HTTP client."""
        self._inbox.stop()
        if self._inbox_task is not None:
            await self._inbox_task
            self._inbox_task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post(WEBHOOK_PATH, self.handle_webhook),
            web.get(CALLBACK_PATH, self.handle_callback),
        ]

    async def health(self) -> str:
        return await self.tokens.status()

    def _alert_staff(self, session: AsyncSession, error: str) -> None:
        """Tell staff (in the same transaction as the flag) that the OA must be re-authorised."""
        text = self._texts.render(REAUTH_TEMPLATE)
        payload = message_to_dict(OutboundMessage(text=text))
        for channel, chat_id in self._staff_targets:
            Conversations(session).enqueue(
                channel=channel,
                chat_id=chat_id,
                payload=payload,
                topic=REAUTH_TOPIC,
                now=self._now(),
            )

    # -- receiving -------------------------------------------------------------------------

    async def handle_webhook(self, request: web.Request) -> web.Response:
        body = await request.content.read(MAX_WEBHOOK_BYTES + 1)
        if len(body) > MAX_WEBHOOK_BYTES:
            return web.Response(status=413)
        if body.strip() == EMPTY_PING and OA_SIGNATURE_HEADER not in request.headers:
            return web.Response()
        if not verify_oa_signature(
            headers=request.headers,
            body=body,
            app_id=self._settings.app_id,
            secret_key=self._settings.oa_secret_key,
        ):
            return web.Response(status=401)
        try:
            payload = json.loads(body)
            event_id, user_key = oa_event_key(payload)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.Response(status=400, text="not a Zalo event")
        await self._inbox.store(
            channel=CHANNEL_NAME, event_id=event_id, user_key=user_key, body=body.decode()
        )
        return web.Response()

    async def handle_stored(self, event_id: str, body: str) -> None:
        """The inbox worker's call: one stored event, after Zalo got its 200."""
        try:
            event = oa_event(json.loads(body), event_id=event_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("zalo event %s is malformed; dropped", event_id)
            return
        if isinstance(event, StaffEcho):
            await self._on_echo(event)
        elif event is not None:
            await self._dispatch(event)

    async def _on_echo(self, echo: StaffEcho) -> None:
        if echo.message_id and await self._is_own(echo.message_id):
            return
        handoff_id = await pause_for_staff(
            self._database, channel=CHANNEL_NAME, user_id=echo.user_id, now=self._now()
        )
        log.info("staff answered from OA Manager; bot paused", extra={"handoff": handoff_id})

    async def _is_own(self, message_id: str) -> bool:
        if message_id in self._own_ids:
            return True
        async with self._database.transaction() as session:
            row = await session.get(SentMessage, (CHANNEL_NAME, message_id))
        return row is not None

    async def handle_callback(self, request: web.Request) -> web.Response:
        """Where Zalo sends the OA admin after "Cho phép": exchange the code for tokens."""
        code = request.query.get("code", "")
        state = request.query.get("state", "")
        oa_id = request.query.get("oa_id", self._settings.oa_id)
        ok = False
        if code and state and oa_id == self._settings.oa_id:
            try:
                ok = await self.tokens.complete_grant(
                    state=state, code=code, verifier=self._settings.oa_code_verifier
                )
            except (ZaloAuthError, aiohttp.ClientError, TimeoutError, ValueError):
                log.exception("zalo code exchange failed")
                ok = False
        template = GRANTED_TEMPLATE if ok else GRANT_FAILED_TEMPLATE
        return web.Response(
            text=self._texts.render(template),
            status=200 if ok else 400,
            content_type="text/html",
            charset="utf-8",
        )

    # -- sending ---------------------------------------------------------------------------

    async def check_reach(self, chat_id: str) -> SendResult | None:
        """Asked by the outbox before a message nobody is waiting for."""
        return await window_check(
            self._database, channel=CHANNEL_NAME, chat_id=chat_id, now=self._now()
        )

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        """Send one reply (several Zalo messages if long). Never raises for Zalo errors."""
        if self._http is None or self._tokens is None:
            return SendResult(SendStatus.TRANSIENT, detail="the Zalo OA channel is not started")
        info = InfoRequest(
            title=self._texts.label(INFO_TITLE_LABEL),
            subtitle=self._texts.label(INFO_SUBTITLE_LABEL),
            image_url=self._settings.oa_info_image_url or None,
        )
        sent: list[str] = []
        for body in oa_messages(message, info=info):
            result = await self._send_one(chat_id, body)
            if isinstance(result, SendResult):
                return SendResult(
                    result.status,
                    retry_after=result.retry_after,
                    message_ids=tuple(sent),
                    detail=result.detail,
                )
            sent.append(result)
        await self._remember(sent)
        return SendResult(SendStatus.SENT, message_ids=tuple(sent))

    async def _send_one(self, chat_id: str, body: dict[str, Any]) -> str | SendResult:
        """The new message id, or the failure."""
        payload = {"recipient": {"user_id": chat_id}, "message": body}
        try:
            token = await self.tokens.access_token()
            code, answer = await self._post(payload, token)
            if code in errors.TOKEN_ERRORS:
                token = await self.tokens.refresh(failed_token=token)
                code, answer = await self._post(payload, token)
        except ZaloAuthError as exc:
            return SendResult(
                SendStatus.RETRY_AFTER,
                retry_after=errors.CONFIG_PAUSE_SECONDS,
                detail=f"zalo auth: {exc}",
            )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return SendResult(SendStatus.TRANSIENT, detail=f"zalo network: {type(exc).__name__}")
        if code == 0:
            data = answer.get("data")
            message_id = str(data.get("message_id", "")) if isinstance(data, dict) else ""
            if message_id:
                if len(self._own_ids) >= MAX_REMEMBERED_IDS:
                    self._own_ids.clear()  # the table still knows them
                self._own_ids.add(message_id)
            return message_id
        if code in errors.TOKEN_ERRORS:
            return SendResult(
                SendStatus.RETRY_AFTER,
                retry_after=errors.CONFIG_PAUSE_SECONDS,
                detail=f"zalo {code}: token refused after a refresh",
            )
        return errors.oa_send_result(code, str(answer.get("message", "")), now=self._now())

    async def _post(self, payload: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
        assert self._http is not None
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
        async with self._http.post(
            self._send_url, json=payload, headers={"access_token": token}, timeout=timeout
        ) as response:
            answer: Any = await response.json(content_type=None)
        if not isinstance(answer, dict):
            msg = "not a Zalo answer"
            raise ValueError(msg)
        return int(answer.get("error", 0) or 0), answer

    async def _remember(self, message_ids: list[str]) -> None:
        """Record our own message ids for other workers' echo check."""
        ids = [message_id for message_id in message_ids if message_id]
        if not ids:
            return
        now = self._now()
        async with self._database.transaction() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            insert = pg_insert(SentMessage) if postgres else sqlite_insert(SentMessage)
            await session.execute(
                insert.values(
                    [{"channel": CHANNEL_NAME, "message_id": mid, "sent_at": now} for mid in ids]
                ).on_conflict_do_nothing()
            )
            await session.execute(
                delete(SentMessage).where(
                    SentMessage.channel == CHANNEL_NAME,
                    SentMessage.sent_at < now - SENT_ID_RETENTION,
                )
            )


def new_state() -> str:
    return secrets.token_urlsafe(STATE_BYTES)


def build(settings: ZaloOASettings, host: ChannelHost) -> Channel | None:
    return ZaloOAChannel(settings, host) if settings.enabled else None


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=ZaloOASettings, build=build)
