"""Leads, lead history, consent records, subscriptions and hand-offs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(20), nullable=True, unique=True),
        sa.Column("draft_id", sa.String(40), nullable=False, unique=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "identity_id",
            sa.Integer(),
            sa.ForeignKey("channel_identity.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("facility_name", sa.String(200), nullable=False),
        sa.Column("facility_type", sa.String(32), nullable=False),
        sa.Column("commune_code", sa.String(16), nullable=False),
        sa.Column("commune_name", sa.String(120), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("support_kinds", sa.JSON(), nullable=False),
        sa.Column("support_key", sa.String(160), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("call_time", sa.String(120), nullable=False),
        sa.Column("programme_id", sa.String(64), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("notice_version", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("anonymised_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_lead_person_id", "lead", ["person_id"])
    op.create_index("ix_lead_status", "lead", ["status"])
    op.create_index("ix_lead_last_activity_at", "lead", ["last_activity_at"])
    op.create_index("ix_lead_phone_support", "lead", ["phone", "support_key"])
    op.create_table(
        "lead_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "lead_id",
            sa.Integer(),
            sa.ForeignKey("lead.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("old_status", sa.String(24), nullable=False),
        sa.Column("new_status", sa.String(24), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("draft_id", sa.String(40), nullable=True, unique=True),
    )
    op.create_index("ix_lead_history_lead_id", "lead_history", ["lead_id"])
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "identity_id",
            sa.Integer(),
            sa.ForeignKey("channel_identity.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("notice_version", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_consent_person_purpose", "consent", ["person_id", "purpose", "created_at"])
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("person_id", "topic", name="uq_subscription_topic"),
    )
    op.create_index("ix_subscription_topic", "subscription", ["topic"])
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "identity_id",
            sa.Integer(),
            sa.ForeignKey("channel_identity.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "lead_id",
            sa.Integer(),
            sa.ForeignKey("lead.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(16), nullable=False),
    )
    op.create_index("ix_handoff_status", "handoff", ["status"])
    op.create_index(
        "uq_handoff_open_identity",
        "handoff",
        ["identity_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("handoff")
    op.drop_table("subscription")
    op.drop_table("consent")
    op.drop_table("lead_history")
    op.drop_table("lead")
