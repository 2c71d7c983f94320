"""On channels without buttons a step's options are numbered on across its replies, so a
typed number names one option even when two replies both offer some."""

from __future__ import annotations

from bot.core.delivery import fit
from bot.core.engine import map_typed_choice, number_choices
from bot.core.messages import ChannelCapabilities, Choice, EventKind, InboundEvent, OutboundMessage

TEXT_ONLY = ChannelCapabilities(max_text_length=2000, max_buttons=0, supports_buttons=False)


def _event(text: str) -> InboundEvent:
    return InboundEvent(
        channel="zalo_bot", user_id="u", chat_id="u", event_id="e", kind=EventKind.TEXT, text=text
    )


def test_numbers_run_on_from_one_reply_to_the_next() -> None:
    verdict = OutboundMessage(text="Đủ điều kiện", choices=(Choice("register:start", "Đăng ký"),))
    plain = OutboundMessage(text="Ghi chú")
    follow_up = OutboundMessage(
        text="Tiếp theo",
        choices=(Choice("eligibility:restart", "Làm lại"), Choice("menu:main", "Menu")),
    )
    replies = number_choices([verdict, plain, follow_up])
    assert [reply.first_number for reply in replies] == [1, 1, 2]
    shown = "\n".join(part.text for reply in replies for part in fit(reply, TEXT_ONLY))
    assert "1. Đăng ký" in shown
    assert "2. Làm lại" in shown
    assert "3. Menu" in shown
    offered = [[c.id, c.label] for reply in replies for c in reply.choices]
    assert map_typed_choice(_event("1"), offered).text == "register:start"
    assert map_typed_choice(_event("3"), offered).text == "menu:main"
    assert map_typed_choice(_event("4"), offered).kind is EventKind.TEXT
