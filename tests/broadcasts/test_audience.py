"""Audience filters against seeded owners, on SQLite and PostgreSQL: each filter alone and
combined; the unsubscribed, the blocked and the web-only are never in an audience."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import Database
from storage.models.broadcasts import BroadcastDelivery
from storage.repositories import Audience, Broadcasts
from tests.broadcasts.seed import load_fixture, seed_people

NOW = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
FIXTURE = load_fixture("audience.yaml")
CASES = FIXTURE["cases"]


@pytest.fixture
async def seeded(database: Database) -> dict[str, int]:
    return await seed_people(database, FIXTURE["people"], now=NOW)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_audience_filter(
    database: Database, seeded: dict[str, int], case: dict[str, Any]
) -> None:
    audience = Audience.from_dict(case["audience"])
    by_id = {person_id: key for key, person_id in seeded.items()}
    async with database.transaction() as session:
        repo = Broadcasts(session)
        count = await repo.count_audience(audience, now=NOW)
        broadcast = await repo.create(
            body="Xin chào {{ name }}", audience=audience, created_by="test", now=NOW
        )
        total = await repo.materialise(broadcast, audience, now=NOW, approved_by="test")
        rows = (
            await session.execute(
                select(BroadcastDelivery.person_id, BroadcastDelivery.channel).where(
                    BroadcastDelivery.broadcast_id == broadcast.id
                )
            )
        ).all()
    got = sorted(by_id[person_id] for person_id, _ in rows)
    assert got == sorted(case["expect"])
    assert count == total == len(case["expect"])


async def test_a_person_is_reached_once_on_the_channel_used_last(
    database: Database, seeded: dict[str, int]
) -> None:
    async with database.transaction() as session:
        repo = Broadcasts(session)
        audience = Audience()
        broadcast = await repo.create(body="x", audience=audience, created_by="t", now=NOW)
        await repo.materialise(broadcast, audience, now=NOW, approved_by="t")
        again = await repo.materialise(broadcast, audience, now=NOW, approved_by="t")
        channel = await session.scalar(
            select(BroadcastDelivery.channel).where(BroadcastDelivery.person_id == seeded["giang"])
        )
        rows = await session.scalar(select(func.count()).select_from(BroadcastDelivery))
    assert channel == "zalo_oa"
    assert again == rows == len(CASES[0]["expect"])  # materialising twice adds nobody


def test_audience_round_trips_through_its_stored_form() -> None:
    audience = Audience(topics=("trade_fair",), communes=("70",), active_within_days=30)
    assert Audience.from_dict(audience.to_dict()) == audience
    assert Audience.from_dict({"topics": "trade_fair, training"}).topics == (
        "trade_fair",
        "training",
    )
