from __future__ import annotations

from bot.core.messages import EventKind
from storage import Database
from tests.harness import User, choice_ids, make_engine, texts_of


async def test_a_button_of_a_capability_not_built_yet_answers_politely(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    replies = await User(engine).tap("broadcast:start")
    assert "đang được Trung tâm hoàn thiện" in texts_of(replies)
    assert "menu:main" in choice_ids(replies)


async def test_an_unknown_command_points_to_the_menu(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    replies = await User(engine).command("xyz")
    assert "/xyz" in texts_of(replies)
    assert "menu:main" in choice_ids(replies)


async def test_a_sticker_gets_a_polite_hint_and_keeps_the_place(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    await user.tap("eligibility:start")
    replies = await user.send(user.event(EventKind.UNKNOWN))
    assert "chỉ đọc được chữ và nút bấm" in texts_of(replies)
    replies = await user.tap("eligibility:a:facility_type:ho_kinh_doanh")
    assert "Câu 2." in texts_of(replies)  # still in the questionnaire


async def test_flow_commands_open_their_flow(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    assert "Câu 1." in texts_of(await user.command("kiemtra"))
    assert "Chính sách hỗ trợ khuyến công" in texts_of(await user.command("chinhsach"))
