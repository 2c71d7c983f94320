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

from bot.channels.base import SendResult, SendStatus
from bot.clock import FixedClock
from bot.config import Settings, load_settings
from bot.content import Content
from bot.engine import Engine
from bot.messages import (
    ChannelCapabilities,
    EventKind,
    InboundEvent,
    OutboundMessage,
    SharedContact,
)
from bot.runtime import BotRuntime
from handlers import build_router
from storage import Database
from tests.fakes.telegram_api import FakeTelegramAPI

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
) -> tuple[Engine, RecordingChannel]:
    channel = RecordingChannel()
    engine = Engine(
        database=database,
        content=Content(content_root or ROOT / "content"),
        settings=settings or load_settings(database_url=str(database.url)),
        router=build_router(),
        channels={channel.name: channel},
        clock=clock or fixed_clock(),
    )
    return engine, channel


class User:
    """A scripted user of the test channel: each call sends one event and returns replies."""

    _ids = itertools.count(1)

    def __init__(self, engine: Engine, user_id: str = "u1", channel: str = "test") -> None:
        self.engine = engine
        self.user_id = user_id
        self.channel = channel

    def event(self, kind: EventKind, text: str = "", **extra: object) -> InboundEvent:
        return InboundEvent(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.user_id,
            event_id=f"e{next(self._ids)}",
            kind=kind,
            text=text,
            **extra,  # type: ignore[arg-type]
        )

    async def send(self, event: InboundEvent) -> list[OutboundMessage]:
        return await self.engine.handle(event)

    async def say(self, text: str) -> list[OutboundMessage]:
        return await self.send(self.event(EventKind.TEXT, text))

    async def command(self, name: str, args: str = "") -> list[OutboundMessage]:
        return await self.send(self.event(EventKind.COMMAND, name, args=args))

    async def tap(self, choice_id: str) -> list[OutboundMessage]:
        return await self.send(self.event(EventKind.CHOICE, choice_id))

    async def share_contact(self, phone: str, owner: str | None = None) -> list[OutboundMessage]:
        contact = SharedContact(phone=phone, owner_user_id=owner or self.user_id)
        return await self.send(self.event(EventKind.CONTACT, contact=contact))


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


async def link_officer(runtime: BotRuntime, *, channel: str, user_id: str) -> None:
    """A staff account linked to a chat account, as ``/lienket CODE`` leaves it."""
    from storage.staff import StaffAccount, StaffIdentity

    assert runtime.database is not None
    async with runtime.database.transaction() as session:
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
