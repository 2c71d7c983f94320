"""The durable webhook inbox: store before answering, claim, finish, purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.channels import InboxStatus, WebhookInbox

INBOX: Table = WebhookInbox.__table__  # type: ignore[assignment]
ERROR_LENGTH = 200


async def store(
    session: AsyncSession,
    *,
    channel: str,
    event_id: str,
    user_key: str,
    body: str,
    now: datetime,
) -> bool:
    """Keep the event; False when the same (channel, event id) was already stored."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert(INBOX) if postgres else sqlite_insert(INBOX)
    statement = insert.values(
        channel=channel,
        event_id=event_id,
        user_key=user_key,
        body=body,
        status=InboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        received_at=now,
        last_error="",
    ).on_conflict_do_nothing(index_elements=["channel", "event_id"])
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def claim(
    session: AsyncSession,
    *,
    channels: Sequence[str],
    now: datetime,
    lease: timedelta,
    limit: int,
    postgres: bool,
) -> list[WebhookInbox]:
    """Due rows of ``channels`` in arrival order, leased to this worker (a dead worker's
    lease runs out and the row is due again)."""
    statement = (
        select(WebhookInbox)
        .where(
            WebhookInbox.channel.in_(channels),
            WebhookInbox.status.in_((InboxStatus.PENDING, InboxStatus.WORKING)),
            WebhookInbox.next_attempt_at <= now,
        )
        .order_by(WebhookInbox.id)
        .limit(limit)
    )
    if postgres:
        statement = statement.with_for_update(skip_locked=True)
    rows = list((await session.execute(statement)).scalars())
    for row in rows:
        row.status = InboxStatus.WORKING
        row.attempts += 1
        row.next_attempt_at = now + lease
    return rows


async def finish(
    session: AsyncSession,
    row_id: int,
    *,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Done (body cleared), or due again at ``retry_at``, or failed for good."""
    row = await session.get(WebhookInbox, row_id)
    if row is None:
        return
    if error is None:
        row.status, row.processed_at, row.body = InboxStatus.DONE, now, ""
        return
    row.last_error = error[:ERROR_LENGTH]
    if retry_at is None:
        row.status, row.processed_at, row.body = InboxStatus.FAILED, now, ""
    else:
        row.status, row.next_attempt_at = InboxStatus.PENDING, retry_at


async def purge(session: AsyncSession, *, older_than: datetime) -> int:
    """Forget handled events once redeliveries can no longer come."""
    result = await session.execute(
        delete(WebhookInbox).where(
            WebhookInbox.status.in_((InboxStatus.DONE, InboxStatus.FAILED)),
            WebhookInbox.received_at < older_than,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_count(session: AsyncSession) -> int:
    rows = await session.execute(
        select(WebhookInbox.id).where(
            WebhookInbox.status.in_((InboxStatus.PENDING, InboxStatus.WORKING))
        )
    )
    return len(rows.all())
