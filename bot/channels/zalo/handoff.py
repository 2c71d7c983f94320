"""A staff member answering from Zalo's OA Manager pauses the bot for that person.

The pause is the ordinary hand-off: an open :class:`~storage.leads.Handoff` with the
conversation in the hand-off flow, already acknowledged, so the bot stays quiet and the
owner's messages go on to staff. It ends as every hand-off does (the owner's "Kết thúc" or
``/huy``, staff's ``/dong``, or silence), and the bot answers again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

from storage import Database
from storage.repositories import Conversations, Handoffs

HANDOFF_FLOW = "handoff"
#: The hand-off flow's own conversation key and step (handlers/handoff.py).
HANDOFF_STATE_KEY = "handoff"
HANDOFF_OPEN_STEP = "open"
MAX_ATTEMPTS = 3


async def pause_for_staff(
    database: Database, *, channel: str, user_id: str, now: datetime
) -> int | None:
    """Open (or keep open) the hand-off of this person; its id, or None for a stranger."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with database.transaction() as session:
                conversations = Conversations(session)
                identity = await conversations.find_identity(channel=channel, user_id=user_id)
                if identity is None:
                    return None
                handoffs = Handoffs(session)
                handoff = await handoffs.open_for(identity.id)
                if handoff is not None:
                    await handoffs.touch(handoff, now=now)
                else:
                    handoff = await handoffs.open(
                        person_id=identity.person_id,
                        identity_id=identity.id,
                        lead_id=None,
                        now=now,
                    )
                _, state = await conversations.load_step(
                    channel=channel, user_id=user_id, chat_id=identity.chat_id, now=now
                )
                state.flow, state.step = HANDOFF_FLOW, HANDOFF_OPEN_STEP
                state.data = {
                    **state.data,
                    HANDOFF_STATE_KEY: {"id": handoff.id, "acked": True},
                }
                state.last_choices = []
                await conversations.save_state(state, now=now)
                return handoff.id
        except StaleDataError:
            if attempt == MAX_ATTEMPTS:
                raise
    return None
