"""Opt-in announcements by topic, asked separately from the consent for a registration.

``/huy``, "huỷ đăng ký" and a blocked bot stop every topic at once and for good, until the
owner opts in again; each opt-in and stop is also recorded as consent evidence.
"""

from __future__ import annotations

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.leads.catalogue import load_lead_options, load_notices
from handlers.common import menu_choice
from storage.models import ConsentAction
from storage.repositories import SUBSCRIBE_PREFIX

NAME = "subscribe"


async def stop_all(ctx: FlowContext) -> bool:
    """Stop every announcement topic of the person now; True if one was active."""
    stopped = await ctx.repos.subscriptions.stop_all(ctx.identity.person_id, now=ctx.now)
    for topic in stopped:
        await _record(ctx, topic, ConsentAction.WITHDRAW)
    ctx.trace["subscriptions_stopped"] = len(stopped)
    return bool(stopped)


async def _record(ctx: FlowContext, topic: str, action: ConsentAction) -> None:
    await ctx.repos.consents.record(
        ctx.identity.person_id,
        identity_id=ctx.identity.identity_id,
        channel=ctx.identity.channel,
        purpose=f"{SUBSCRIBE_PREFIX}{topic}",
        action=action,
        notice_version=ctx.content.get(load_notices).subscription.version,
        now=ctx.now,
    )


async def _panel(ctx: FlowContext, *, intro: bool) -> OutboundMessage:
    """The topics with their state; one tap turns a topic on or off."""
    active = await ctx.repos.subscriptions.active_topics(ctx.identity.person_id)
    choices = []
    for topic in ctx.content.get(load_lead_options).topics:
        on = topic in active
        label = ctx.texts.label(
            "subscribe.on" if on else "subscribe.off",
            topic=ctx.texts.label(f"subscribe.topic.{topic}"),
        )
        choices.append(Choice(f"{NAME}:{'off' if on else 'on'}:{topic}", label))
    if active:
        choices.append(Choice(f"{NAME}:stop", ctx.texts.label("subscribe.stop_all")))
    choices.append(menu_choice(ctx))
    if intro:
        text = ctx.texts.render_string(ctx.content.get(load_notices).subscription.text)
    else:
        text = ctx.texts.render("subscribe/panel", count=len(active))
    return OutboundMessage(text=text, choices=tuple(choices))


def _here(conv: Conversation) -> Conversation:
    return Conversation(flow=NAME, step="panel", data=conv.data)


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    return Step(_here(conv), [await _panel(ctx, intro=True)])


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    if event.kind is not EventKind.CHOICE:
        return await start(ctx, conv, event)
    _, _, rest = event.text.partition(":")
    action, _, topic = rest.partition(":")
    subscriptions = ctx.repos.subscriptions
    topics = ctx.content.get(load_lead_options).topics
    if action == "stop":
        stopped = await stop_all(ctx)
        reply = ctx.say("subscribe/stopped", stopped=stopped)
        return Step(_here(conv), [reply, await _panel(ctx, intro=False)])
    if action in ("on", "off") and topic in topics:
        on = action == "on"
        turn = subscriptions.start if on else subscriptions.stop
        if await turn(ctx.identity.person_id, topic, now=ctx.now):
            await _record(ctx, topic, ConsentAction.CONSENT if on else ConsentAction.WITHDRAW)
        label = ctx.texts.label(f"subscribe.topic.{topic}")
        reply = ctx.say("subscribe/started" if on else "subscribe/topic_stopped", topic=label)
        return Step(_here(conv), [reply, await _panel(ctx, intro=False)])
    return await start(ctx, conv, event)


async def on_cancel(ctx: FlowContext, everything: bool) -> str | None:
    """``/huy`` (everything) also stops every announcement topic, and says so."""
    return "subscriptions" if everything and await stop_all(ctx) else None


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"thongbao": "start", "huydangky": "stop", "unsubscribe": "stop"},
    menu_entry="menu.subscribe",
    on_cancel=on_cancel,
)

__all__ = ["FLOW", "stop_all"]
