"""Leads loaded from ``tests/fixtures/leads/leads.yaml`` into a migrated database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from storage import Database
from storage.models import Lead
from storage.repositories import support_key
from tests.conftest import FIXTURES

LEADS_FILE = FIXTURES / "leads" / "leads.yaml"


def lead_rows() -> list[dict[str, Any]]:
    with LEADS_FILE.open(encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = yaml.safe_load(handle)
    return rows


async def load_leads(database: Database) -> list[Lead]:
    leads: list[Lead] = []
    async with database.session() as session, session.begin():
        for row in lead_rows():
            values = dict(row)
            for key in ("created_at", "last_activity_at"):
                moment = values[key]
                values[key] = (
                    moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
                )
            lead = Lead(**values, support_key=support_key(values["support_kinds"]))
            lead.updated_at = values["last_activity_at"]
            session.add(lead)
            await session.flush()
            lead.code = f"KC-{values['created_at'].year}-{lead.id:06d}"
            leads.append(lead)
    return leads
