""" "Liên kết tài khoản": one person on Telegram and on Zalo becomes one record.

On one channel the owner asks for a code (``/lienket``); on the other they type
``/lienket <code>`` (or choose "Nhập mã" and type it). From then on staff see one person and
"Hồ sơ của tôi" lists the leads made on either channel. A code works once, for 15 minutes,
and only on another channel than the one that showed it.
"""

from __future__ import annotations

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from handlers.common import back_to_menu, menu_choice
from storage.repositories import LinkOutcome

NAME = "link"
CODE_LENGTH = 6


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if _digits(event.args):  # /lienket 123456
        return await _redeem(ctx, conv, event.args)
    reply = OutboundMessage(
        text=ctx.texts.render("link/start"),
        choices=(
            Choice(f"{NAME}:show", ctx.texts.label("link.show_code")),
            Choice(f"{NAME}:enter", ctx.texts.label("link.enter_code")),
            menu_choice(ctx),
        ),
    )
    return Step(Conversation(flow=NAME, step="start", data=conv.data), [reply])


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if event.kind is EventKind.CHOICE:
        action = event.text.removeprefix(f"{NAME}:")
        if action == "show":
            return await _show(ctx, conv)
        if action == "enter":
            reply = OutboundMessage(
                text=ctx.texts.render("link/ask_code"), choices=(menu_choice(ctx),)
            )
            return Step(Conversation(flow=NAME, step="code", data=conv.data), [reply])
        return await start(ctx, conv, event)
    if conv.step == "code" and event.kind is EventKind.TEXT:
        return await _redeem(ctx, conv, event.text)
    return await start(ctx, conv, event)


async def _show(ctx: FlowContext, conv: Conversation) -> Step:
    code = await ctx.repos.links.new_code(
        person_id=ctx.identity.person_id, identity_id=ctx.identity.identity_id, now=ctx.now
    )
    reply = OutboundMessage(
        text=ctx.texts.render("link/code", code=code), choices=(menu_choice(ctx),)
    )
    return Step(back_to_menu(conv), [reply])


async def _redeem(ctx: FlowContext, conv: Conversation, typed: str) -> Step:
    code = _digits(typed)
    if len(code) != CODE_LENGTH:
        reply = OutboundMessage(text=ctx.texts.render("link/unknown"), choices=(menu_choice(ctx),))
        return Step(Conversation(flow=NAME, step="code", data=conv.data), [reply])
    result = await ctx.repos.links.redeem(
        code,
        identity_id=ctx.identity.identity_id,
        person_id=ctx.identity.person_id,
        now=ctx.now,
    )
    template = {
        LinkOutcome.LINKED: "link/linked",
        LinkOutcome.ALREADY: "link/already",
        LinkOutcome.UNKNOWN: "link/unknown",
        LinkOutcome.SAME_CHANNEL: "link/same_channel",
    }[result.outcome]
    reply = OutboundMessage(
        text=ctx.texts.render(template, other=result.other_channel),
        choices=(Choice("myleads:start", ctx.texts.label("link.my_leads")), menu_choice(ctx)),
    )
    return Step(back_to_menu(conv), [reply])


FLOW = Flow(name=NAME, start=start, handle=handle, commands={"lienket": "start"})

__all__ = ["FLOW"]
