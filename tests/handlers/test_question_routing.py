"""Typed questions are answered from the content wherever the owner is browsing."""

from __future__ import annotations

from storage import Database
from tests.harness import User, choice_ids, make_engine, texts_of


async def test_a_question_typed_at_the_menu_is_answered(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.command("start")
    replies = await user.say("ho tro may moc bao nhieu tien")
    text = texts_of(replies)
    assert "300 triệu đồng" in text
    assert "Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC" in text


async def test_a_question_typed_while_browsing_programmes_is_answered(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.tap("policies:start")
    await user.tap("policies:prog:hoi_cho_trien_lam")
    replies = await user.say("hổ trợ máy mọc bao nhiu")  # typos, in another programme's page
    assert "300 triệu đồng" in texts_of(replies)


async def test_an_out_of_scope_question_gets_the_honest_fallback(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.tap("policies:start")
    replies = await user.say("vay ngan hang lai suat bao nhieu")
    assert "chưa trả lời được" in texts_of(replies)
    assert "handoff:start" in choice_ids(replies)
    assert "triệu đồng" not in texts_of(replies)
