"""Messages the bot could not place, kept for staff to teach it (``khuyencong nlu review``).

Only the masked text is stored (phone numbers, e-mails, long numbers and names replaced by
placeholders before it gets here) and no link to who wrote it, so a row is not personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

UNPLACED_TEXT_LENGTH = 300
VERDICT_LENGTH = 16
GUESS_LENGTH = 64
#: Kept this long for review, then deleted by the maintenance worker.
UNPLACED_RETENTION_DAYS = 180


class UnplacedMessage(Base):
    """One typed message the bot was unsure about or found out of scope."""

    __tablename__ = "unplaced_message"
    __table_args__ = (Index("ix_unplaced_message_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(UNPLACED_TEXT_LENGTH))
    verdict: Mapped[str] = mapped_column(String(VERDICT_LENGTH))
    #: The classifier's best guess, to help staff file the example.
    guess: Mapped[str] = mapped_column(String(GUESS_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column()


async def keep_unplaced(
    session: AsyncSession, *, text: str, verdict: str, guess: str, now: datetime
) -> None:
    """Add one masked message to the review list (in the step's transaction)."""
    session.add(
        UnplacedMessage(
            text=text[:UNPLACED_TEXT_LENGTH],
            verdict=verdict[:VERDICT_LENGTH],
            guess=guess[:GUESS_LENGTH],
            created_at=now,
        )
    )


async def most_frequent_unplaced(
    session: AsyncSession, *, since: datetime | None = None, limit: int = 50
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
    rows = (await session.execute(query)).all()
    return [(row[0], row[1], row[2], int(row[3])) for row in rows]


async def purge_unplaced(session: AsyncSession, *, now: datetime) -> int:
    """Delete review messages older than :data:`UNPLACED_RETENTION_DAYS`; the count."""
    cutoff = now - timedelta(days=UNPLACED_RETENTION_DAYS)
    result = await session.execute(
        delete(UnplacedMessage).where(UnplacedMessage.created_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
