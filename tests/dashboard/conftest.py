from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app.dashboard import mount_dashboard
from bot.app.web import create_app
from bot.core.clock import FixedClock
from storage import Database
from tests.dashboard.kit import Desk
from tests.harness import fixed_clock, make_engine


@pytest.fixture
def clock() -> FixedClock:
    return fixed_clock()


@pytest.fixture
def desk(sqlite_database: Database, clock: FixedClock) -> Desk:
    engine, channel = make_engine(sqlite_database, clock=clock)
    return Desk(engine=engine, channel=channel, database=sqlite_database)


@pytest.fixture
async def client(desk: Desk) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(desk.engine)
    mount_dashboard(app, desk.engine)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(app), cookie_jar=jar) as test_client:
        yield test_client
