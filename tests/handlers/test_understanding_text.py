"""Typed messages reach every action, changes are confirmed first, answers apply the owner's
number, and what the bot could not place is kept masked for staff."""

from __future__ import annotations

from sqlalchemy import select

from storage import Database
from storage.models import UnplacedMessage
from storage.repositories import Unplaced
from tests.harness import User, choice_ids, make_engine, texts_of


async def test_delete_by_words_asks_first_and_erases_only_after_yes(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.command("start")
    replies = await user.say("xoá thông tin của tôi")
    assert choice_ids(replies)[:2] == ["privacy:delete:yes", "privacy:delete:no"]
    assert "chắc chắn" in texts_of(replies)


async def test_unsubscribe_by_words_is_confirmed_with_buttons(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    replies = await user.say("đừng nhắn nữa")
    assert "subscribe:stop" in choice_ids(replies)
    assert "menu:main" in choice_ids(replies)
    assert "ngừng nhận" in texts_of(replies)


async def test_view_my_data_by_words_shows_it(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    view = await user.tap("privacy:view")
    await user.command("start")
    typed = await user.say("cho tôi xem bên mình lưu gì của tôi")
    assert texts_of(typed).startswith(texts_of(view)[:40])


async def test_thanks_is_answered_like_a_person(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    replies = await user.say("cảm ơn nha")
    assert "không có gì" in texts_of(replies)
    assert "chưa trả lời được" not in texts_of(replies)


async def test_a_cost_in_the_question_gets_the_rule_applied_never_a_promise(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    text = texts_of(await user.say("mua máy sấy 700 triệu thì được bao nhiêu"))
    assert "700 triệu đồng" in text
    assert "350 triệu đồng" in text
    assert "tối đa 300 triệu đồng" in text
    assert "Thông tư 28/2018/TT-BTC" in text
    assert "không phải số tiền chắc chắn" in text


async def test_an_eligibility_question_in_life_terms_uses_the_rule_explanation(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    replies = await user.say("chưa có giấy phép kinh doanh có được hỗ trợ không")
    assert "chưa đăng ký kinh doanh" in texts_of(replies)
    assert "eligibility:start" in choice_ids(replies)


async def test_inside_a_flow_the_typed_answer_wins_but_cancel_escapes(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.tap("register:start")
    await user.tap("register:consent:yes")
    answered = await user.say("Cơ sở bánh pía Tân Huê Viên")  # a name, not a question
    assert "chưa trả lời được" not in texts_of(answered)
    cancelled = await user.say("thôi không làm nữa")
    assert "menu:main" in choice_ids(cancelled)
    again = await user.say("hỗ trợ máy móc bao nhiêu")
    assert "300 triệu đồng" in texts_of(again)  # back at rest: questions are answered


async def test_unplaced_messages_are_kept_masked_for_review(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.say("thời tiết ngày mai thế nào, gọi 0912345678")
    async with sqlite_database.transaction() as session:
        stored = (await session.execute(select(UnplacedMessage.text))).scalars().all()
        rows = await Unplaced(session).most_frequent()
    assert stored == ["thời tiết ngày mai thế nào, gọi <số>"]
    assert rows[0][0] == stored[0]
    assert rows[0][3] == 1


async def test_old_review_messages_are_purged(sqlite_database: Database) -> None:
    from datetime import timedelta

    from storage.models.understanding import UNPLACED_RETENTION_DAYS
    from tests.harness import TEST_NOW

    async with sqlite_database.transaction() as session:
        old = TEST_NOW - timedelta(days=UNPLACED_RETENTION_DAYS + 1)
        await Unplaced(session).keep(text="cũ", verdict="unsure", guess="x", now=old)
        await Unplaced(session).keep(text="mới", verdict="unsure", guess="x", now=TEST_NOW)
    async with sqlite_database.transaction() as session:
        assert await Unplaced(session).purge(now=TEST_NOW) == 1
        rows = await Unplaced(session).most_frequent()
    assert [row[0] for row in rows] == ["mới"]
