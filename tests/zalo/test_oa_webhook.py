"""The OA webhook: signed, stored before the 200, handled once, handled after a crash."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app.runtime import BotRuntime
from bot.app.web import create_app
from bot.channels.zalo.tokens import TokenPair
from bot.core.config import load_settings
from storage import ChannelIdentity, Database
from storage.models.channels import InboxStatus, WebhookInbox
from storage.models.leads import Handoff
from tests.fakes.zalo_api import FakeZaloOA
from tests.harness import fixed_clock, make_engine, zalo_oa_values
from tests.zalo.conftest import OASetup, build_oa_channel

USER = "2468458835296117922"


async def _count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _inbox(database: Database) -> list[WebhookInbox]:
    async with database.session() as session:
        return list((await session.execute(select(WebhookInbox))).scalars())


async def _settled(database: Database) -> None:
    """Until every stored event is handled (a condition, not a sleep)."""
    deadline = time.monotonic() + 10
    while any(row.status != InboxStatus.DONE for row in await _inbox(database)):
        assert time.monotonic() < deadline, "inbox never drained"
        await asyncio.sleep(0.02)


async def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(oa: OASetup) -> None:
    event = oa.fake.text_event(USER, "xin chào")
    assert await oa.fake.deliver(event, signature="bad") == 401
    assert await oa.fake.deliver(event, signature="missing") == 401
    assert await _count(oa.database, WebhookInbox) == 0
    assert await _count(oa.database, ChannelIdentity) == 0
    assert oa.fake.sent(USER) == []


async def test_the_unsigned_empty_ping_of_the_console_gets_200(oa: OASetup) -> None:
    response = await oa.client.post("/zalo/oa/webhook", data=b"{}")
    assert response.status == 200
    assert await _count(oa.database, WebhookInbox) == 0


async def test_a_redelivered_event_is_handled_once(oa: OASetup) -> None:
    event = oa.fake.text_event(USER, "/start")
    assert await oa.fake.deliver(event) == 200
    await oa.fake.wait_for_sent(USER, 1)
    await _settled(oa.database)
    replies = len(oa.fake.sent(USER))
    assert await oa.fake.deliver(event, num_retry=1) == 200
    assert await oa.fake.deliver(event, num_retry=2) == 200
    await _settled(oa.database)
    assert len(oa.fake.sent(USER)) == replies
    assert len(await _inbox(oa.database)) == 1


async def test_the_answer_comes_within_two_seconds_when_zalo_is_slow(oa: OASetup) -> None:
    oa.fake.send_delay = 3.0
    started = time.monotonic()
    assert await oa.fake.deliver(oa.fake.text_event(USER, "/start")) == 200
    assert time.monotonic() - started < 2.0
    await oa.fake.wait_for_sent(USER, 1, timeout=10)


async def test_the_text_of_a_handled_event_is_not_kept_in_the_inbox(oa: OASetup) -> None:
    await oa.fake.deliver(
        oa.fake.submit_info_event(USER, name="Nguyễn Văn A", phone="84912345678")
    )
    await _settled(oa.database)
    [row] = await _inbox(oa.database)
    assert row.body == ""


async def test_an_event_stored_before_a_crash_is_handled_after_restart(
    tmp_path: Path, zalo_oa: FakeZaloOA
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    settings = load_settings(database_url=url, host="127.0.0.1", port=0, **zalo_oa_values(zalo_oa))
    # First life: the webhook answers 200 and stores the event, then the process dies before
    # its inbox worker ever runs (the channel is served but never started).
    database = Database(url)
    from storage import upgrade

    await upgrade(database)
    engine, _ = make_engine(database, settings=settings)
    channel = build_oa_channel(engine, zalo_oa)
    # The OA was connected before the crash: the second life may answer the moment it starts
    # (before a grant made after its start, the reply would wait in the outbox instead).
    await channel.start()
    pair = zalo_oa.grant()
    await channel.tokens.save_grant(
        TokenPair(pair["access_token"], pair["refresh_token"], int(pair["expires_in"]))
    )
    await channel.stop()  # its inbox worker no longer runs: the event below stays stored
    async with TestClient(TestServer(create_app(engine, channel.routes()))) as client:
        zalo_oa.webhook_url = str(client.make_url("/zalo/oa/webhook"))
        assert await zalo_oa.deliver(zalo_oa.text_event(USER, "/start")) == 200
    await database.dispose()
    assert zalo_oa.sent(USER) == []

    # Second life: the real runtime on the same database handles it first thing.
    runtime = BotRuntime(settings, clock=fixed_clock())
    await runtime.start()
    try:
        [reply, *_] = await zalo_oa.wait_for_sent(USER, 1)
        assert "Xin chào" in reply["text"]
    finally:
        await runtime.stop()


async def test_staff_answering_in_oa_manager_pauses_the_bot(oa: OASetup) -> None:
    oa.fake.echo_sends = True  # Zalo echoes every OA send, the bot's own included
    await oa.fake.deliver(oa.fake.text_event(USER, "/start"))
    await oa.fake.wait_for_sent(USER, 1)
    await _settled(oa.database)
    assert await _count(oa.database, Handoff) == 0  # the bot's own echoes pause nothing

    await oa.fake.deliver(oa.fake.staff_event(USER, "Chào anh, em là cán bộ Trung tâm."))
    await _settled(oa.database)
    assert await _count(oa.database, Handoff) == 1
    before = len(oa.fake.sent(USER))
    await oa.fake.deliver(oa.fake.text_event(USER, "hỗ trợ máy móc bao nhiêu"))
    await _settled(oa.database)
    assert len(oa.fake.sent(USER)) == before  # the bot stays quiet; staff answer

    # The hand-off ends (the owner cancels): the bot answers again.
    await oa.fake.deliver(oa.fake.text_event(USER, "/huy"))
    await oa.fake.wait_for_sent(USER, before + 1)
    await _settled(oa.database)
    async with oa.database.session() as session:
        [handoff] = (await session.execute(select(Handoff))).scalars()
    assert not handoff.is_open
    count = len(oa.fake.sent(USER))
    await oa.fake.deliver(oa.fake.text_event(USER, "menu"))
    await oa.fake.wait_for_sent(USER, count + 1)


async def test_images_stickers_and_locations_get_a_polite_reply(oa: OASetup) -> None:
    await oa.fake.deliver(oa.fake.image_event(USER))
    [reply, *_] = await oa.fake.wait_for_sent(USER, 1)
    assert "chỉ đọc được chữ và nút bấm" in reply["text"]
