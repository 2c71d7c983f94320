"""How outbox workers share the table: one claim at a time, chats in order, groups paced.

Telegram lets a bot post about 20 messages a minute to one group; a worker sending a batch
to a group at that pace outlived its lease, another worker claimed the same rows, and both
sent them. So:

- claims are serialised (a PostgreSQL advisory lock; on SQLite the single writer), so two
  workers never see the same rows as free;
- a chat's rows are claimed only from the head of its queue: a row waiting behind an
  earlier one that is being sent or waits for a retry stays put, so each chat's messages
  leave in order;
- a group chat gets one row per claim, and none while its last message is younger than
  ``GROUP_PACE_SECONDS`` (read from ``sent_at`` in the table, so the pace holds across
  workers and restarts);
- just before sending, a row's lease is renewed only if the row is still this worker's
  claim (same ``attempts``); a row another worker took over is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import exists, func, select, text, tuple_, update
from sqlalchemy.orm import aliased

from storage import Database
from storage.models import OutboxMessage

BATCH_SIZE: Final = 50
LEASE_SECONDS: Final = 120.0
#: Telegram allows about 20 messages a minute in one group.
GROUP_PACE_SECONDS: Final = 3.0
OPEN_STATUSES: Final = ("pending", "sending")
#: pg_advisory_xact_lock key for outbox claims ("kc-outbox" as digits).
CLAIM_LOCK_KEY: Final = 4_211_626_800


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    #: The row's attempt count after this claim: it identifies the claim.
    attempts: int


def is_group_chat(chat_id: str) -> bool:
    """Group, supergroup and channel ids are negative on Telegram."""
    return chat_id.startswith("-")


async def claim_due(database: Database, *, now: datetime) -> list[ClaimedRow]:
    """Claim the due rows this worker may send now, oldest first."""
    row = OutboxMessage
    earlier = aliased(OutboxMessage)
    waiting_ahead = (
        exists()
        .where(
            earlier.channel == row.channel,
            earlier.chat_id == row.chat_id,
            earlier.id < row.id,
            earlier.status.in_(OPEN_STATUSES),
            earlier.next_attempt_at > now,
        )
        .correlate(row)
    )
    statement = (
        select(row)
        .where(row.status.in_(OPEN_STATUSES), row.next_attempt_at <= now, ~waiting_ahead)
        .order_by(row.id)
        .limit(BATCH_SIZE)
    )
    if database.is_postgres:
        statement = statement.with_for_update(skip_locked=True)
    async with database.transaction() as session:
        if database.is_postgres:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY}
            )
        else:  # take SQLite's single writer before reading, as PostgreSQL's lock above
            await session.execute(update(row).where(row.id < 0).values(status=row.status))
        rows = list((await session.execute(statement)).scalars())
        groups = {(r.channel, r.chat_id) for r in rows if is_group_chat(r.chat_id)}
        last_sent: dict[tuple[str, str], datetime] = {}
        if groups:
            recent = await session.execute(
                select(row.channel, row.chat_id, func.max(row.sent_at))
                .where(tuple_(row.channel, row.chat_id).in_(list(groups)))
                .group_by(row.channel, row.chat_id)
            )
            last_sent = {(c, chat): at for c, chat, at in recent.all() if at is not None}
        pace = timedelta(seconds=GROUP_PACE_SECONDS)
        taken: list[OutboxMessage] = []
        paced: set[tuple[str, str]] = set()  # group chats given their one row
        for candidate in rows:
            key = (candidate.channel, candidate.chat_id)
            if key in groups:
                if key in paced or (key in last_sent and last_sent[key] > now - pace):
                    continue
                paced.add(key)
            taken.append(candidate)
        lease = now + timedelta(seconds=LEASE_SECONDS)
        for claimed in taken:
            claimed.status = "sending"
            claimed.attempts += 1
            claimed.next_attempt_at = lease
        return [ClaimedRow(r.id, r.channel, r.chat_id, dict(r.payload), r.attempts) for r in taken]


async def renew_lease(database: Database, claimed: ClaimedRow, *, now: datetime) -> bool:
    """Renew the row's lease if it is still this claim's; False when it is not."""
    row = OutboxMessage
    async with database.transaction() as session:
        result = await session.execute(
            update(row)
            .where(row.id == claimed.id, row.status == "sending", row.attempts == claimed.attempts)
            .values(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
        )
    return bool(getattr(result, "rowcount", 0))
