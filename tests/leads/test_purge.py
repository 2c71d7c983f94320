"""Retention purge: only leads inactive beyond the retention period are anonymised."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.leads.purge import purge_inactive
from storage import Database
from storage.models import Lead
from tests.leads.conftest import load_leads

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_purge_anonymises_only_leads_older_than_retention(database: Database) -> None:
    await load_leads(database)
    assert await purge_inactive(database, now=NOW, retention_days=365) == 1
    assert await purge_inactive(database, now=NOW, retention_days=365) == 0  # idempotent
    async with database.session() as session:
        leads = list((await session.execute(select(Lead).order_by(Lead.id))).scalars())
    assert [lead.anonymised_at is not None for lead in leads] == [False, False, True]
    old = leads[2]
    assert (old.full_name, old.phone, old.products) == ("", "", "")
    assert (old.status, old.commune_name, old.support_kinds) == ("closed", "Xã Kế Sách", ["other"])
    assert leads[0].full_name.startswith("=HYPERLINK")


async def test_a_short_retention_reaches_recent_leads(database: Database) -> None:
    await load_leads(database)
    assert await purge_inactive(database, now=NOW, retention_days=3) == 3
