""" "Hỏi cán bộ": the owner talks to staff through the bot, which stays quiet meanwhile.

An open hand-off keeps the owner in this flow: every text is forwarded to the staff chats
with the reference ``HT-<id>`` (outbox topic ``handoff:<id>``, so a staff reply can be
traced back), and the bot answers nothing itself. It ends when the owner taps "Kết thúc",
when staff send ``/dong HT-<id>``, or after ``settings.handoff_idle_hours`` of silence
(checked when the owner next writes, and by :func:`close_idle_handoffs` in a worker).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.leads.catalogue import load_statuses
from bot.leads.codes import format_handoff_ref
from bot.leads.views import label_or_code, lead_view
from handlers.common import (
    back_to_menu,
    consent_request,
    has_consent,
    menu_choice,
    notify_staff,
    record_consent,
    refusal_reply,
)
from storage.models import ConsentAction, Handoff
from storage.repositories import Handoffs, handoff_topic

NAME = "handoff"
#: Conversation data key of this flow: {"id": <handoff id>, "acked": bool}.
STATE_KEY = NAME


async def owner_has_open_handoff(session: AsyncSession, identity_id: int) -> bool:
    """For the router: True while this identity talks to staff (skip automated answers)."""
    return await Handoffs(session).open_for(identity_id) is not None


async def close_idle_handoffs(session: AsyncSession, *, now: datetime, idle: timedelta) -> int:
    """Close hand-offs silent for longer than ``idle``; the number closed (for a worker)."""
    return await Handoffs(session).close_idle(now=now, idle=idle)


async def close_open_handoff(ctx: FlowContext) -> bool:
    """End the owner's open hand-off (``/huy`` while talking to staff); True if one was open."""
    handoffs = ctx.repos.handoffs
    handoff = await handoffs.open_for(ctx.identity.identity_id)
    if handoff is None:
        return False
    await handoffs.close(handoff, now=ctx.now, by="owner")
    _tell_staff(ctx, handoff, "handoff/staff_ended")
    return True


def _idle(ctx: FlowContext) -> timedelta:
    return timedelta(hours=ctx.settings.handoff_idle_hours)


def _end_choice(ctx: FlowContext) -> Choice:
    return Choice(f"{NAME}:end", ctx.texts.label("handoff.end"))


def _talking(conv: Conversation, handoff: Handoff, *, acked: bool) -> Conversation:
    state = {"id": handoff.id, "acked": acked}
    return Conversation(flow=NAME, step="open", data={**conv.data, STATE_KEY: state})


def _tell_staff(ctx: FlowContext, handoff: Handoff, template: str, **values: object) -> None:
    text = ctx.texts.render(template, ref=format_handoff_ref(handoff.id), **values)
    notify_staff(ctx, text, topic=handoff_topic(handoff.id))


def _no_staff(ctx: FlowContext, conv: Conversation) -> Step:
    """No staff chat is configured (STAFF_CHATS): nobody would read the question, so the
    owner is never told it was passed on; they get the Center's phone instead."""
    reply = OutboundMessage(text=ctx.texts.render("handoff/no_staff"), choices=(menu_choice(ctx),))
    return Step(back_to_menu(conv, STATE_KEY), [reply])


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if not ctx.settings.staff_targets:
        return _no_staff(ctx, conv)
    if not await has_consent(ctx):
        return Step(
            Conversation(flow=NAME, step="consent", data=conv.data), [consent_request(ctx, NAME)]
        )
    return await _open(ctx, conv)


async def _open(ctx: FlowContext, conv: Conversation) -> Step:
    if not ctx.settings.staff_targets:
        return _no_staff(ctx, conv)
    handoffs = ctx.repos.handoffs
    handoff = await handoffs.open_for(ctx.identity.identity_id)
    if handoff is not None and await handoffs.close_if_idle(handoff, now=ctx.now, idle=_idle(ctx)):
        handoff = None
    if handoff is not None:
        reply = OutboundMessage(
            text=ctx.texts.render("handoff/still_open", ref=format_handoff_ref(handoff.id)),
            choices=(_end_choice(ctx),),
        )
        return Step(_talking(conv, handoff, acked=True), [reply])
    latest = next(iter(await ctx.repos.leads.for_person(ctx.identity.person_id)), None)
    handoff = await handoffs.open(
        person_id=ctx.identity.person_id,
        identity_id=ctx.identity.identity_id,
        lead_id=latest.id if latest else None,
        now=ctx.now,
    )
    lead = None
    if latest is not None:
        zone = ctx.now.tzinfo or UTC
        statuses = ctx.content.get(load_statuses)
        lead = lead_view(latest, texts=ctx.texts, statuses=statuses, zone=zone)
    channel = label_or_code(ctx.texts, f"channel.{ctx.identity.channel}", ctx.identity.channel)
    _tell_staff(ctx, handoff, "handoff/staff_opened", lead=lead, channel=channel)
    ctx.trace["handoff_id"] = handoff.id
    reply = OutboundMessage(
        text=ctx.texts.render("handoff/opened", ref=format_handoff_ref(handoff.id)),
        choices=(_end_choice(ctx),),
    )
    return Step(_talking(conv, handoff, acked=False), [reply])


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if event.kind is EventKind.CHOICE:
        action = event.text.removeprefix(f"{NAME}:")
        if action == "consent:yes":
            await record_consent(ctx, ConsentAction.CONSENT)
            return await _open(ctx, conv)
        if action == "consent:no":
            await record_consent(ctx, ConsentAction.REFUSE)
            return Step(back_to_menu(conv, STATE_KEY), [refusal_reply(ctx)])
        if action == "end":
            return await _end(ctx, conv)
        return await start(ctx, conv, event)
    if conv.step == "consent":
        return Step(conv, [consent_request(ctx, NAME)])
    handoffs = ctx.repos.handoffs
    handoff = await handoffs.open_for(ctx.identity.identity_id)
    if handoff is not None and await handoffs.close_if_idle(handoff, now=ctx.now, idle=_idle(ctx)):
        handoff = None
    if handoff is None:
        # Staff closed it, or it went quiet for too long: back to the bot's own answers.
        reply = OutboundMessage(
            text=ctx.texts.render("handoff/ended_meanwhile"),
            choices=(Choice(f"{NAME}:start", ctx.texts.label("handoff.again")), menu_choice(ctx)),
        )
        return Step(back_to_menu(conv, STATE_KEY), [reply])
    if event.kind is not EventKind.TEXT or not event.text.strip():
        return Step(
            conv,
            [
                OutboundMessage(
                    text=ctx.texts.render("handoff/text_only"), choices=(_end_choice(ctx),)
                )
            ],
        )
    _tell_staff(ctx, handoff, "handoff/forward", text=event.text.strip())
    await handoffs.touch(handoff, now=ctx.now)
    state = conv.data.get(STATE_KEY)
    acked = isinstance(state, dict) and bool(state.get("acked"))
    if acked:
        return Step(_talking(conv, handoff, acked=True), [])  # staff answer; the bot stays quiet
    reply = OutboundMessage(
        text=ctx.texts.render("handoff/forwarded"), choices=(_end_choice(ctx),)
    )
    return Step(_talking(conv, handoff, acked=True), [reply])


async def _end(ctx: FlowContext, conv: Conversation) -> Step:
    await close_open_handoff(ctx)
    reply = OutboundMessage(text=ctx.texts.render("handoff/ended"), choices=(menu_choice(ctx),))
    return Step(back_to_menu(conv, STATE_KEY), [reply])


async def on_cancel(ctx: FlowContext, everything: bool) -> str | None:
    """Any cancel ends an open hand-off (staff are told)."""
    return "handoff" if await close_open_handoff(ctx) else None


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"canbo": "start"},
    menu_entry="menu.ask_staff",
    draft_key=STATE_KEY,
    on_cancel=on_cancel,
)

__all__ = ["FLOW", "close_idle_handoffs", "close_open_handoff", "owner_has_open_handoff"]
