"""Seeds owners (identities, subscriptions, leads, hand-offs) from a YAML fixture."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from storage import Database
from storage.models import ChannelIdentity, Person
from storage.models.leads import Handoff, HandoffStatus, Lead, Subscription

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "broadcasts"


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return data


async def seed_people(
    database: Database, people: list[dict[str, Any]], *, now: datetime
) -> dict[str, int]:
    """Person id per fixture key; chat ids are 1000 + the person's position."""
    ids: dict[str, int] = {}
    async with database.transaction() as session:
        for index, spec in enumerate(people):
            person = Person(created_at=now)
            session.add(person)
            await session.flush()
            ids[spec["key"]] = person.id
            first_identity: int | None = None
            for number, identity in enumerate(spec.get("identities", [])):
                seen = now - timedelta(days=identity.get("seen", 0))
                chat = str(1000 + index * 10 + number)
                row = ChannelIdentity(
                    person_id=person.id,
                    channel=identity["channel"],
                    user_id=chat,
                    chat_id=chat,
                    created_at=seen,
                    last_seen_at=seen,
                    blocked_at=now if identity.get("blocked") else None,
                )
                session.add(row)
                await session.flush()
                first_identity = first_identity or row.id
            for sub in spec.get("subscriptions", []):
                active = sub.get("active", True)
                session.add(
                    Subscription(
                        person_id=person.id,
                        topic=sub["topic"],
                        active=active,
                        created_at=now,
                        started_at=now,
                        stopped_at=None if active else now,
                    )
                )
            for number, lead in enumerate(spec.get("leads", [])):
                verdict = lead.get("verdict")
                eligibility = (
                    {"verdicts": [{"programme_id": lead.get("programme"), "outcome": verdict}]}
                    if verdict
                    else {}
                )
                session.add(
                    Lead(
                        draft_id=f"{spec['key']}-{number}",
                        person_id=person.id,
                        channel="telegram",
                        status=lead.get("status", "new"),
                        full_name=lead.get("name", ""),
                        commune_code=lead.get("commune", ""),
                        commune_name=lead.get("commune_name", ""),
                        programme_id=lead.get("programme", ""),
                        eligibility=eligibility,
                        created_at=now,
                        updated_at=now,
                        last_activity_at=now,
                        anonymised_at=now if lead.get("anonymised") else None,
                    )
                )
            if spec.get("handoff") == "open" and first_identity is not None:
                session.add(
                    Handoff(
                        person_id=person.id,
                        identity_id=first_identity,
                        status=HandoffStatus.OPEN,
                        opened_at=now,
                        last_activity_at=now,
                    )
                )
    return ids
