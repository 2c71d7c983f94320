"""Messages the bot could not place, masked, for staff review.

Revision ID: 0003_i10_nlu
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0003_i10_nlu"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unplaced_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("guess", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_unplaced_message_created", "unplaced_message", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_unplaced_message_created", table_name="unplaced_message")
    op.drop_table("unplaced_message")
