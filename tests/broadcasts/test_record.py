"""Writing a batch's outcomes: sent rows in one statement, the rest row by row, all right.

Runs on SQLite and PostgreSQL: the sent rows' statement is SQL text with the driver's own
placeholders, so both parameter styles are exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text, update

from storage import Database
from storage.models import ChannelIdentity
from storage.models.broadcasts import BroadcastDelivery, DeliveryStatus
from storage.repositories import Broadcasts, ClaimedDelivery, DeliveryOutcome
from storage.repositories.broadcasts import SENT_ROWS_PER_STATEMENT
from tests.broadcasts.kit import seed_recipients, start_broadcast

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)


async def _claimed(database: Database, count: int) -> list[ClaimedDelivery]:
    await seed_recipients(database, count, now=NOW)
    await start_broadcast(database, now=NOW)
    async with database.transaction() as session:
        claim = await Broadcasts(session).claim(
            "telegram",
            now=NOW,
            limit=count,
            lease=timedelta(seconds=60),
            hold=timedelta(seconds=600),
            skip_locked=database.is_postgres,
        )
    assert len(claim.rows) == count
    return claim.rows


async def _record(database: Database, outcomes: list[DeliveryOutcome]) -> list[int]:
    async with database.transaction() as session:
        return await Broadcasts(session).record(outcomes, now=LATER, content_error_limit=5)


async def _rows(database: Database) -> dict[int, BroadcastDelivery]:
    async with database.transaction() as session:
        rows = (await session.execute(select(BroadcastDelivery))).scalars()
        return {row.id: row for row in rows}


@contextmanager
def _delivery_updates(database: Database) -> Iterator[list[tuple[str, bool]]]:
    """The UPDATE statements on the deliveries table, with whether each was executemany."""
    seen: list[tuple[str, bool]] = []

    def spy(*args: Any) -> None:
        statement, many = args[2], args[5]
        if statement.lstrip().upper().startswith("UPDATE BROADCAST_DELIVERY"):
            seen.append((statement, many))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


async def test_a_batch_of_sent_rows_is_one_statement_and_every_row_is_right(
    database: Database,
) -> None:
    claimed = await _claimed(database, 200)
    # A few rows come back for a second try: their attempts differ from the rest.
    async with database.transaction() as session:
        await session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.id.in_([row.id for row in claimed[:3]]))
            .values(attempts=2)
        )
    claimed = [
        ClaimedDelivery(r.id, r.broadcast_id, r.person_id, r.identity_id, r.chat_id, 2)
        if index < 3
        else r
        for index, r in enumerate(claimed)
    ]
    outcomes = [
        DeliveryOutcome(row, DeliveryStatus.SENT, message_id=f"m{row.id}") for row in claimed
    ]

    with _delivery_updates(database) as statements:
        assert await _record(database, outcomes) == []

    assert len(statements) == 1
    assert not statements[0][1]  # one statement, not one a row
    rows = await _rows(database)
    for delivery in claimed:
        row = rows[delivery.id]
        assert row.status == DeliveryStatus.SENT
        assert row.message_id == f"m{delivery.id}"
        assert row.attempts == delivery.attempts + 1
        assert row.sent_at == LATER
        assert row.updated_at == LATER
        assert row.next_attempt_at == LATER


async def test_mixed_outcomes_each_get_their_own_status(database: Database) -> None:
    claimed = await _claimed(database, 6)
    sent, retry, blocked, requeued, failed, untouched = claimed
    retry_at = LATER + timedelta(seconds=30)
    outcomes = [
        DeliveryOutcome(sent, DeliveryStatus.SENT, message_id="41"),
        DeliveryOutcome(retry, DeliveryStatus.PENDING, error="503", retry_at=retry_at),
        DeliveryOutcome(blocked, DeliveryStatus.BLOCKED, error="blocked", unreachable=True),
        DeliveryOutcome(
            requeued, DeliveryStatus.PENDING, attempted=False, error="429", retry_at=retry_at
        ),
        DeliveryOutcome(failed, DeliveryStatus.FAILED, error="bad html", bad_content=True),
    ]

    await _record(database, outcomes)

    rows = await _rows(database)
    assert (rows[sent.id].status, rows[sent.id].message_id, rows[sent.id].attempts) == (
        DeliveryStatus.SENT,
        "41",
        1,
    )
    assert rows[sent.id].sent_at == LATER
    assert (rows[retry.id].status, rows[retry.id].attempts) == (DeliveryStatus.PENDING, 1)
    assert rows[retry.id].next_attempt_at == retry_at
    assert rows[retry.id].last_error == "503"
    assert rows[blocked.id].status == DeliveryStatus.BLOCKED
    assert (rows[requeued.id].status, rows[requeued.id].attempts) == (DeliveryStatus.PENDING, 0)
    assert rows[failed.id].status == DeliveryStatus.FAILED
    assert rows[failed.id].sent_at is None
    assert rows[untouched.id].status == DeliveryStatus.SENDING  # not in this batch
    assert rows[untouched.id].message_id == ""
    async with database.transaction() as session:
        identity = await session.get(ChannelIdentity, blocked.identity_id)
        assert identity is not None
        assert identity.blocked_at == LATER


async def test_more_sent_rows_than_one_statement_takes_are_all_written(
    database: Database,
) -> None:
    count = SENT_ROWS_PER_STATEMENT * 2 + 37  # two full statements and a padded third
    claimed = await _claimed(database, count)
    outcomes = [
        DeliveryOutcome(row, DeliveryStatus.SENT, message_id=str(9000 + row.id)) for row in claimed
    ]

    with _delivery_updates(database) as statements:
        await _record(database, outcomes)

    assert len(statements) == 3
    rows = await _rows(database)
    assert all(rows[row.id].status == DeliveryStatus.SENT for row in claimed)
    assert all(rows[row.id].message_id == str(9000 + row.id) for row in claimed)
    assert all(rows[row.id].attempts == 1 for row in claimed)


async def test_a_claim_takes_the_first_due_rows_without_sorting_them_all(
    sqlite_database: Database,
) -> None:
    """SQLite reads the claim in the due-rows index's order: no sort of every open row
    (which cost 100 ms a claim at 100,000 open rows)."""
    database = sqlite_database
    claimed = await _claimed(database, 5)
    await seed_recipients(database, 20, now=NOW, first_chat=50_000)
    second = await start_broadcast(database, now=NOW)
    async with database.transaction() as session:
        repo = Broadcasts(session)
        query = repo.claim_query("telegram", now=LATER, limit=10, skip_locked=False)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        rows = [row[0] for row in await session.execute(query)]

    assert not any("TEMP B-TREE" in step for step in plan), plan
    # Pending rows first, oldest due first, then by id; expired leases after them.
    async with database.transaction() as session:
        pending = (
            await session.execute(
                select(BroadcastDelivery.id)
                .where(BroadcastDelivery.broadcast_id == second)
                .order_by(BroadcastDelivery.id)
            )
        ).scalars()
        assert rows == list(pending)[:10]
    assert not set(rows) & {row.id for row in claimed}
