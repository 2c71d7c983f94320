"""Replies that could not be sent at once go to the outbox instead of being lost.

The step is committed before its replies are sent, so a reply refused by a platform in
trouble (a 500, a timeout, flood control) was promised but not delivered. It is queued as an
outbox row for the same chat, in order, and the outbox worker retries it with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from bot.core.delivery import SendResult, SendStatus
from bot.core.messages import OutboundMessage, message_to_dict
from storage import Database
from storage.repositories.conversations import Conversations

log = logging.getLogger(__name__)

#: Statuses a later attempt may get past; the others (blocked, bad content) never will.
RETRYABLE: Final = frozenset({SendStatus.TRANSIENT, SendStatus.RETRY_AFTER})
#: Topic of a queued reply: ``reply:<event id>``.
REPLY_TOPIC_PREFIX: Final = "reply:"
FIRST_RETRY_SECONDS: Final = 5.0
TOPIC_LENGTH: Final = 64


def first_unsent(results: Sequence[SendResult]) -> int | None:
    """Index of the first reply that failed in a way worth retrying, if any."""
    for index, result in enumerate(results):
        if result.status in RETRYABLE:
            return index
    return None


async def queue_unsent(
    database: Database,
    *,
    channel: str,
    chat_id: str,
    event_id: str,
    replies: Sequence[OutboundMessage],
    failure: SendResult,
    now: datetime,
) -> None:
    """Queue ``replies`` (the failed one first) for the outbox worker, and say so once."""
    due = now + timedelta(seconds=max(failure.retry_after, FIRST_RETRY_SECONDS))
    async with database.transaction() as session:
        conversations = Conversations(session)
        for reply in replies:
            conversations.enqueue(
                channel=channel,
                chat_id=chat_id,
                payload=message_to_dict(reply),
                topic=f"{REPLY_TOPIC_PREFIX}{event_id}"[:TOPIC_LENGTH],
                now=now,
                due=due,
            )
    log.warning(
        "reply not sent; queued for retry",
        extra={"channel": channel, "status": failure.status.value, "queued": len(replies)},
    )
