"""The model of messages the bot could not place, kept for staff to teach it
(``khuyencong nlu review``); the queries are ``storage.repositories.Unplaced``.

Only the masked text is stored (phone numbers, e-mails, long numbers and names replaced by
placeholders before it gets here) and no link to who wrote it, so a row is not personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import Base

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
