"""Broadcasts: announcements, one delivery row per recipient, button clicks, shared pace.

Revision ID: 0003_i14_broadcasts
Revises: 0003_i13_staff
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0003_i14_broadcasts"
down_revision: str | None = "0003_i13_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_kind", sa.String(16), nullable=False),
        sa.Column("attachment", sa.String(500), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("approved_by", sa.String(80), nullable=False),
        sa.Column("report_to", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("paused_reason", sa.String(32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("content_errors_in_row", sa.Integer(), nullable=False),
        sa.Column("progress_reported", sa.Integer(), nullable=False),
    )
    op.create_index("ix_broadcast_status", "broadcast", ["status"])
    op.create_table(
        "broadcast_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "broadcast_id",
            sa.Integer(),
            sa.ForeignKey("broadcast.id", ondelete="CASCADE"),
            nullable=False,
        ),
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
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("broadcast_id", "person_id", name="uq_delivery_broadcast_person"),
    )
    op.create_index(
        "ix_delivery_channel_status_due",
        "broadcast_delivery",
        ["channel", "status", "next_attempt_at"],
    )
    op.create_table(
        "broadcast_click",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "broadcast_id",
            sa.Integer(),
            sa.ForeignKey("broadcast.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("person.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("button", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_broadcast_click_broadcast", "broadcast_click", ["broadcast_id"])
    op.create_table(
        "broadcast_pace",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("next_slot_at", UTCDateTime(), nullable=False),
        sa.Column("paused_until", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("broadcast_pace")
    op.drop_index("ix_broadcast_click_broadcast", table_name="broadcast_click")
    op.drop_table("broadcast_click")
    op.drop_index("ix_delivery_channel_status_due", table_name="broadcast_delivery")
    op.drop_table("broadcast_delivery")
    op.drop_index("ix_broadcast_status", table_name="broadcast")
    op.drop_table("broadcast")
