"""Core tables: who talks to the bot, where they are in the conversation, what was said.

Domain tables (leads, consents, broadcasts…) live in their own modules and share ``Base``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

CHANNEL_LENGTH = 16
EXTERNAL_ID_LENGTH = 64
FLOW_LENGTH = 32
STEP_LENGTH = 64


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Person(Base):
    """One human, possibly reachable on several channels. Holds no personal data itself."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="person")


class ChannelIdentity(Base):
    """A person's account on one channel (a Telegram user id, a web chat session…)."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_identity_channel_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    user_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    #: Set when the user blocked the bot; cleared when they unblock it.
    blocked_at: Mapped[datetime | None] = mapped_column(default=None)
    person: Mapped[Person] = relationship(back_populates="identities")


class ConversationState(Base):
    """Where one identity is in the conversation; rewritten and committed on every step."""

    __tablename__ = "conversation_state"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(FLOW_LENGTH), default="menu")
    step: Mapped[str] = mapped_column(String(STEP_LENGTH), default="start")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The options offered last, so a typed "2" or a typed label means that option.
    last_choices: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy convention


class ProcessedEvent(Base):
    """The set of handled event ids per channel, kept ≥ 48 h, for de-duplication.

    A set rather than a watermark: Telegram's update ids jump to random values after a
    quiet week, and webhooks redeliver out of order.
    """

    __tablename__ = "processed_event"

    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(index=True)
    #: The replies this event produced, committed with the step; replayed when the event
    #: comes again before they were delivered (the process died between commit and send).
    replies: Mapped[list[Any] | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class MessageLog(Base):
    """Every message in and out, for staff to read later; erased with the person's data."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_identity_time", "identity_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()


class OutboxMessage(Base):
    """A message to someone other than the sender, committed with the step that caused it
    and delivered afterwards by the outbox worker (staff notices, relays, status updates)."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column()
    topic: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    #: Ids the channel gave the delivered message(s), so replies to them can be matched.
    message_ids: Mapped[list[Any]] = mapped_column(default=list)
