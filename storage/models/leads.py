"""Leads (registered interest), consent records, subscriptions and hand-offs to staff.

Personal fields (name, phone, facility, need…) live only on :class:`Lead`; everything else
points at a :class:`~storage.models.Person`. Two tables are append-only: :class:`Consent` is
the evidence Decree 356/2025 asks for, and :class:`LeadHistory` is the staff's audit trail.
The ORM refuses to update or delete their rows; the one exception is erasure of a person's
data (Law 91/2025 Art. 4), which blanks history notes with an explicit bulk statement.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from storage.models.core import CHANNEL_LENGTH, Base

DRAFT_ID_LENGTH = 40
CODE_LENGTH = 20
STATUS_LENGTH = 24
NAME_LENGTH = 120
PHONE_LENGTH = 20
FACILITY_LENGTH = 200
KIND_LENGTH = 32
COMMUNE_CODE_LENGTH = 16
SUPPORT_KEY_LENGTH = 160
CALL_TIME_LENGTH = 120
PROGRAMME_LENGTH = 64
VERSION_LENGTH = 32
PURPOSE_LENGTH = 48
ACTOR_LENGTH = 80
TOPIC_LENGTH = 32


class AppendOnlyError(RuntimeError):
    """Raised when code tries to rewrite or delete an append-only record."""


class LeadStatus(StrEnum):
    """Where staff are with a lead (Vietnamese names in ``content/leads/statuses.yaml``)."""

    NEW = "new"
    CONTACTED = "contacted"
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    DOSSIER_PREPARED = "dossier_prepared"
    SUBMITTED = "submitted"
    SUPPORTED = "supported"
    CLOSED = "closed"


#: A lead in one of these states is finished: registering again opens a new one.
FINAL_STATUSES = frozenset({LeadStatus.SUPPORTED, LeadStatus.CLOSED, LeadStatus.NOT_ELIGIBLE})


class ConsentAction(StrEnum):
    CONSENT = "consent"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


class HandoffStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Lead(Base):
    """One registration of interest, for staff to call back and help with a dossier."""

    __tablename__ = "lead"
    __table_args__ = (Index("ix_lead_phone_support", "phone", "support_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``KC-<year>-<6-digit id>``, set right after the insert gives the id.
    code: Mapped[str | None] = mapped_column(String(CODE_LENGTH), unique=True, default=None)
    #: The form draft that created the lead: a double tap or a redelivery cannot add another.
    draft_id: Mapped[str] = mapped_column(String(DRAFT_ID_LENGTH), unique=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True, default=None
    )
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="SET NULL"), default=None
    )
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH), default="")
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default=LeadStatus.NEW, index=True)
    full_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    #: E.164 (``+84912345678``); empty once anonymised.
    phone: Mapped[str] = mapped_column(String(PHONE_LENGTH), default="")
    facility_name: Mapped[str] = mapped_column(String(FACILITY_LENGTH), default="")
    facility_type: Mapped[str] = mapped_column(String(KIND_LENGTH), default="")
    commune_code: Mapped[str] = mapped_column(String(COMMUNE_CODE_LENGTH), default="")
    commune_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    products: Mapped[str] = mapped_column(Text, default="")
    support_kinds: Mapped[list[Any]] = mapped_column(default=list)
    #: The sorted support kinds joined by commas: "same support" when matching a phone.
    support_key: Mapped[str] = mapped_column(String(SUPPORT_KEY_LENGTH), default="")
    need: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[int | None] = mapped_column(BigInteger, default=None)
    call_time: Mapped[str] = mapped_column(String(CALL_TIME_LENGTH), default="")
    programme_id: Mapped[str] = mapped_column(String(PROGRAMME_LENGTH), default="")
    #: The eligibility answers, verdicts and trace the owner saw, for staff to check.
    eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notice_version: Mapped[str] = mapped_column(String(VERSION_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    #: Last change by the owner or staff; the retention period counts from here.
    last_activity_at: Mapped[datetime] = mapped_column(index=True)
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The staff member working the lead (``storage.staff``); None: not assigned yet.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_account.id", ondelete="SET NULL"), default=None
    )
    #: Derived on every write by ``storage.staff`` (dashboard filters and free-text search).
    verdict: Mapped[str] = mapped_column(String(32), default="")
    search_text: Mapped[str] = mapped_column(String(600), default="")

    @property
    def is_open(self) -> bool:
        return self.anonymised_at is None and self.status not in FINAL_STATUSES


class LeadHistory(Base):
    """Append-only: every creation, update, status change and staff note of a lead."""

    __tablename__ = "lead_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    #: "owner", "system" or "<channel>:<user id>" of the staff member.
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    #: created, updated, corrected, status, note, anonymised.
    action: Mapped[str] = mapped_column(String(16))
    old_status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default="")
    new_status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default="")
    #: Names of the fields changed (never their values, which may be personal).
    fields: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    #: The confirmed draft behind a creation or update: unique, so a retry writes nothing.
    draft_id: Mapped[str | None] = mapped_column(
        String(DRAFT_ID_LENGTH), unique=True, default=None
    )


class Consent(Base):
    """Append-only evidence of consent, refusal or withdrawal (Decree 356/2025)."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_person_purpose", "person_id", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="SET NULL"), default=None
    )
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    #: "lead" (registration and hand-off) or "subscribe:<topic>".
    purpose: Mapped[str] = mapped_column(String(PURPOSE_LENGTH))
    action: Mapped[str] = mapped_column(String(16))
    notice_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    created_at: Mapped[datetime] = mapped_column()


class Subscription(Base):
    """One person's opt-in to one announcement topic; stopped rows stay for evidence."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("person_id", "topic", name="uq_subscription_topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(TOPIC_LENGTH), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    #: When the current opt-in began (an owner may stop and opt in again).
    started_at: Mapped[datetime] = mapped_column()
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


class Handoff(Base):
    """An owner talking to staff through the bot; at most one open per channel identity."""

    __tablename__ = "handoff"
    __table_args__ = (
        Index(
            "uq_handoff_open_identity",
            "identity_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identity.id", ondelete="CASCADE"))
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default=HandoffStatus.OPEN, index=True)
    opened_at: Mapped[datetime] = mapped_column()
    last_activity_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: owner, staff, idle or erased.
    closed_by: Mapped[str] = mapped_column(String(16), default="")

    @property
    def is_open(self) -> bool:
        return self.status == HandoffStatus.OPEN


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    msg = f"{type(target).__name__} rows are append-only"
    raise AppendOnlyError(msg)


for _model in (Consent, LeadHistory):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
