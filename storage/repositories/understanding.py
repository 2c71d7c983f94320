"""The review list of unplaced messages: kept in a step, read by staff, purged when old."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.understanding import (
    GUESS_LENGTH,
    UNPLACED_RETENTION_DAYS,
    UNPLACED_TEXT_LENGTH,
    VERDICT_LENGTH,
    UnplacedMessage,
)


class Unplaced:
    """Repository of :class:`UnplacedMessage` rows; never commits."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, *, text: str, verdict: str, guess: str, now: datetime) -> None:
        """Add one masked message to the review list (in the step's transaction)."""
        self.session.add(
            UnplacedMessage(
                text=text[:UNPLACED_TEXT_LENGTH],
                verdict=verdict[:VERDICT_LENGTH],
                guess=guess[:GUESS_LENGTH],
                created_at=now,
            )
        )

    async def most_frequent(
        self, *, since: datetime | None = None, limit: int = 50
    ) -> list[tuple[str, str, str, int]]:
        """(text, verdict, guess, count), most frequent first: what staff should add first."""
        count = func.count(UnplacedMessage.id).label("count")
        query = select(UnplacedMessage.text, UnplacedMessage.verdict, UnplacedMessage.guess, count)
        if since is not None:
            query = query.where(UnplacedMessage.created_at >= since)
        query = (
            query.group_by(UnplacedMessage.text, UnplacedMessage.verdict, UnplacedMessage.guess)
            .order_by(count.desc(), UnplacedMessage.text)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return [(row[0], row[1], row[2], int(row[3])) for row in rows]

    async def purge(self, *, now: datetime) -> int:
        """Delete review messages older than :data:`UNPLACED_RETENTION_DAYS`; the count."""
        cutoff = now - timedelta(days=UNPLACED_RETENTION_DAYS)
        result = await self.session.execute(
            delete(UnplacedMessage).where(UnplacedMessage.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
