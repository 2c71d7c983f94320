"""The way back to the main menu, the same from every flow."""

from __future__ import annotations

from typing import Final

from bot.core.flow import FlowContext
from bot.core.messages import Choice, Conversation
from bot.core.router import MAIN_MENU_CHOICE, MENU_FLOW, MENU_LABEL

__all__ = ["MAIN_MENU_CHOICE", "back_to_menu", "menu_choice"]

MENU_STEP: Final = "start"


def menu_choice(ctx: FlowContext) -> Choice:
    """The "Menu chính" button."""
    return Choice(MAIN_MENU_CHOICE, ctx.texts.label(MENU_LABEL))


def back_to_menu(conv: Conversation, *drop: str) -> Conversation:
    """Back at the main menu, keeping other flows' data except the keys in ``drop``."""
    data = {key: value for key, value in conv.data.items() if key not in drop}
    return Conversation(flow=MENU_FLOW, step=MENU_STEP, data=data)
