"""Builds a real engine on a real database for tests, with a recording channel.

Used by the flow tests of every area so a scripted conversation can run through the same
path as production: event → engine → commit → replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import func, select

from bot.app.runtime import BotRuntime
from bot.app.web import create_app
from bot.channels.base import ChannelHost, SendResult, SendStatus
from bot.channels.webchat import WebChatChannel
from bot.core.clock import FixedClock
from bot.core.config import Settings, load_settings
from bot.core.content import Content
from bot.core.engine import Engine
from bot.core.flow import Flow
from bot.core.messages import (
    ChannelCapabilities,
    Conversation,
    EventKind,
    InboundEvent,
    OutboundMessage,
    SharedContact,
)
from bot.core.router import Router
from handlers import build_router
from storage import ChannelIdentity, ConversationState, Database, OutboxMessage, ProcessedEvent
from tests.fakes import zalo_api
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloBot, FakeZaloOA

ROOT = Path(__file__).resolve().parent.parent
TICK_STEP = timedelta(seconds=1)
TICK_SECONDS = 0.05
TEST_NOW = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@dataclass
class RecordingChannel:
    """A channel that keeps what it was asked to send."""

    name: str = "test"
    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)

    @property
    def capabilities(self) -> ChannelCapabilities:
        return ChannelCapabilities(max_text_length=4096, max_buttons=12)

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        self.sent.append((chat_id, message))
        return SendResult(SendStatus.SENT, message_ids=(str(len(self.sent)),))


def fixed_clock(now: datetime = TEST_NOW) -> FixedClock:
    """The clock every component of a test runs on, so no test depends on the real date."""
    return FixedClock(now)


def make_engine(
    database: Database,
    *,
    settings: Settings | None = None,
    content_root: Path | None = None,
    clock: FixedClock | None = None,
    router: Router | None = None,
) -> tuple[Engine, RecordingChannel]:
    channel = RecordingChannel()
    engine = Engine(
        database=database,
        content=Content(content_root or ROOT / "content"),
        settings=settings or load_settings(database_url=str(database.url)),
        router=router or build_router(),
        channels={channel.name: channel},
        clock=clock or fixed_clock(),
    )
    return engine, channel


class Replies(list[OutboundMessage]):
    """The replies of one step, with what tests read of them."""

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self)

    @property
    def choices(self) -> list[str]:
        return [choice.id for reply in self for choice in reply.choices]

    @property
    def labels(self) -> list[str]:
        return [choice.label for reply in self for choice in reply.choices]


class User:
    """The one test driver: a scripted user whose every event goes through the real engine
    (router, typed-choice mapping, flows, one committed step) on a real database.

    Each call sends one event and returns its :class:`Replies`; :meth:`conversation` reads
    the state the engine committed, :meth:`notices` the outbox rows a step queued.
    """

    _ids = itertools.count(1)

    def __init__(self, engine: Engine, user_id: str = "u1", channel: str = "test") -> None:
        self.engine = engine
        self.user_id = user_id
        self.chat_id = user_id
        self.channel = channel
        self.last = Replies()

    def event(self, kind: EventKind, text: str = "", **extra: object) -> InboundEvent:
        return InboundEvent(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.chat_id,
            event_id=f"e{next(self._ids)}",
            kind=kind,
            text=text,
            **extra,  # type: ignore[arg-type]
        )

    async def send(self, event: InboundEvent) -> Replies:
        self.last = Replies(await self.engine.handle(event))
        return self.last

    async def say(self, text: str) -> Replies:
        return await self.send(self.event(EventKind.TEXT, text))

    async def command(self, name: str, args: str = "") -> Replies:
        return await self.send(self.event(EventKind.COMMAND, name, args=args))

    async def tap(self, choice_id: str) -> Replies:
        return await self.send(self.event(EventKind.CHOICE, choice_id))

    async def start(self, flow: Flow | str, choice: str | None = None) -> Replies:
        """Enter ``flow`` as its menu button does (``<flow>:start``) or with ``choice``."""
        name = flow if isinstance(flow, str) else flow.name
        return await self.tap(choice or f"{name}:start")

    async def share_contact(self, phone: str, owner: str | None = None) -> Replies:
        contact = SharedContact(phone=phone, owner_user_id=owner or self.user_id)
        return await self.send(self.event(EventKind.CONTACT, contact=contact))

    @property
    def choice_ids(self) -> list[str]:
        return self.last.choices

    async def conversation(self) -> Conversation:
        """The state the engine committed for this user (a fresh one before any step)."""
        async with self.engine.database.session() as session:
            row = await session.scalar(
                select(ConversationState)
                .join(ChannelIdentity, ChannelIdentity.id == ConversationState.identity_id)
                .where(
                    ChannelIdentity.channel == self.channel,
                    ChannelIdentity.user_id == self.user_id,
                )
            )
        if row is None:
            return Conversation()
        return Conversation(flow=row.flow, step=row.step, data=dict(row.data))


def webchat_app(engine: Engine) -> web.Application:
    """The aiohttp app with the web chat's routes, on ``engine`` (as the runtime mounts it)."""
    host = ChannelHost(
        settings=engine.settings,
        database=engine.database,
        texts=engine.content.texts,
        dispatch=engine.process,
        handle=engine.handle,
        clock=engine.clock,
    )
    channel = WebChatChannel(host)
    engine.register_channel(channel)
    return create_app(engine, channel.routes())


async def offered(database: Database, user_id: str, *, channel: str) -> list[str]:
    """The ids of the options last offered to ``user_id`` (what a typed number means)."""
    async with database.session() as session:
        choices = await session.scalar(
            select(ConversationState.last_choices)
            .join(ChannelIdentity, ChannelIdentity.id == ConversationState.identity_id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)
        )
    return [str(choice[0]) for choice in choices or []]


STEP_POLL_SECONDS = 0.02
STEP_TIMEOUT_SECONDS = 10.0


async def committed_replies(database: Database, *, channel: str, event_id: str) -> list[object]:
    """The replies the engine committed for an event, waiting until its step is recorded:
    a condition to wait on where a test must show that nothing (more) is sent."""
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        while True:
            async with database.session() as session:
                row = await session.get(ProcessedEvent, (channel, event_id))
            if row is not None:
                return list(row.replies or [])
            await asyncio.sleep(STEP_POLL_SECONDS)


async def outbox_idle(database: Database) -> None:
    """Wait until the outbox worker has handled every queued notice."""
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        while True:
            async with database.session() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_(("pending", "sending")))
                )
            if not waiting:
                return
            await asyncio.sleep(STEP_POLL_SECONDS)


def texts_of(replies: list[OutboundMessage]) -> str:
    return "\n".join(reply.text for reply in replies)


def choice_ids(replies: list[OutboundMessage]) -> list[str]:
    return [choice.id for reply in replies for choice in reply.choices]


def telegram_settings(tmp_path: Path, fake: FakeTelegramAPI, **overrides: object) -> Settings:
    """Settings for the real runtime on a fresh SQLite file, talking to the fake Telegram."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "host": "127.0.0.1",
        "port": 0,
        "telegram_bot_token": fake.token,
        "telegram_api_base_url": fake.base_url,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[BotRuntime]:
    """The real runtime (as ``khuyencong serve``), started for the block and then stopped."""
    runtime = BotRuntime(settings, clock=fixed_clock())
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


#: A fixed Fernet key for tests (never used outside them).
TEST_TOKEN_KEY = "q1l8bSg0Qm5x3ZyCk9H2oVwT4eUaJfR7sLdNpXiYc6E="
ZALO_BOT_WEBHOOK_SECRET = "zalo-bot-secret-123"


def zalo_oa_values(fake: FakeZaloOA) -> dict[str, object]:
    """``load_settings`` overrides for the OA on the fake Zalo (OAuth and OpenAPI)."""
    return {
        "zalo_app_id": zalo_api.APP_ID,
        "zalo_app_secret": zalo_api.APP_SECRET,
        "zalo_oa_id": zalo_api.OA_ID,
        "zalo_oa_secret_key": zalo_api.OA_SECRET_KEY,
        "zalo_token_key": TEST_TOKEN_KEY,
        "zalo_oauth_base_url": fake.base_url,
        "zalo_oa_api_base_url": fake.base_url,
    }


def zalo_bot_values(fake: FakeZaloBot, *, webhook: bool = False) -> dict[str, object]:
    values: dict[str, object] = {
        "zalo_bot_token": fake.token,
        "zalo_bot_api_base_url": fake.base_url,
    }
    if webhook:
        values["zalo_bot_webhook_secret"] = ZALO_BOT_WEBHOOK_SECRET
    return values


def zalo_settings(
    tmp_path: Path,
    *,
    oa: FakeZaloOA | None = None,
    bot: FakeZaloBot | None = None,
    bot_webhook: bool = False,
    **overrides: object,
) -> Settings:
    """Settings for the real runtime on a fresh SQLite file with Zalo on the fakes."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "host": "127.0.0.1",
        "port": 0,
    }
    if oa is not None:
        values.update(zalo_oa_values(oa))
    if bot is not None:
        values.update(zalo_bot_values(bot, webhook=bot_webhook))
    values.update(overrides)
    return load_settings(**values)


async def grant_zalo(runtime: BotRuntime, fake: FakeZaloOA) -> None:
    """Seed the OA's token store as API Explorer's token pair would, and aim the fake's
    webhook sender at the runtime."""
    from bot.channels.zalo.tokens import TokenPair
    from bot.channels.zalo_oa import ZaloOAChannel

    fake.webhook_url = f"http://127.0.0.1:{runtime.port}/zalo/oa/webhook"
    channel = runtime.channels["zalo_oa"]
    assert isinstance(channel, ZaloOAChannel)
    pair = fake.grant()
    await channel.tokens.save_grant(
        TokenPair(pair["access_token"], pair["refresh_token"], int(pair["expires_in"]))
    )


@asynccontextmanager
async def ticking(
    clock: FixedClock, *, step: timedelta = TICK_STEP, every: float = TICK_SECONDS
) -> AsyncIterator[FixedClock]:
    """Move ``clock`` forward by ``step`` every ``every`` real seconds during the block, for
    tests where time must pass (a group chat's pace) without waiting for it."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(every)
            clock.advance(step)

    ticker = asyncio.create_task(tick())
    try:
        yield clock
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


async def link_officer(database: Database, *, channel: str, user_id: str) -> None:
    """A staff account linked to a chat account, as ``/lienket CODE`` leaves it."""
    from storage.models.staff import StaffAccount, StaffIdentity

    async with database.transaction() as session:
        account = StaffAccount(
            username=f"officer{user_id}",
            password_hash="-",
            role="staff",
            wards=[],
            programmes=[],
            active=True,
            must_change_password=False,
            created_at=TEST_NOW,
            updated_at=TEST_NOW,
        )
        session.add(account)
        await session.flush()
        session.add(
            StaffIdentity(
                account_id=account.id, channel=channel, user_id=user_id, linked_at=TEST_NOW
            )
        )
