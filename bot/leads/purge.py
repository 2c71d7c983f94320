"""Retention: anonymise leads with no activity for longer than the Center's retention period.

Wired as ``khuyencong privacy purge``; idempotent (anonymised leads are skipped), one
transaction, and only counts are reported (no names or phones in any log line).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import Database
from storage.repositories import ACTOR_SYSTEM, Leads, anonymise_leads


async def purge_inactive(database: Database, *, now: datetime, retention_days: int) -> int:
    """Anonymise leads whose last activity is older than ``retention_days``; how many."""
    if retention_days < 1:
        msg = "retention_days must be at least 1"
        raise ValueError(msg)
    cutoff = now - timedelta(days=retention_days)
    async with database.transaction() as session:
        stale = await Leads(session).inactive_since(cutoff)
        return await anonymise_leads(session, stale, now=now, actor=ACTOR_SYSTEM)
