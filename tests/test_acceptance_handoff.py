"""Hỏi cán bộ on Telegram: the owner's question reaches the staff group, a staff member's
reply to it reaches the owner, and the bot stays quiet meanwhile."""

from __future__ import annotations

from pathlib import Path

from tests.channel_drivers import TelegramDriver, plain
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import committed_replies, link_officer, running, telegram_settings, ticking

STAFF_GROUP = -100888
OFFICER = 6001
OWNER = 6101


async def test_handoff_round_trip_through_the_staff_group(
    tmp_path: Path, fake: FakeTelegramAPI
) -> None:
    settings = telegram_settings(tmp_path, fake, staff_chats=f"telegram:{STAFF_GROUP}")
    # The outbox paces a group chat by the clock (one message per 3 s): let time pass.
    async with running(settings) as runtime, ticking(runtime.clock):
        assert runtime.database is not None
        owner = TelegramDriver(fake, OWNER, database=runtime.database)
        await link_officer(runtime.database, channel="telegram", user_id=str(OFFICER))
        await owner.say("/start")
        await owner.tap("handoff:start")
        await owner.tap("handoff:consent:yes")
        await owner.say("Cho hỏi hạn nộp hồ sơ năm nay?")
        staff_messages = await fake.wait_for_sent(STAFF_GROUP, 2)
        forwarded = next(m for m in staff_messages if "hạn nộp hồ sơ" in plain(str(m["text"])))
        forwarded_id = next(
            call["result"]["message_id"]
            for call in fake.calls
            if call["method"] == "sendMessage" and call["params"].get("text") == forwarded["text"]
        )

        before = len(fake.sent(OWNER))
        fake.group_reply(
            STAFF_GROUP, OFFICER, "Hạn là 20/5 hằng năm ạ.", reply_to_message_id=forwarded_id
        )
        relayed = await fake.wait_for_sent(OWNER, before + 1)
        assert "20/5" in plain(str(relayed[-1]["text"]))

        # While the hand-off is open the bot gives no automated answer; the text goes to staff.
        before_owner = len(fake.sent(OWNER))
        before_staff = len(fake.sent(STAFF_GROUP))
        question = fake.send_text(OWNER, "ho tro may moc bao nhieu")
        await fake.wait_for_sent(STAFF_GROUP, before_staff + 1)
        assert runtime.database is not None
        replies = await committed_replies(
            runtime.database, channel="telegram", event_id=str(question)
        )
        assert replies == []  # the bot itself said nothing
        assert len(fake.sent(OWNER)) == before_owner
        assert "ho tro may moc" in plain(str(fake.sent(STAFF_GROUP)[-1]["text"]))
