"""Broadcasts: staff announcements, one delivery row per recipient, clicks, the shared pace.

A broadcast's audience is materialised at approval as one :class:`BroadcastDelivery` per
person (a snapshot, unique per broadcast and person: nobody gets the same broadcast twice).
The sender claims rows, marks them ``sending`` with a lease (``next_attempt_at``), sends, and
records the outcome; a row whose lease ran out (the process died) is due again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    SQLColumnExpression,
    String,
    Text,
    UniqueConstraint,
    column,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import CHANNEL_LENGTH, EXTERNAL_ID_LENGTH, Base

TITLE_LENGTH = 120
ACTOR_LENGTH = 80
ERROR_LENGTH = 200
BUTTON_LENGTH = 64
REASON_LENGTH = 32


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    #: Waiting for a second staff member (``BROADCAST_APPROVAL_REQUIRED``).
    AWAITING_APPROVAL = "awaiting_approval"
    #: Approved and materialised; rows are sent from ``scheduled_at`` on.
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


#: States in which the audience may still change (nothing materialised yet).
EDITABLE_STATUSES = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.AWAITING_APPROVAL})


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    #: Unsubscribed or unreachable since the snapshot, or the broadcast was cancelled.
    SKIPPED = "skipped"
    #: The channel cannot reach them now (Zalo: outside the 7-day window, not a follower):
    #: reported for staff to call, not retried, the identity left as it is.
    UNREACHABLE = "unreachable"


OPEN_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def open_delivery(status: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """``status`` is open, with the statuses written out as literals: the partial index of
    open rows carries this condition, and a query must spell the same literals for the
    planner to prove the index applies (a bound parameter never matches)."""
    return status.in_([literal_column(f"'{value.value}'") for value in OPEN_DELIVERY_STATUSES])


class Broadcast(Base):
    """One announcement: its text (a Jinja2 template), buttons, audience and state."""

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH), default="")
    #: Neutral text (``**bold**``, blank lines between paragraphs) with ``{{ name }}`` and
    #: ``{{ ward }}`` filled per recipient.
    body: Mapped[str] = mapped_column(Text)
    #: "", "photo" or "document"; ``attachment`` is a URL or the platform's file id.
    attachment_kind: Mapped[str] = mapped_column(String(16), default="")
    attachment: Mapped[str] = mapped_column(String(500), default="")
    #: ``[{"action": "programme"|"eligibility"|"register", "value": "…"}]``.
    buttons: Mapped[list[Any]] = mapped_column(default=list)
    #: The audience filter (``storage.repositories.audience.Audience.to_dict``).
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(24), default=BroadcastStatus.DRAFT, index=True)
    #: "<channel>:<user id>" or "staff:<account id>" or "cli".
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    approved_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH), default="")
    #: Where progress and the final report go ("telegram:-100…"); "" = the staff chats.
    report_to: Mapped[str] = mapped_column(String(ACTOR_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column()
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Why it is paused: "staff" or "content_errors".
    paused_reason: Mapped[str] = mapped_column(String(REASON_LENGTH), default="")
    #: Recipients at materialisation.
    total: Mapped[int] = mapped_column(Integer, default=0)
    #: Content errors (bad HTML, file too big) since the last successful send.
    content_errors_in_row: Mapped[int] = mapped_column(Integer, default=0)
    #: The last progress step (in quarters) announced to the staff chat.
    progress_reported: Mapped[int] = mapped_column(Integer, default=0)


class BroadcastDelivery(Base):
    """One recipient of one broadcast, on one channel."""

    __tablename__ = "broadcast_delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id", name="uq_delivery_broadcast_person"),
        Index("ix_delivery_channel_status_due", "channel", "status", "next_attempt_at"),
        # The sender's claim reads this in order and stops after a batch: without it
        # PostgreSQL walked past every row already sent (or sorted every open row) on each
        # claim, 0.1-0.6 s a claim at 100,000 rows.
        Index(
            "ix_delivery_open_due",
            "channel",
            "next_attempt_at",
            "id",
            postgresql_where=open_delivery(column("status")),
            sqlite_where=open_delivery(column("status")),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    chat_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    #: Sends that reached the platform (a 429 is not an attempt).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a pending row is due; for a ``sending`` row, when its lease runs out.
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str] = mapped_column(String(ERROR_LENGTH), default="")
    message_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column()


class BroadcastClick(Base):
    """A press on one of a broadcast's buttons (counted in the report, never personal)."""

    __tablename__ = "broadcast_click"
    __table_args__ = (Index("ix_broadcast_click_broadcast", "broadcast_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None
    )
    button: Mapped[str] = mapped_column(String(BUTTON_LENGTH))
    created_at: Mapped[datetime] = mapped_column()


class SendPace(Base):
    """The shared pace of one channel's senders: every worker reserves its send slots here,
    so several processes together stay under the platform's limit, and a flood-control
    pause (429) stops them all."""

    __tablename__ = "broadcast_pace"

    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column()
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
