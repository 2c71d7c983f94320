"""Browsing the programmes: menu, summary, sections, FAQ, back, and a programme added by
content only. The flow never touches the database (session and settings are ``None``)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from bot.core.content import Content
from bot.core.flow import FlowContext, Identity
from bot.core.messages import (
    MAX_CHOICE_ID_BYTES,
    Conversation,
    EventKind,
    InboundEvent,
    OutboundMessage,
    Step,
)
from bot.policy import load_catalogue
from handlers.common.policy_pages import render_answer
from handlers.policies import FLOW, parent
from tests.conftest import CONTENT_DIR, FIXTURES

NOW = datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
PROGRAMMES = (
    "may_moc_thiet_bi",
    "mo_hinh_trinh_dien",
    "hoi_cho_trien_lam",
    "website_tmdt",
    "dao_tao_tu_van",
)


def _ctx(root: Path = CONTENT_DIR, *, now: datetime = NOW) -> FlowContext:
    return FlowContext(
        content=Content(root),
        settings=cast(Any, None),
        session=cast(Any, None),
        identity=Identity(1, 1, "test", "u1", "c1"),
        now=now,
    )


def _event(kind: EventKind, text: str) -> InboundEvent:
    return InboundEvent(
        channel="test", user_id="u1", chat_id="c1", event_id="e1", kind=kind, text=text
    )


async def _tap(ctx: FlowContext, conv: Conversation, choice: str) -> Step:
    return await FLOW.handle(ctx, conv, _event(EventKind.CHOICE, choice))


def _ids(message: OutboundMessage) -> list[str]:
    return [choice.id for choice in message.choices]


def _assert_nav(message: OutboundMessage) -> None:
    ids = _ids(message)
    assert ids[-1] == "menu:main"
    assert any(i.startswith("policies:") for i in ids)
    for choice_id in ids:
        assert len(choice_id.encode()) <= MAX_CHOICE_ID_BYTES and choice_id.isascii()


@pytest.fixture
def ctx() -> FlowContext:
    return _ctx()


async def test_start_shows_one_button_per_programme(ctx: FlowContext) -> None:
    step = await FLOW.start(ctx, Conversation(), _event(EventKind.COMMAND, "policies"))
    assert step.conversation.flow == "policies"
    (menu,) = step.replies
    ids = _ids(menu)
    assert ids[: len(PROGRAMMES)] == [f"policies:prog:{p}" for p in PROGRAMMES]
    assert ids[-1] == "menu:main"
    assert "policies:general" in ids
    assert "Chính sách hỗ trợ" in menu.text


async def test_programme_summary_buttons(ctx: FlowContext) -> None:
    step = await _tap(ctx, Conversation(), "policies:prog:may_moc_thiet_bi")
    (summary,) = step.replies
    ids = _ids(summary)
    for section in ("details", "levels", "documents", "procedure", "priorities", "faq"):
        assert f"policies:sec:may_moc_thiet_bi:{section}" in ids
    assert "eligibility:start:may_moc_thiet_bi" in ids
    assert "register:start:may_moc_thiet_bi" in ids
    assert ids[-2:] == ["policies:back", "menu:main"]
    assert "300 triệu đồng" in summary.text
    assert summary.text.endswith(
        "Nguồn: Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC, áp dụng từ 11/05/2018"
    )


async def test_section_uses_the_day_of_the_context() -> None:
    old = _ctx(now=datetime(2018, 5, 10, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    step = await _tap(old, Conversation(), "policies:sec:may_moc_thiet_bi:levels")
    assert "200 triệu đồng" in step.replies[0].text
    new = _ctx(now=datetime(2018, 5, 11, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    step = await _tap(new, Conversation(), "policies:sec:may_moc_thiet_bi:levels")
    assert "300 triệu đồng" in step.replies[0].text
    _assert_nav(step.replies[0])
    assert _ids(step.replies[0])[-2] == "policies:prog:may_moc_thiet_bi"


async def test_faq_list_then_answer_then_back(ctx: FlowContext) -> None:
    step = await _tap(ctx, Conversation(), "policies:sec:may_moc_thiet_bi:faq")
    faq_ids = [i for i in _ids(step.replies[0]) if i.startswith("policies:doc:")]
    assert "policies:doc:may_moc_thiet_bi.faq.muc_toi_da" in faq_ids
    step = await _tap(ctx, step.conversation, "policies:doc:may_moc_thiet_bi.faq.muc_toi_da")
    answer = step.replies[0]
    assert "tối đa" in answer.text and "Nguồn:" in answer.text
    _assert_nav(answer)
    step = await _tap(ctx, step.conversation, "policies:back")
    assert step.conversation.data == {"at": "sec:may_moc_thiet_bi:faq"}
    step = await _tap(ctx, step.conversation, "policies:back")
    assert step.conversation.data == {"at": "prog:may_moc_thiet_bi"}
    step = await _tap(ctx, step.conversation, "policies:back")
    assert step.conversation.data == {"at": "menu"}
    assert _ids(step.replies[0])[0] == "policies:prog:may_moc_thiet_bi"


async def test_every_screen_has_back_and_menu(ctx: FlowContext) -> None:
    catalogue = load_catalogue(CONTENT_DIR)
    locations = [f"prog:{p.id}" for p in catalogue.programmes]
    locations += [
        f"sec:{p.id}:{s}" for p in catalogue.programmes for s in ("details", "levels", "faq")
    ]
    locations += [f"doc:{d.id}" for d in catalogue.search_documents()]
    locations.append("general")
    for location in locations:
        step = await _tap(ctx, Conversation(), f"policies:{location}")
        assert step.conversation.data == {"at": location}
        for message in step.replies:
            _assert_nav(message)
            assert any(c.label for c in message.choices)


async def test_unknown_or_removed_item_falls_back_to_menu(ctx: FlowContext) -> None:
    step = await _tap(ctx, Conversation(), "policies:prog:khong_con")
    assert len(step.replies) == 2
    assert "không còn" in step.replies[0].text
    assert step.conversation.data == {"at": "menu"}
    assert render_answer(ctx, "khong_con.summary")[0].text == step.replies[0].text


async def test_typed_text_is_answered_as_a_question(ctx: FlowContext) -> None:
    conv = Conversation(flow="policies", step="sec", data={"at": "sec:website_tmdt:levels"})
    step = await FLOW.handle(ctx, conv, _event(EventKind.TEXT, "thời tiết mai thế nào"))
    assert "chưa trả lời được" in step.replies[0].text
    assert step.conversation.data == {"at": "sec:website_tmdt:levels"}


async def test_other_input_reshows_current_screen_with_a_hint(ctx: FlowContext) -> None:
    conv = Conversation(flow="policies", step="sec", data={"at": "sec:website_tmdt:levels"})
    step = await FLOW.handle(ctx, conv, _event(EventKind.LOCATION, ""))
    assert "gõ câu hỏi" in step.replies[0].text
    assert "cán bộ Trung tâm sẽ xác nhận" in step.replies[1].text
    assert step.conversation.data == {"at": "sec:website_tmdt:levels"}


def test_render_answer_for_general_entry_links_programmes(ctx: FlowContext) -> None:
    (message,) = render_answer(ctx, "general.khuyen_cong_la_gi")
    ids = _ids(message)
    assert [f"policies:prog:{p}" for p in PROGRAMMES] == ids[: len(PROGRAMMES)]
    assert ids[-2:] == ["policies:general", "menu:main"]
    assert ctx.trace["policy_doc"] == "general.khuyen_cong_la_gi"


def test_parent_locations() -> None:
    assert parent("doc:may_moc_thiet_bi.faq.x") == "sec:may_moc_thiet_bi:faq"
    assert parent("doc:may_moc_thiet_bi.levels") == "prog:may_moc_thiet_bi"
    assert parent("doc:general.x") == "general"
    assert parent("sec:a:levels") == "prog:a"
    assert parent("prog:a") == "menu"


async def test_new_programme_needs_content_files_only(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    shutil.copy(
        FIXTURES / "policy" / "new_programme.yaml", root / "programmes" / "xu_ly_o_nhiem.yaml"
    )
    catalogue = load_catalogue(root)
    assert catalogue.figure("xu_ly_o_nhiem.amount_max").at(NOW.date()) is not None
    assert "xu_ly_o_nhiem.levels" in {d.id for d in catalogue.search_documents()}
    ctx = _ctx(root)
    step = await FLOW.start(ctx, Conversation(), _event(EventKind.COMMAND, "policies"))
    assert "policies:prog:xu_ly_o_nhiem" in _ids(step.replies[0])
    step = await _tap(ctx, step.conversation, "policies:prog:xu_ly_o_nhiem")
    assert "Hỗ trợ cơ sở đầu tư hệ thống xử lý ô nhiễm" in step.replies[0].text
    assert "123 triệu đồng" in step.replies[0].text
    assert "Nguồn: Điều 1 Văn bản thử nghiệm 1/2020, áp dụng từ 01/01/2020" in step.replies[0].text
    step = await _tap(ctx, step.conversation, "policies:doc:xu_ly_o_nhiem.faq.muc_toi_da")
    assert "123 triệu đồng" in step.replies[0].text
