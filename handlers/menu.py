"""The main menu: the greeting, the list of what the bot can do, and free text at rest."""

from __future__ import annotations

from bot.core.flow import Flow, FlowContext, Handler
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step

#: Main-menu entries: (choice id, label key). A flow that does not exist yet answers politely.
MENU_ENTRIES: tuple[tuple[str, str], ...] = (
    ("policies:start", "menu.policies"),
    ("eligibility:start", "menu.eligibility"),
    ("register:start", "menu.register"),
    ("handoff:start", "menu.ask_staff"),
    ("myleads:start", "menu.my_leads"),
    ("subscribe:start", "menu.subscribe"),
    ("privacy:start", "menu.privacy"),
    ("menu:help", "menu.help"),
)


def main_menu(ctx: FlowContext, *, greeting: bool = False) -> OutboundMessage:
    text = ctx.texts.render("core/start" if greeting else "core/menu")
    choices = tuple(Choice(choice_id, ctx.texts.label(key)) for choice_id, key in MENU_ENTRIES)
    return OutboundMessage(text=text, choices=choices)


def build_menu_flow(*, answer_text: Handler | None = None) -> Flow:
    """The menu flow; ``answer_text`` answers free questions typed at the menu."""

    async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        conv.flow, conv.step = "menu", "start"
        greeting = event.kind is EventKind.COMMAND and event.text == "start"
        return Step(conv, [main_menu(ctx, greeting=greeting)])

    async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        if event.kind is EventKind.CHOICE:
            if event.text == "menu:help":
                return Step(conv, [ctx.say("core/help"), main_menu(ctx)])
            return await start(ctx, conv, event)
        if event.kind is EventKind.TEXT and answer_text is not None:
            return await answer_text(ctx, conv, event)
        return Step(conv, [ctx.say("core/not_understood"), main_menu(ctx)])

    return Flow(name="menu", start=start, handle=handle)
