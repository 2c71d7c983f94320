"""The web chat's headers, body rules, rate limits and session purge (issue 18.10-18.12)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app.workers.maintenance import MaintenanceWorker
from bot.channels.web_guard import SESSION_RULE, WEBCHAT_MAX_BODY_BYTES
from bot.channels.webchat import SESSION_COOKIE
from storage import Database
from storage.models import ChannelIdentity, Person
from tests.hardening.kit import register
from tests.harness import User, fixed_clock, make_engine, webchat_app

TOO_MANY = "gửi nhanh quá"


@pytest.fixture
async def web(sqlite_database: Database) -> AsyncIterator[TestClient[Any, Any]]:
    engine, _ = make_engine(sqlite_database)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as client:
        yield client


async def test_pages_and_answers_carry_security_headers(web: TestClient[Any, Any]) -> None:
    page = await web.get("/chat")
    html = await page.text()
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
    for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy  # the page's own script still runs
    for response in (page, await web.get("/healthz"), await web.get("/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_api_refuses_text_plain_and_oversized_bodies(web: TestClient[Any, Any]) -> None:
    plain = await web.post(
        "/chat/api/message", data='{"text": "hi"}', headers={"Content-Type": "text/plain"}
    )
    assert plain.status == 415 and "không hợp lệ" in (await plain.json())["error"]
    big = await web.post("/chat/api/message", json={"text": "a" * WEBCHAT_MAX_BODY_BYTES})
    assert big.status == 413


async def test_the_session_cookie_is_secure_behind_https(web: TestClient[Any, Any]) -> None:
    plain = await web.post("/chat/api/message", json={"text": "/start"})
    assert "Secure" not in plain.headers["Set-Cookie"]
    https = await web.post(
        "/chat/api/message", json={"text": "/start"}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" in https.headers["Set-Cookie"]


async def test_one_session_flooding_gets_a_vietnamese_429(web: TestClient[Any, Any]) -> None:
    statuses = []
    for _ in range(int(SESSION_RULE.capacity) + 3):
        response = await web.post("/chat/api/message", json={"text": "/help"})
        statuses.append(response.status)
    assert statuses[: int(SESSION_RULE.capacity)] == [200] * int(SESSION_RULE.capacity)
    assert statuses[-1] == 429
    assert TOO_MANY in (await response.json())["error"]
    assert int(response.headers["Retry-After"]) >= 1


async def test_cookie_less_posts_cannot_create_people_without_end(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    jar = aiohttp.DummyCookieJar()  # drops every cookie
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as client:
        statuses = [
            (await client.post("/chat/api/message", json={"text": "/start"})).status
            for _ in range(30)
        ]
    assert statuses.count(429) >= 15
    async with sqlite_database.transaction() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
    assert people is not None and people <= 15


async def test_idle_anonymous_web_sessions_are_purged(database: Database) -> None:
    clock = fixed_clock()
    engine, _ = make_engine(database, clock=clock)
    idle = User(engine, user_id="idle-session", channel="web")
    registered = User(engine, user_id="owner-session", channel="web")
    await idle.command("start")
    await register(registered)
    clock.advance(timedelta(days=31))
    active = User(engine, user_id="active-session", channel="web")
    await active.command("start")
    worker = MaintenanceWorker(
        database,
        keep_event_hours=72,
        handoff_idle_hours=48,
        web_session_idle_days=30,
        clock=clock,
    )
    done = await worker.run_once()
    assert done["web_sessions_purged"] == 1
    async with database.transaction() as session:
        left = set((await session.execute(select(ChannelIdentity.user_id))).scalars())
    assert left == {"owner-session", "active-session"}
    assert SESSION_COOKIE  # the cookie holds the session id these identities are keyed by
