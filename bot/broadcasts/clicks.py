"""Counts presses on broadcast buttons, then lets the choice underneath go to its flow."""

from __future__ import annotations

from bot.broadcasts.compose import parse_click
from bot.core.flow import FlowContext
from bot.core.messages import EventKind, InboundEvent
from storage.repositories import Broadcasts

BUTTON_NAME_LENGTH = 64


async def count_click(ctx: FlowContext, event: InboundEvent) -> InboundEvent:
    """Router hook: ``bc:<id>:<choice>`` is recorded as a click and becomes ``<choice>``."""
    if event.kind is not EventKind.CHOICE:
        return event
    parsed = parse_click(event.text)
    if parsed is None:
        return event
    broadcast_id, inner = parsed
    await Broadcasts(ctx.session).record_click(
        broadcast_id,
        person_id=ctx.identity.person_id,
        button=inner[:BUTTON_NAME_LENGTH],
        now=ctx.now,
    )
    ctx.trace["broadcast_click"] = broadcast_id
    return event.with_choice(inner)
