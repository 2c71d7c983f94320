"""Words a rural owner understands: what each message says on the paths of issue 17."""

from __future__ import annotations

import io
import itertools
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.app.cli import announce_address
from bot.app.runtime import BotRuntime
from bot.channels.console import ConsoleChannel, render_plain, run_console
from bot.core.config import load_settings
from bot.core.messages import Choice, OutboundMessage
from bot.core.paging import MORE_PREFIX
from bot.core.wording import load_no_buttons_wording
from storage import Database, OutboxMessage
from storage.models import ConversationState
from tests.harness import (
    ROOT,
    RecordingChannel,
    User,
    choice_ids,
    fixed_clock,
    make_engine,
    texts_of,
)

_users = itertools.count(1)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
RAW_ID = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
UNEXPLAINED = ("CNNT", "TMĐT", "đặc khu", "địa giới mới")


def _user(engine: Any, channel: str = "web") -> User:
    return User(engine, f"w-{next(_users)}", channel=channel)


async def _read_all(owner: User, replies: list[OutboundMessage]) -> str:
    """The replies and every part behind their "Xem thêm" buttons."""
    parts = [texts_of(replies)]
    more = [c.id for c in replies[-1].choices if c.id.startswith(MORE_PREFIX)]
    while more:
        replies = await owner.tap(more[0])
        parts.append(texts_of(replies))
        more = [c.id for c in replies[-1].choices if c.id.startswith(MORE_PREFIX)]
    return "\n".join(parts)


async def _to_phone(owner: User, *, programme: str = "") -> list[OutboundMessage]:
    await owner.command("start")
    await owner.tap(f"register:start:{programme}" if programme else "register:start")
    await owner.tap("register:consent:yes")
    return await owner.say("Phạm Văn Tư")


async def _to_budget(owner: User) -> list[OutboundMessage]:
    await _to_phone(owner)
    for text in ("0912345678", "Cơ sở cơ khí Tư"):
        await owner.say(text)
    await owner.tap("register:type:ho_kinh_doanh")
    await owner.say("Phú Tâm")
    await owner.say("máy xay lúa")
    await owner.tap("register:kind:machinery")
    await owner.tap("register:kinds_done")
    return await owner.say("cần máy tiện")


async def test_the_phone_question_names_the_button_as_it_is_shown(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    asked = texts_of(await _to_phone(_user(engine)))
    assert "«📱 Gửi số điện thoại của tôi»" in asked
    assert "Chia sẻ số điện thoại" not in asked


async def test_a_too_short_phone_is_called_too_short_with_an_example(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    await _to_phone(owner)
    replies = await owner.say("0123")
    text = texts_of(replies)
    assert "còn thiếu chữ số" in text and "mới có 4 chữ số" in text
    assert "0912 345 678" in text
    assert "đã được đổi sang 10 số" not in text
    assert replies[-1].request_contact  # the same question, with its button


async def test_a_bad_budget_asks_the_same_question_and_khong_biet_is_chua_ro(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    assert "Kinh phí dự kiến" in texts_of(await _to_budget(owner))
    again = await owner.say("abc")
    assert "chưa đọc được số tiền" in texts_of(again)
    assert "Kinh phí dự kiến" in again[-1].text  # the question itself, again
    assert "register:skip:budget" in choice_ids(again)  # with its "Chưa rõ" button
    assert sum(reply.text.startswith("Dạ") for reply in again) == 1  # one apology
    moved_on = await owner.say("không biết")
    assert "gọi lại vào lúc nào" in texts_of(moved_on)


async def test_typed_chua_ro_after_a_bad_budget_is_the_button(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    await _to_budget(owner)
    await owner.say("abc")
    assert "gọi lại vào lúc nào" in texts_of(await owner.say("chưa rõ"))


async def test_the_consent_notice_names_only_the_chat_apps_that_run(
    sqlite_database: Database,
) -> None:
    for telegram_runs in (False, True):
        engine, _ = make_engine(sqlite_database)
        if telegram_runs:  # as the runtime registers it when TELEGRAM_BOT_TOKEN is set
            engine.register_channel(RecordingChannel(name="telegram"))
        owner = _user(engine)
        await owner.command("start")
        short = await owner.tap("register:start")
        assert "privacy:notice:register" in choice_ids(short)
        full = await _read_all(owner, await owner.tap("privacy:notice:register"))
        assert "Ai giữ thông tin" in full
        assert "Zalo" not in full
        assert ("Telegram" in full) is telegram_runs


async def test_the_full_notice_keeps_the_owner_in_the_consent_step(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    await owner.command("start")
    short = await owner.tap("register:start")
    assert all(len(reply.text) <= 600 for reply in short)
    full = await owner.tap("privacy:notice:register")
    consent = [c for c in choice_ids(full) if not c.startswith(MORE_PREFIX)]
    assert consent == ["register:consent:yes", "register:consent:no"]
    assert "họ và tên" in texts_of(await owner.tap("register:consent:yes"))


async def test_without_staff_chats_the_owner_is_told_to_call_not_that_staff_know(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)  # STAFF_CHATS is empty
    owner = _user(engine)
    await owner.command("start")
    replies = await owner.tap("handoff:start")
    text = texts_of(replies)
    center = yaml.safe_load((ROOT / "content" / "center.yaml").read_text(encoding="utf-8"))
    assert "vui lòng" in text and center["short_name"] in text
    if center["phone"]:
        assert str(center["phone"]) in text
    assert "Đã chuyển" not in text and "đã báo cán bộ" not in text
    assert choice_ids(replies) == ["menu:main"]


async def test_start_up_warns_when_no_staff_chat_is_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}")
    runtime = BotRuntime(settings, clock=fixed_clock())
    with caplog.at_level(logging.WARNING):
        await runtime.start(serve_http=False)
        await runtime.stop()
    assert any("STAFF_CHATS" in record.getMessage() for record in caplog.records)


async def test_staff_read_names_not_ids_and_the_data_view_has_no_jargon(
    sqlite_database: Database,
) -> None:
    settings = load_settings(database_url=str(sqlite_database.url), staff_chats="telegram:-1007")
    engine, _ = make_engine(sqlite_database, settings=settings)
    owner = _user(engine)
    await owner.command("start")
    await owner.tap("eligibility:start")
    await owner.tap("eligibility:a:facility_type:ho_kinh_doanh")
    await owner.say("Phú Tâm")
    await _to_phone(owner, programme="may_moc_thiet_bi")
    for text in ("0912345678", "Cơ sở cơ khí Tư", "máy xay lúa"):
        await owner.say(text)
    await owner.tap("register:kinds_done")
    await owner.say("cần máy tiện")
    await owner.say("300 triệu")
    summary = await owner.tap("register:call:any")
    confirm = next(c for c in choice_ids(summary) if c.startswith("register:ok:"))
    await owner.tap(confirm)
    async with sqlite_database.session() as session:
        [notice] = (await session.execute(select(OutboxMessage))).scalars()
    staff_text = str(notice.payload["text"])
    assert "Từ chương trình: Hỗ trợ ứng dụng máy móc" in staff_text
    assert "Kênh: trang web chat" in staff_text
    assert not RAW_ID.findall(staff_text) and not ISO_DATE.search(staff_text)
    view = await _read_all(owner, await owner.tap("privacy:view"))
    assert not ISO_DATE.search(view), view
    assert not re.search(r"\blead\b", view)
    assert "đăng ký nhu cầu" in view and "qua trang web chat" in view
    with_check = engine.content.texts.render(
        "privacy/view",
        leads=[],
        consents=[],
        topics=[],
        handoff_open=False,
        channel="Telegram",
        has_eligibility=True,
        evaluated_on=date(2026, 12, 4),
    )
    assert "(ngày 04/12/2026)" in with_check  # the check's date, as owners write it


async def test_owner_texts_on_the_scripted_paths_have_no_unexplained_words(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    seen: list[str] = []
    seen += [r.text for r in await owner.command("start")]
    for choice in ("eligibility:start", "eligibility:a:facility_type:ho_kinh_doanh"):
        replies = await owner.tap(choice)
        seen += [r.text for r in replies] + [c.label for r in replies for c in r.choices]
    for text in ("phu", "Phú Tâm", "san xuat", "bánh pía"):
        replies = await owner.say(text)
        seen += [r.text for r in replies] + [c.label for r in replies for c in r.choices]
    assert seen
    for text in seen:
        assert not any(word in text for word in UNEXPLAINED), text
        assert not ISO_DATE.search(text), text


async def test_an_interrupted_check_is_reused_by_the_registration_form(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = _user(engine)
    await owner.command("start")
    await owner.tap("eligibility:start")
    await owner.tap("eligibility:a:facility_type:ho_kinh_doanh")
    await owner.say("Phú Tâm")
    await owner.tap("eligibility:a:activity:san_xuat")
    await owner.say("bánh pía")  # left here, unfinished
    await owner.tap("register:start")
    await owner.tap("register:consent:yes")
    async with sqlite_database.session() as session:
        [state] = (await session.execute(select(ConversationState))).scalars()
    fields = state.data["register"]["fields"]
    assert fields["facility_type"] == "ho_kinh_doanh"
    assert (fields["commune_name"], fields["commune_code"]) == ("Xã Phú Tâm", "31569")
    assert fields["products"] == "bánh pía"


def test_channels_without_buttons_say_go_not_bam() -> None:
    wording = load_no_buttons_wording(ROOT / "content")
    message = OutboundMessage(
        "Câu nào chưa rõ, anh/chị bấm «Chưa rõ». Anh/chị bấm một nút bên dưới hoặc gõ số thứ tự.",
        choices=(Choice("a:1", "Chưa rõ"),),
    )
    shown = render_plain(message, reword=wording.apply)
    assert "bấm" not in shown.lower()
    assert "gõ «Chưa rõ»" in shown and "1. Chưa rõ" in shown


async def test_the_terminal_chat_never_says_bam(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    output = io.StringIO()
    wording = load_no_buttons_wording(ROOT / "content")
    engine.register_channel(ConsoleChannel(output=output, reword=wording.apply))
    lines: Iterator[str] = iter(["/kiemtra", "1", "Phú Tâm", "xyz", "/dangky"])

    async def read_line() -> str | None:
        return next(lines, None)

    await run_console(engine.process, read_line=read_line, user_id="console-test")
    shown = output.getvalue()
    assert "Câu 3." in shown
    assert "bấm" not in shown.lower(), shown


def test_the_server_prints_where_to_open_it_and_how_to_stop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for host, address in (("127.0.0.1", "http://127.0.0.1:8080/chat"), ("0.0.0.0", "localhost")):
        settings = load_settings(host=host)
        runtime = SimpleNamespace(settings=settings, port=8080, channels={"web": None})
        announce_address(runtime)  # type: ignore[arg-type]
        out = capsys.readouterr().out
        assert address in out and "Ctrl+C" in out
        assert ("other computers" in out) is (host == "0.0.0.0")


def test_the_default_host_is_this_computer_only() -> None:
    assert load_settings().host == "127.0.0.1"


def test_the_terminal_chat_keeps_info_logs_out_of_the_conversation(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.sqlite3'}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from bot.app.cli import main; raise SystemExit(main(['chat']))"],
        cwd=ROOT,
        env=env,
        input="menu\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Xin chào" in done.stdout
    assert '"level": "info"' not in done.stderr + done.stdout


def test_staff_read_the_self_check_by_programme_name() -> None:
    from bot.core.content import Content
    from bot.leads.views import programme_titles, verdicts_text

    content = Content(ROOT / "content")
    stored = {"verdicts": [{"programme": "may_moc_thiet_bi", "outcome": "likely_eligible"}]}
    named = {"verdicts": [{**stored["verdicts"][0], "name": "Máy móc"}]}
    titles = programme_titles(content)
    by_id = verdicts_text(content.texts, stored, programmes=titles)
    assert by_id.startswith(titles["may_moc_thiet_bi"]) and "may_moc" not in by_id
    assert verdicts_text(content.texts, named).startswith("Máy móc")
