"""Tables that channels own: the durable webhook inbox, Zalo OA tokens, the bot's own sent
message ids (to tell them from staff messages), and identity-link codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.core import CHANNEL_LENGTH, EXTERNAL_ID_LENGTH, Base

STATUS_LENGTH = 16
ERROR_LENGTH = 200
LINK_CODE_LENGTH = 16


class InboxStatus:
    PENDING = "pending"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"


class WebhookInbox(Base):
    """A webhook event stored before the platform got its 200, processed afterwards.

    ``(channel, event_id)`` is unique, so a redelivery is stored once; the body is cleared
    once the event is handled (it may hold a message or a phone number).
    """

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("channel", "event_id", name="uq_inbox_channel_event"),
        Index("ix_inbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    event_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    #: Events of one user are handled in arrival order; other users' alongside.
    user_key: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(ERROR_LENGTH), default="")


class ZaloToken(Base):
    """One OA's OAuth pair, sealed with ``ZALO_TOKEN_KEY``. Refresh tokens are single-use:
    the row is rewritten (and committed) before a new access token is used."""

    __tablename__ = "zalo_token"

    oa_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str] = mapped_column(Text, default="")
    #: The app secret, sealed, when ``khuyencong zalo authorize`` stored it.
    app_secret: Mapped[str] = mapped_column(Text, default="")
    access_expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime] = mapped_column()
    #: Set when a refresh failed for good: an OA admin must grant access again.
    needs_reauth: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str] = mapped_column(String(ERROR_LENGTH), default="")
    #: SHA-256 of the ``state`` of the permission link being completed, if any.
    pending_state: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), default="")


class SentMessage(Base):
    """Ids of messages the bot itself sent, so Zalo's echo of them is not taken for staff."""

    __tablename__ = "channel_sent_message"

    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(index=True)


class LinkCode(Base):
    """A one-time code shown on one channel and typed on another to join two identities."""

    __tablename__ = "identity_link_code"

    code: Mapped[str] = mapped_column(String(LINK_CODE_LENGTH), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
