""" "Hồ sơ của tôi": the owner's own leads with their status and its history."""

from __future__ import annotations

from datetime import UTC

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.core.sanitize import bounded_int
from bot.leads.catalogue import load_statuses
from bot.leads.views import lead_view
from handlers.common import menu_choice

NAME = "myleads"
#: At most this many leads get a button; older ones are listed as text only.
MAX_BUTTONS = 8


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    zone = ctx.now.tzinfo or UTC
    statuses = ctx.content.get(load_statuses)
    leads = await ctx.repos.leads.for_person(ctx.identity.person_id)
    conv = Conversation(flow=NAME, step="list", data=conv.data)
    if not leads:
        reply = OutboundMessage(
            text=ctx.texts.render("myleads/empty"),
            choices=(
                Choice("register:start", ctx.texts.label("myleads.register")),
                menu_choice(ctx),
            ),
        )
        return Step(conv, [reply])
    views = [lead_view(lead, texts=ctx.texts, statuses=statuses, zone=zone) for lead in leads]
    choices = tuple(
        Choice(f"{NAME}:view:{view.id}", ctx.texts.label("myleads.open", code=view.code))
        for view in views[:MAX_BUTTONS]
    )
    reply = OutboundMessage(
        text=ctx.texts.render("myleads/list", leads=views), choices=(*choices, menu_choice(ctx))
    )
    return Step(conv, [reply])


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if event.kind is EventKind.CHOICE and event.text.startswith(f"{NAME}:view:"):
        lead_id = bounded_int(event.text.removeprefix(f"{NAME}:view:"))
        if lead_id is not None:
            return await _detail(ctx, conv, lead_id)
    return await start(ctx, conv, event)


async def _detail(ctx: FlowContext, conv: Conversation, lead_id: int) -> Step:
    leads = ctx.repos.leads
    lead = await leads.get(lead_id)
    if lead is None or lead.person_id != ctx.identity.person_id or lead.anonymised_at:
        return await start(ctx, conv, _noop(ctx))
    zone = ctx.now.tzinfo or UTC
    statuses = ctx.content.get(load_statuses)
    changes = [
        {"date": entry.created_at.astimezone(zone), "status": statuses.name(entry.new_status)}
        for entry in await leads.history(lead.id)
        if entry.action in ("created", "status")
    ]
    view = lead_view(lead, texts=ctx.texts, statuses=statuses, zone=zone)
    reply = OutboundMessage(
        text=ctx.texts.render("myleads/detail", lead=view, changes=changes),
        choices=(
            Choice(f"{NAME}:start", ctx.texts.label("myleads.back")),
            Choice("privacy:fix", ctx.texts.label("myleads.fix")),
            menu_choice(ctx),
        ),
    )
    return Step(Conversation(flow=NAME, step="detail", data=conv.data), [reply])


def _noop(ctx: FlowContext) -> InboundEvent:
    return InboundEvent(
        channel=ctx.identity.channel,
        user_id=ctx.identity.user_id,
        chat_id=ctx.identity.chat_id,
        event_id="",
        kind=EventKind.CHOICE,
        text=f"{NAME}:start",
    )


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"hoso": "start"},
    menu_entry="menu.my_leads",
)

__all__ = ["FLOW"]
