"""Whether a person can be messaged on Zalo now, asked before a send that nobody answered.

OA consultation messages reach only people who interacted with the OA in the last 7 days
(``-230`` otherwise) and who still follow it; the Bot platform can only write to people who
wrote first. What cannot be sent is reported as unreachable (staff call instead), never
dropped silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from bot.channels.base import SendResult, SendStatus
from storage import Database
from storage.repositories import Conversations

CS_WINDOW: Final = timedelta(days=7)


async def window_check(
    database: Database,
    *,
    channel: str,
    chat_id: str,
    now: datetime,
    window: timedelta | None = CS_WINDOW,
) -> SendResult | None:
    """None when the person can be reached; otherwise the UNREACHABLE result to record."""
    async with database.transaction() as session:  # reads only: no write lock
        identity = await Conversations(session).find_identity(channel=channel, user_id=chat_id)
    if identity is None:
        return SendResult(SendStatus.UNREACHABLE, detail="never wrote on this channel")
    if identity.blocked_at is not None:
        return SendResult(SendStatus.UNREACHABLE, detail="unfollowed or blocked")
    if window is not None and identity.last_seen_at + window < now:
        return SendResult(SendStatus.UNREACHABLE, detail="outside the 7-day window")
    return None
