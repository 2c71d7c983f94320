"""Browsing the support programmes: menu → programme → section or FAQ answer.

Every screen is addressed by a location string that is also its choice id after
``policies:`` (``prog:may_moc_thiet_bi``, ``sec:may_moc_thiet_bi:levels``,
``doc:general.chi_phi_tu_van``), so an old button keeps working after the user has moved on,
and the free-text answerer can show any document through :func:`render_answer`.
Nothing here touches the database.
"""

from __future__ import annotations

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.policy import FAQ_SECTION
from bot.policy.model import GENERAL_PREFIX
from handlers.common.policy_pages import (
    BACK,
    GENERAL,
    MENU,
    NAME,
    PREFIX,
    catalogue,
    faq_list,
    general_list,
    programmes_menu,
    render_answer,
)
from handlers.common.questions import answer_question

STATE_KEY = "at"


def _screen(ctx: FlowContext, location: str) -> list[OutboundMessage]:
    """The messages for one location; raises ``KeyError`` when it does not exist."""
    kind, _, rest = location.partition(":")
    programmes = catalogue(ctx)
    if kind == MENU:
        return [programmes_menu(ctx)]
    if kind == GENERAL:
        return [general_list(ctx)]
    if kind == "prog":
        programmes.programme(rest)
        return render_answer(ctx, f"{rest}.summary")
    if kind == "sec":
        programme_id, _, section = rest.partition(":")
        programme = programmes.programme(programme_id)
        if section == FAQ_SECTION:
            return [faq_list(ctx, programme)]
        programmes.resolve(f"{programme_id}.{section}")
        return render_answer(ctx, f"{programme_id}.{section}")
    if kind == "doc":
        programmes.resolve(rest)
        return render_answer(ctx, rest)
    msg = f"unknown location {location!r}"
    raise KeyError(msg)


def parent(location: str) -> str:
    """Where "quay lại" leads from ``location``."""
    kind, _, rest = location.partition(":")
    if kind == "sec":
        programme_id, _, _section = rest.partition(":")
        return f"prog:{programme_id}"
    if kind == "doc":
        head, _, tail = rest.partition(".")
        if head == GENERAL_PREFIX:
            return GENERAL
        if tail.startswith(f"{FAQ_SECTION}."):
            return f"sec:{head}:{FAQ_SECTION}"
        return f"prog:{head}"
    return MENU


def _go(ctx: FlowContext, location: str) -> Step:
    try:
        replies = _screen(ctx, location)
    except KeyError:
        location = MENU
        replies = [
            OutboundMessage(text=ctx.texts.render("policies/not_found")),
            programmes_menu(ctx),
        ]
    step_name = location.partition(":")[0]
    return Step(Conversation(flow=NAME, step=step_name, data={STATE_KEY: location}), replies)


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """Open the programmes menu."""
    return _go(ctx, MENU)


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """Follow a ``policies:`` choice; answer a typed question; anything else re-shows the
    current screen with a hint."""
    current = str(conv.data.get(STATE_KEY, MENU)) if conv.flow == NAME else MENU
    if event.kind is EventKind.CHOICE and event.text.startswith(PREFIX):
        target = event.text.removeprefix(PREFIX)
        if target == BACK:
            target = parent(current)
        return _go(ctx, target)
    if event.kind is EventKind.TEXT:
        # Owners browsing often just type their question: answer it from the content.
        return await answer_question(ctx, conv, event)
    step = _go(ctx, current)
    step.replies.insert(0, OutboundMessage(text=ctx.texts.render("policies/hint")))
    return step


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"chinhsach": "start"},
    menu_entry="menu.policies",
)

__all__ = ["FLOW", "NAME", "parent"]
