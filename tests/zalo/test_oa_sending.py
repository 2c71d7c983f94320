"""What the outbox does with each Zalo answer, and the 7-day window asked before sending."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.messages import OutboundMessage, message_to_dict
from storage import OutboxMessage
from storage.repositories import Conversations
from tests.zalo.conftest import STAFF, OASetup

USER = "2468458835296117922"


async def _known_user(oa: OASetup) -> None:
    """The person wrote to the OA (inside the window)."""
    await oa.fake.deliver(oa.fake.text_event(USER, "/start"))
    await oa.fake.wait_for_sent(USER, 1)


async def _queue(oa: OASetup, chat_id: str = USER) -> None:
    async with oa.database.transaction() as session:
        Conversations(session).enqueue(
            channel="zalo_oa",
            chat_id=chat_id,
            payload=message_to_dict(OutboundMessage(text="Cán bộ trả lời: hạn là 20/5.")),
            topic="handoff:1",
            now=oa.clock.now(),
        )


async def _rows(oa: OASetup) -> list[OutboxMessage]:
    async with oa.database.session() as session:
        return list(
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        )


@pytest.mark.parametrize(
    ("code", "outbox_status"),
    [
        (-230, "unreachable"),  # no interaction in 7 days
        (-213, "unreachable"),  # not a follower
        (-227, "unreachable"),  # banned or inactive
        (-232, "unreachable"),
        (-244, "unreachable"),
        (-217, "unreachable"),
        (-32, "pending"),  # call limit: retried later
        (-211, "pending"),  # out of quota: retried later
        (-234, "pending"),  # night-time ban: retried at 06:00
        (-224, "pending"),  # package upgrade needed: retried slowly while an admin fixes it
        (-201, "failed"),  # payload bug: never retried
        (-233, "failed"),
        (-248, "failed"),
    ],
)
async def test_each_error_code_gives_the_right_outbox_status(
    oa: OASetup, code: int, outbox_status: str
) -> None:
    await _known_user(oa)
    await _queue(oa)
    oa.fake.user_errors[USER] = code
    await oa.outbox.deliver_due()
    rows = await _rows(oa)
    [row] = [r for r in rows if r.chat_id == USER]
    assert row.status == outbox_status
    assert str(code) in row.last_error
    staff = [r for r in rows if r.chat_id == STAFF]
    if outbox_status == "unreachable":
        [report] = staff  # staff are told to call instead
        assert "không gửi được" in report.payload["text"]
    else:
        assert staff == []
    if code == -234:
        assert row.next_attempt_at > oa.clock.now() + timedelta(minutes=1)


async def test_an_expired_token_is_refreshed_and_the_row_sent(oa: OASetup) -> None:
    await _known_user(oa)
    await _queue(oa)
    oa.fake.expire_access_tokens()
    await oa.outbox.deliver_due()
    [row] = [r for r in await _rows(oa) if r.chat_id == USER]
    assert row.status == "sent"
    assert row.message_ids
    assert len(oa.fake.refresh_calls()) == 1


async def test_outside_the_window_nothing_is_sent_and_staff_are_told(oa: OASetup) -> None:
    await _known_user(oa)
    sent = len(oa.fake.send_calls)
    oa.clock.advance(timedelta(days=8))
    await _queue(oa)
    await oa.outbox.deliver_due()
    rows = await _rows(oa)
    [row] = [r for r in rows if r.chat_id == USER]
    assert row.status == "unreachable"
    assert "window" in row.last_error
    assert [r.chat_id for r in rows if r.topic == "unreachable"] == [STAFF]
    [report] = [r.payload["text"] for r in rows if r.topic == "unreachable"]
    assert "7 ngày" in report
    assert "HT-1" in report  # the hand-off whose staff reply could not be delivered
    assert len(oa.fake.send_calls) == sent  # Zalo was not even asked


async def test_someone_who_never_wrote_is_unreachable(oa: OASetup) -> None:
    await _queue(oa, chat_id="999")
    await oa.outbox.deliver_due()
    [row] = [r for r in await _rows(oa) if r.chat_id == "999"]
    assert row.status == "unreachable"
    assert oa.fake.send_calls == []


async def test_an_unfollower_is_unreachable(oa: OASetup) -> None:
    await _known_user(oa)
    await oa.fake.deliver(oa.fake.follow_event(USER, follow=False))
    await oa.fake.wait_for_sent(USER, 1)
    for _ in range(200):  # until the unfollow is handled
        async with oa.database.session() as session:
            identity = await Conversations(session).find_identity(channel="zalo_oa", user_id=USER)
        if identity is not None and identity.blocked_at is not None:
            break
        await asyncio.sleep(0.02)
    await _queue(oa)
    await oa.outbox.deliver_due()
    [row] = [r for r in await _rows(oa) if r.chat_id == USER]
    assert row.status == "unreachable"
