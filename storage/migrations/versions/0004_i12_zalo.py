"""Zalo channels: durable webhook inbox, OA tokens, the bot's sent message ids, link codes.

Revision ID: 0004_i12_zalo
Revises: 0003_i10_nlu
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0004_i12_zalo"
down_revision: str | None = "0003_i10_nlu"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=False),
        sa.UniqueConstraint("channel", "event_id", name="uq_inbox_channel_event"),
    )
    op.create_index("ix_inbox_status_due", "webhook_inbox", ["status", "next_attempt_at"])
    op.create_table(
        "zalo_token",
        sa.Column("oa_id", sa.String(64), primary_key=True),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("app_secret", sa.Text(), nullable=False),
        sa.Column("access_expires_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=False),
        sa.Column("needs_reauth", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=False),
        sa.Column("pending_state", sa.String(64), nullable=False),
    )
    op.create_table(
        "channel_sent_message",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_channel_sent_message_sent_at", "channel_sent_message", ["sent_at"])
    op.create_table(
        "identity_link_code",
        sa.Column("code", sa.String(16), primary_key=True),
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
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_identity_link_code_identity_id", "identity_link_code", ["identity_id"])


def downgrade() -> None:
    op.drop_table("identity_link_code")
    op.drop_table("channel_sent_message")
    op.drop_table("zalo_token")
    op.drop_table("webhook_inbox")
