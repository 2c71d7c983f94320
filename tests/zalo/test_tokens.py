"""The OA's OAuth tokens: single-flight refresh across workers, committed before use,
proactive and reactive refresh, the lost refresh answer, sealed at rest, re-authorisation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.channels.zalo.crypto import SecretBox
from bot.channels.zalo.tokens import OAuthClient, TokenPair, TokenStore, ZaloAuthError
from bot.core.clock import FixedClock
from storage import Database, OutboxMessage
from storage.models.channels import ZaloToken
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_ID, FakeZaloOA
from tests.harness import TEST_TOKEN_KEY, fixed_clock
from tests.zalo.conftest import OASetup

USER = "2468458835296117922"


def _store(
    database: Database, fake: FakeZaloOA, http: aiohttp.ClientSession, clock: FixedClock
) -> TokenStore:
    oauth = OAuthClient(base_url=fake.base_url, app_id=APP_ID, session=http)
    return TokenStore(
        database=database,
        box=SecretBox(TEST_TOKEN_KEY),
        oauth=oauth,
        oa_id=OA_ID,
        clock=clock,
        app_secret=APP_SECRET,
    )


async def _seed(store: TokenStore, fake: FakeZaloOA) -> None:
    pair = fake.grant()
    await store.save_grant(
        TokenPair(pair["access_token"], pair["refresh_token"], int(pair["expires_in"]))
    )


async def test_two_workers_refresh_once(database: Database, zalo_oa: FakeZaloOA) -> None:
    """Two processes (two engines on one database) find the token due at the same time."""
    clock = fixed_clock()
    second_worker = Database(database.url)
    try:
        async with aiohttp.ClientSession() as http:
            first = _store(database, zalo_oa, http, clock)
            second = _store(second_worker, zalo_oa, http, clock)
            await _seed(first, zalo_oa)
            clock.advance(timedelta(hours=21))  # due for its proactive refresh
            zalo_oa.refresh_delay = 0.3
            tokens = await asyncio.gather(first.access_token(), second.access_token())
        assert len(zalo_oa.refresh_calls()) == 1
        assert tokens[0] == tokens[1]
        assert tokens[0] in zalo_oa.access_tokens
        assert len(zalo_oa.refresh_tokens) == 1  # the grant is still alive
        async with database.session() as session:
            row = await session.get(ZaloToken, OA_ID)
        assert row is not None
        assert SecretBox(TEST_TOKEN_KEY).open(row.refresh_token) in zalo_oa.refresh_tokens
    finally:
        await second_worker.dispose()


async def test_a_fresh_token_is_not_refreshed(database: Database, zalo_oa: FakeZaloOA) -> None:
    clock = fixed_clock()
    async with aiohttp.ClientSession() as http:
        store = _store(database, zalo_oa, http, clock)
        await _seed(store, zalo_oa)
        clock.advance(timedelta(hours=19))
        await store.access_token()
    assert zalo_oa.refresh_calls() == []


async def test_tokens_are_sealed_at_rest(database: Database, zalo_oa: FakeZaloOA) -> None:
    async with aiohttp.ClientSession() as http:
        store = _store(database, zalo_oa, http, fixed_clock())
        await _seed(store, zalo_oa)
        token = await store.access_token()
    async with database.session() as session:
        row = (
            await session.execute(text("SELECT access_token, refresh_token FROM zalo_token"))
        ).one()
    assert token not in row[0]
    assert not any(value in " ".join(row) for value in zalo_oa.refresh_tokens)


async def test_a_lost_refresh_answer_asks_for_reauthorisation_once(oa: OASetup) -> None:
    """Zalo rotated the refresh token but its answer never came: the one retry is refused,
    staff are alerted, /healthz says so, and nothing retries in a loop."""
    oa.fake.drop_refresh_answers = 1
    oa.clock.advance(timedelta(hours=21))
    with pytest.raises(ZaloAuthError):
        await oa.channel.tokens.access_token()
    assert len(oa.fake.refresh_calls()) == 2  # the lost one and the refused retry
    with pytest.raises(ZaloAuthError):
        await oa.channel.tokens.access_token()
    assert len(oa.fake.refresh_calls()) == 2  # no loop
    assert await oa.channel.health() == "needs_reauthorisation"
    async with oa.database.session() as session:
        alerts = list((await session.execute(select(OutboxMessage))).scalars())
    assert [(a.channel, a.chat_id, a.topic) for a in alerts] == [
        ("zalo_oa", "staff-officer-1", "zalo:reauthorise")
    ]
    assert "khuyencong zalo authorize" in alerts[0].payload["text"]
    response = await oa.client.get("/healthz")
    body = await response.json()
    assert body["channels"]["zalo_oa"] == "needs_reauthorisation"
    assert body["status"] == "attention"


async def test_an_invalid_token_is_refreshed_once_and_the_send_retried(oa: OASetup) -> None:
    await oa.fake.deliver(oa.fake.text_event(USER, "/start"))
    await oa.fake.wait_for_sent(USER, 1)
    oa.fake.expire_access_tokens()  # Zalo answers -216 to the cached token
    before = len(oa.fake.sent(USER))
    await oa.fake.deliver(oa.fake.text_event(USER, "menu"))
    await oa.fake.wait_for_sent(USER, before + 1)
    assert len(oa.fake.refresh_calls()) == 1


async def test_the_permission_callback_stores_a_new_grant(oa: OASetup) -> None:
    await oa.channel.tokens.begin_grant(state="state-123")
    code = oa.fake.issue_code()
    wrong = await oa.client.get(f"/zalo/oa/callback?code={code}&state=other&oa_id={OA_ID}")
    assert wrong.status == 400
    right = await oa.client.get(f"/zalo/oa/callback?code={code}&state=state-123&oa_id={OA_ID}")
    assert right.status == 200
    assert "Đã kết nối" in await right.text()
    exchange = [c for c in oa.fake.oauth_calls if c.get("grant_type") == "authorization_code"]
    assert exchange[0]["secret_key"] == APP_SECRET  # the secret travels in the header
    assert await oa.channel.health() == "ok"
    replay = await oa.client.get(f"/zalo/oa/callback?code={code}&state=state-123&oa_id={OA_ID}")
    assert replay.status == 400  # the state is single-use
