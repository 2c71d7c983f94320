"""The web chat's history: what a reload shows again instead of starting over.

The page asks for the session's recent messages (the message log) and the buttons still
live (the conversation state), so a reload in the middle of a registration keeps the
owner's place; nothing is sent to the bot.
"""

from __future__ import annotations

from bot.channels.webchat import CHANNEL_NAME, NOTICE_KIND
from bot.messages import EventKind
from storage import Database
from storage import conversations as repo

#: Messages a reload shows again (about a day of ordinary use).
HISTORY_LIMIT = 80
#: What the owner did that is shown as their own bubble (commands such as /start are not).
SHOWN_INBOUND = frozenset({EventKind.TEXT.value, EventKind.CHOICE.value})


async def session_history(database: Database, session_id: str | None) -> dict[str, object]:
    """``{"messages": [{"id", "who", "text"}], "choices": [{"id", "label"}], "last_id"}``."""
    messages: list[dict[str, object]] = []
    choices: list[dict[str, str]] = []
    last_id = 0
    if session_id:
        async with database.transaction() as session:  # reads only: no write lock
            identity = await repo.find_identity(session, channel=CHANNEL_NAME, user_id=session_id)
            if identity is not None:
                rows = await repo.recent(session, identity_id=identity.id, limit=HISTORY_LIMIT)
                offered = await repo.offered_choices(session, identity_id=identity.id)
                for row in rows:
                    last_id = max(last_id, row.id)
                    if row.direction == "in" and row.kind not in SHOWN_INBOUND:
                        continue
                    who = "me" if row.direction == "in" else "bot"
                    kind = NOTICE_KIND if row.kind == NOTICE_KIND else "reply"
                    messages.append({"id": row.id, "who": who, "text": row.text, "kind": kind})
                choices = [
                    {"id": str(item[0]), "label": str(item[1])}
                    for item in offered
                    if isinstance(item, list) and len(item) > 1
                ]
    return {"messages": messages, "choices": choices, "last_id": last_id}
