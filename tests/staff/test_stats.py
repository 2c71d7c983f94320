"""Statistics: the funnel, by status, ward, programme and week, within the officer's scope."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.staff.scope import Scope
from bot.staff.stats import Statistics, statistics
from storage import ConversationState, Database
from tests.dashboard.kit import make_lead
from tests.harness import TEST_NOW

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = Scope(account_id=1, username="admin", name="admin", is_admin=True)
WARD_ONE = Scope(
    account_id=2, username="lan", name="lan", is_admin=False, wards=frozenset({"00001"})
)


async def test_counts_by_status_ward_programme_and_week(database: Database) -> None:
    await make_lead(database, code="KC-2026-000001", status="new", commune_code="00001")
    await make_lead(database, code="KC-2026-000002", status="contacted", commune_code="00001")
    await make_lead(
        database,
        code="KC-2026-000003",
        status="supported",
        commune_code="00002",
        commune_name="Xã Hai",
        programme_id="website_tmdt",
        days_ago=8,
    )
    async with database.transaction() as session:
        session.add(
            ConversationState(
                identity_id=1,
                flow="menu",
                step="start",
                data={"eligibility": {"verdicts": []}},
                updated_at=TEST_NOW,
            )
        )
    figures = await _figures(database, ADMIN)
    funnel = dict(figures.funnel)
    assert (funnel["lead"], funnel["contacted"], funnel["dossier"], funnel["supported"]) == (
        3,
        2,
        1,
        1,
    )
    assert funnel["started"] == 1 and funnel["verdict"] == 1
    assert {row.key: row.value for row in figures.by_status}["contacted"] == 1
    assert [(row.key, row.label, row.value) for row in figures.by_ward] == [
        ("00001", "Phường Một", 2),
        ("00002", "Xã Hai", 1),
    ]
    assert {row.key: row.value for row in figures.by_programme} == {
        "may_moc_thiet_bi": 2,
        "website_tmdt": 1,
    }
    assert [row.value for row in figures.by_week][-2:] == [1, 2]
    scoped = await _figures(database, WARD_ONE)
    assert dict(scoped.funnel)["lead"] == 2 and dict(scoped.funnel)["started"] is None
    assert [row.key for row in scoped.by_ward] == ["00001"]


async def _figures(database: Database, scope: Scope) -> Statistics:
    async with database.transaction() as session:
        return await statistics(session, scope, now=TEST_NOW, zone=ZONE)
