"""Staff accounts, sessions, linked chat identities, audit log; lead assignment and the
indexes the dashboard's filters and free-text search use.

Revision ID: 0003_i13_staff
Revises: 0004_i12_zalo
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0003_i13_staff"
down_revision: str | None = "0004_i12_zalo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (name, columns): the list is sorted newest first, so each filter leads to its own range.
LEAD_INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("ix_lead_created_id", ["created_at", "id"]),
    ("ix_lead_status_created", ["status", "created_at", "id"]),
    ("ix_lead_commune_created", ["commune_code", "created_at", "id"]),
    ("ix_lead_programme_created", ["programme_id", "created_at", "id"]),
    ("ix_lead_assignee_created", ["assignee_id", "created_at", "id"]),
    ("ix_lead_verdict_created", ["verdict", "created_at", "id"]),
    ("ix_lead_stats", ["status", "programme_id", "commune_code"]),
)
#: Only leads not anonymised: the dashboard shows no other, and counts stay index-only.
LIVE = "anonymised_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("wards", sa.JSON(), nullable=False),
        sa.Column("programmes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "staff_identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("staff_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel", "user_id", name="uq_staff_identity"),
    )
    op.create_index("ix_staff_identity_account_id", "staff_identity", ["account_id"])
    op.create_table(
        "staff_link_code",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("staff_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "staff_session",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("staff_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_staff_session_account_id", "staff_session", ["account_id"])
    op.create_index("ix_staff_session_expires_at", "staff_session", ["expires_at"])
    op.create_table(
        "staff_login_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_failure_username", "staff_login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address", "staff_login_failure", ["address", "at"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("staff_account.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_entity", "audit_event", ["entity", "entity_id"])

    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(32), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("search_text", sa.String(600), nullable=False, server_default="")
        )
        batch.create_foreign_key(
            "fk_lead_assignee", "staff_account", ["assignee_id"], ["id"], ondelete="SET NULL"
        )
    _fill_derived_columns()
    for name, columns in LEAD_INDEXES:
        op.create_index(
            name,
            "lead",
            columns,
            postgresql_where=sa.text(LIVE),
            sqlite_where=sa.text(LIVE),
            # Newest first with the search text: a "contains" filter never visits the table.
            postgresql_include=["search_text"] if name == "ix_lead_created_id" else [],
        )
    if op.get_bind().dialect.name == "postgresql":
        # Free text ("contains") over code, name, phone and facility: trigram GIN index, and
        # a finer histogram so the planner tells a common name (walk the newest-first
        # index) from a rare phone number (use the trigram index).
        op.execute("ALTER TABLE lead ALTER COLUMN search_text SET STATISTICS 2000")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_lead_search_text ON lead USING gin (search_text gin_trgm_ops)")
    else:
        op.create_index("ix_lead_search_text", "lead", ["search_text"])


def _fill_derived_columns() -> None:
    """Leads written before this revision get their search text and verdict once."""
    from storage.models.staff import best_verdict, fold_search, national_phone

    bind = op.get_bind()
    lead = sa.table(
        "lead",
        sa.column("id", sa.Integer()),
        sa.column("code", sa.String()),
        sa.column("full_name", sa.String()),
        sa.column("phone", sa.String()),
        sa.column("facility_name", sa.String()),
        sa.column("eligibility", sa.JSON()),
        sa.column("verdict", sa.String()),
        sa.column("search_text", sa.String()),
    )
    rows = bind.execute(
        sa.select(
            lead.c.id,
            lead.c.code,
            lead.c.full_name,
            lead.c.phone,
            lead.c.facility_name,
            lead.c.eligibility,
        )
    ).all()
    for row in rows:
        parts = (row.code or "", row.full_name, row.phone, national_phone(row.phone))
        text = fold_search(" ".join(p for p in (*parts, row.facility_name) if p))[:600]
        bind.execute(
            sa.update(lead)
            .where(lead.c.id == row.id)
            .values(search_text=text, verdict=best_verdict(row.eligibility))
        )


def downgrade() -> None:
    op.drop_index("ix_lead_search_text", table_name="lead")
    for name, _columns in LEAD_INDEXES:
        op.drop_index(name, table_name="lead")
    with op.batch_alter_table("lead") as batch:
        batch.drop_constraint("fk_lead_assignee", type_="foreignkey")
        batch.drop_column("search_text")
        batch.drop_column("verdict")
        batch.drop_column("assignee_id")
    op.drop_table("audit_event")
    op.drop_table("staff_login_failure")
    op.drop_table("staff_session")
    op.drop_table("staff_link_code")
    op.drop_table("staff_identity")
    op.drop_table("staff_account")
