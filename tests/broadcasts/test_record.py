"""Writing a batch's outcomes: sent rows in one statement, the rest row by row, all right.

Runs on SQLite and PostgreSQL: the sent rows' statement is SQL text with the driver's own
placeholders, so both parameter styles are exercised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text, update

from storage import Database
from storage.models import ChannelIdentity
from storage.models.broadcasts import BroadcastDelivery, DeliveryStatus
from storage.models.leads import Subscription
from storage.repositories import Audience, Broadcasts, ClaimedDelivery, DeliveryOutcome
from storage.repositories.broadcasts import SENT_ROWS_PER_STATEMENT
from tests.broadcasts.kit import people_by_chat, seed_recipients, start_broadcast, statuses

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
    database: Database,
) -> None:
    """Both databases read the claim in the order of the open rows' partial index and stop
    after the batch: no sort of every open row, no walk past the rows already sent (each cost
    0.1-0.6 s a claim at 100,000 rows). On PostgreSQL right after the approval, before
    autovacuum has seen the new rows: the approval refreshes the table's statistics."""
    claimed = await _claimed(database, 5)
    await _record(database, [DeliveryOutcome(row, DeliveryStatus.SENT) for row in claimed])
    await seed_recipients(database, 3000, now=NOW, first_chat=50_000)
    second = await start_broadcast(database, now=NOW)
    async with database.transaction() as session:
        repo = Broadcasts(session)
        query = repo.claim_query("telegram", now=LATER, limit=10, skip_locked=database.is_postgres)
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if database.is_postgres:
            # The statistics the planner reads count the new rows (all of them are read
            # below 30,000); without the approval's ANALYZE they said "empty", and a large
            # broadcast was sorted whole on each claim.
            counted = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'broadcast_delivery'")
            )
            assert counted == 5 + 3005  # the first broadcast, then everyone
            explained = await session.scalar(text(f"EXPLAIN (FORMAT JSON) {compiled}"))
            plan = json.dumps(explained)
            assert '"Index Name": "ix_delivery_open_due"' in plan, plan
            assert '"Node Type": "Sort"' not in plan, plan
        else:
            steps = [
                row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            ]
            assert any("ix_delivery_open_due" in step for step in steps), steps
            assert not any("TEMP B-TREE" in step for step in steps), steps
        rows = [row[0] for row in await session.execute(query)]

    # Oldest due first, then by id (an expired lease takes its place by its due time).
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


async def test_a_claim_skips_who_left_the_topics_or_blocked_the_bot_since_the_snapshot(
    database: Database,
) -> None:
    """Checked per claim against the people's subscriptions and identities now: one still
    following a topic of the broadcast (or every topic) gets it; one who stopped its topic
    (though following another) or blocked the bot is skipped."""
    fair = await seed_recipients(database, 3, now=NOW, topic="hoi_cho")
    everything = await seed_recipients(database, 1, now=NOW, first_chat=20_000)
    broadcast_id = await start_broadcast(database, now=NOW, audience=Audience(topics=("hoi_cho",)))
    left, blocked = fair[1], fair[2]
    async with database.transaction() as session:
        person_of = await people_by_chat(session)
        await session.execute(
            update(Subscription)
            .where(Subscription.person_id == person_of[left])
            .values(active=False, stopped_at=NOW)
        )
        session.add(
            Subscription(
                person_id=person_of[left],
                topic="dao_tao",
                active=True,
                created_at=NOW,
                started_at=NOW,
            )
        )
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.chat_id == blocked)
            .values(blocked_at=NOW)
        )
    async with database.transaction() as session:
        claim = await Broadcasts(session).claim(
            "telegram",
            now=LATER,
            limit=10,
            lease=timedelta(seconds=60),
            hold=timedelta(seconds=600),
            skip_locked=database.is_postgres,
        )
    assert sorted(row.chat_id for row in claim.rows) == sorted([fair[0], everything[0]])
    assert claim.skipped == 2
    now_statuses = await statuses(database, broadcast_id)
    assert now_statuses[left] == now_statuses[blocked] == DeliveryStatus.SKIPPED
