"""A Zalo OA channel on a real engine and database, its routes on a test server, pointed at
the fake Zalo: for tests of the webhook, the token store and the send policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app.web import create_app
from bot.app.workers.outbox import OutboxWorker, unreachable_reporter
from bot.channels.base import ChannelHost
from bot.channels.zalo_oa import ZaloOAChannel, ZaloOASettings
from bot.core.clock import FixedClock
from bot.core.config import load_settings
from bot.core.engine import Engine
from storage import Database
from tests.fakes.zalo_api import FakeZaloOA
from tests.harness import fixed_clock, make_engine, zalo_oa_values

STAFF = "staff-officer-1"


@dataclass
class OASetup:
    fake: FakeZaloOA
    engine: Engine
    channel: ZaloOAChannel
    client: TestClient[Any, Any]
    outbox: OutboxWorker
    clock: FixedClock

    @property
    def database(self) -> Database:
        return self.engine.database


def build_oa_channel(engine: Engine, fake: FakeZaloOA) -> ZaloOAChannel:
    settings = engine.settings.section(ZaloOASettings)
    host = ChannelHost(
        settings=engine.settings,
        database=engine.database,
        texts=engine.content.texts,
        dispatch=engine.process,
        handle=engine.handle,
        clock=engine.clock,
    )
    channel = ZaloOAChannel(settings, host)
    engine.register_channel(channel)
    return channel


@pytest.fixture
async def zalo_oa() -> AsyncIterator[FakeZaloOA]:
    async with FakeZaloOA() as server:
        yield server


@pytest.fixture
async def oa(database: Database, zalo_oa: FakeZaloOA) -> AsyncIterator[OASetup]:
    """Started and granted; on SQLite and PostgreSQL."""
    clock = fixed_clock()
    settings = load_settings(
        database_url=str(database.url), staff_chats=f"zalo_oa:{STAFF}", **zalo_oa_values(zalo_oa)
    )
    engine, _ = make_engine(database, settings=settings, clock=clock)
    channel = build_oa_channel(engine, zalo_oa)
    outbox = OutboxWorker(
        database, engine.channels, clock=clock, on_unreachable=unreachable_reporter(engine)
    )
    async with TestClient(TestServer(create_app(engine, channel.routes()))) as client:
        zalo_oa.webhook_url = str(client.make_url("/zalo/oa/webhook"))
        await channel.start()
        pair = zalo_oa.grant()
        from bot.channels.zalo.tokens import TokenPair

        await channel.tokens.save_grant(
            TokenPair(pair["access_token"], pair["refresh_token"], int(pair["expires_in"]))
        )
        try:
            yield OASetup(zalo_oa, engine, channel, client, outbox, clock)
        finally:
            await channel.stop()
