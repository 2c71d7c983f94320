"""Notices to the staff chats (``STAFF_CHATS``), sent through the outbox after the commit."""

from __future__ import annotations

from bot.core.flow import FlowContext
from bot.core.messages import OutboundMessage


def notify_staff(ctx: FlowContext, message: OutboundMessage | str, *, topic: str) -> None:
    """Queue ``message`` for every staff chat; ``topic`` routes a staff reply back."""
    if isinstance(message, str):
        message = OutboundMessage(text=message)
    for channel, chat_id in ctx.settings.staff_targets:
        ctx.notify(channel, chat_id, message, topic=topic)
