"""Broadcast deliveries: a partial index of the open rows in the order the sender claims them.

Revision ID: 0005_delivery_open_index
Revises: 0003_i14_broadcasts
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_delivery_open_index"
down_revision: str | None = "0003_i14_broadcasts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Written out here, not imported: a migration must not change when the models do.
OPEN_CONDITION = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_index(
        "ix_delivery_open_due",
        "broadcast_delivery",
        ["channel", "next_attempt_at", "id"],
        postgresql_where=sa.text(OPEN_CONDITION),
        sqlite_where=sa.text(OPEN_CONDITION),
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_open_due", table_name="broadcast_delivery")
