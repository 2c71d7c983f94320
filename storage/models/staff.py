"""Staff accounts, their sessions and linked chat identities, and the audit log.

Passwords are stored only as argon2 hashes (``bot.staff.passwords``); session tokens and
link codes only as SHA-256 digests, so a copy of the database logs no one in.
:class:`AuditEvent` is append-only, like the lead history.

Also here: two columns of :class:`~storage.models.leads.Lead` the dashboard filters on
(``verdict``, ``search_text``), kept in step with the lead by ORM events on every insert
and update, whoever writes the lead.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from storage.models.core import CHANNEL_LENGTH, EXTERNAL_ID_LENGTH, Base
from storage.models.leads import Lead, _refuse_change

USERNAME_LENGTH = 64
DISPLAY_NAME_LENGTH = 120
HASH_LENGTH = 200
DIGEST_LENGTH = 64
ROLE_LENGTH = 16
AUDIT_ACTION_LENGTH = 32
AUDIT_ENTITY_LENGTH = 32
AUDIT_ACTOR_LENGTH = 80
ADDRESS_LENGTH = 64
VERDICT_LENGTH = 32
SEARCH_TEXT_LENGTH = 600

#: Verdicts from best to worst: a lead checked for several programmes shows its best one.
VERDICT_ORDER = ("likely_eligible", "needs_review", "likely_not_eligible")


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"


class StaffAccount(Base):
    """One officer of the Center; ``wards``/``programmes`` empty means "all of them"."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_LENGTH), default="")
    password_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), default=Role.STAFF)
    #: Commune/ward codes this officer may see; empty: every ward.
    wards: Mapped[list[Any]] = mapped_column(default=list)
    #: Programme ids this officer may see; empty: every programme.
    programmes: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Set by ``add``/``reset-password``: the one-time password must be replaced at login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class StaffIdentity(Base):
    """A chat account (Telegram user id…) linked to a staff account by a one-time code."""

    __tablename__ = "staff_identity"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_staff_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_account.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    user_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    linked_at: Mapped[datetime] = mapped_column()


class StaffLinkCode(Base):
    """A one-time code shown in the dashboard, typed in chat to link that chat account."""

    __tablename__ = "staff_link_code"

    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffSession(Base):
    """A dashboard login; the cookie holds the token, the table only its digest."""

    __tablename__ = "staff_session"

    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("staff_account.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    #: Absolute end; idle expiry is counted from ``last_seen_at``.
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """A failed login, counted per account and per address for throttling."""

    __tablename__ = "staff_login_failure"
    __table_args__ = (
        Index("ix_login_failure_username", "username", "at"),
        Index("ix_login_failure_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    at: Mapped[datetime] = mapped_column()


class AuditEvent(Base):
    """Append-only: who did what to which record, before → after, when, and from where."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_account.id", ondelete="SET NULL"), default=None
    )
    #: The username at the time (kept when the account is removed), or "cli".
    actor: Mapped[str] = mapped_column(String(AUDIT_ACTOR_LENGTH))
    #: web, telegram, cli…
    via: Mapped[str] = mapped_column(String(CHANNEL_LENGTH))
    action: Mapped[str] = mapped_column(String(AUDIT_ACTION_LENGTH))
    entity: Mapped[str] = mapped_column(String(AUDIT_ENTITY_LENGTH))
    entity_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH), default="")
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    count: Mapped[int] = mapped_column(Integer, default=1)


event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)


# The lead indexes behind the dashboard's filters (migration 0003_i13_staff). The list is
# sorted newest first, so each common filter reads its own index range in order. They are
# partial (only leads not anonymised, which is all the dashboard shows), so counts and
# statistics are index-only scans on PostgreSQL.
LIVE_LEADS = Lead.anonymised_at.is_(None)
for _name, *_columns in (
    ("ix_lead_created_id", Lead.created_at, Lead.id),
    ("ix_lead_status_created", Lead.status, Lead.created_at, Lead.id),
    ("ix_lead_commune_created", Lead.commune_code, Lead.created_at, Lead.id),
    ("ix_lead_programme_created", Lead.programme_id, Lead.created_at, Lead.id),
    ("ix_lead_assignee_created", Lead.assignee_id, Lead.created_at, Lead.id),
    ("ix_lead_verdict_created", Lead.verdict, Lead.created_at, Lead.id),
    # Statistics: status, programme and ward counted in one index-only pass.
    ("ix_lead_stats", Lead.status, Lead.programme_id, Lead.commune_code),
):
    Index(
        str(_name),
        *_columns,
        postgresql_where=LIVE_LEADS,
        sqlite_where=LIVE_LEADS,
        # Newest first with the search text: a "contains" filter never visits the table.
        postgresql_include=["search_text"] if _name == "ix_lead_created_id" else [],
    )
#: Free text ("contains"): a trigram GIN index on PostgreSQL; a plain one on SQLite, which
#: scans for "contains" anyway (fine at the scale an embedded database serves).
Index(
    "ix_lead_search_text",
    Lead.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
    postgresql_where=LIVE_LEADS,
)


def fold_search(text: str) -> str:
    """Lower case without diacritics (``đ`` → ``d``): "nguyen" finds "Nguyễn"."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def national_phone(phone: str) -> str:
    """``+84912345678`` → ``0912345678``, the form staff type."""
    return "0" + phone[3:] if phone.startswith("+84") else phone


def lead_search_text(lead: Lead) -> str:
    parts = (
        lead.code or "",
        lead.full_name or "",
        lead.phone or "",
        national_phone(lead.phone or ""),
        lead.facility_name or "",
    )
    return fold_search(" ".join(part for part in parts if part))[:SEARCH_TEXT_LENGTH]


def best_verdict(eligibility: dict[str, Any] | None) -> str:
    """The best outcome over the programmes checked; empty when none was checked."""
    found: set[str] = set()
    for verdict in (eligibility or {}).get("verdicts") or []:
        if isinstance(verdict, dict):
            outcome = verdict.get("outcome") or verdict.get("result")
            if isinstance(outcome, str):
                found.add(outcome)
    return next((outcome for outcome in VERDICT_ORDER if outcome in found), "")


def _derive(_mapper: Mapper[Any], _connection: Any, target: Lead) -> None:
    target.search_text = lead_search_text(target)
    target.verdict = best_verdict(target.eligibility)


event.listen(Lead, "before_insert", _derive)
event.listen(Lead, "before_update", _derive)
