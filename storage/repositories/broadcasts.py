"""Broadcasts and their deliveries: compose, materialise, claim, record, report.

The repository never commits; the caller's transaction does. Sending happens outside any
transaction: rows are claimed (``sending`` with a lease) in one short transaction and their
outcomes recorded in another, so a process that dies in between leaves rows whose lease runs
out and that are sent again (at least once; the duplicates are at most the rows in flight).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, literal, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity
from storage.models.broadcasts import (
    OPEN_DELIVERY_STATUSES,
    Broadcast,
    BroadcastClick,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
    SendPace,
    open_delivery,
)
from storage.models.leads import Consent, ConsentAction, Handoff, HandoffStatus, Lead, Subscription
from storage.repositories.audience import (
    PUSH_CHANNELS,
    Audience,
    count_statement,
    recipients_statement,
)
from storage.repositories.consents import SUBSCRIBE_PREFIX
from storage.repositories.subscriptions import TOPIC_ALL

#: How long after a delivery an unsubscription counts against the broadcast.
UNSUBSCRIBE_WINDOW = timedelta(hours=24)
#: Sent rows written by one statement at most: two parameters a row and the id again.
SENT_ROWS_PER_STATEMENT = 512
#: Placeholders by DB-API parameter style (the position counts from 1).
PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "qmark": lambda _: "?",
    "numeric": lambda n: f":{n}",
    "numeric_dollar": lambda n: f"${n}",
    "format": lambda _: "%s",
    "pyformat": lambda _: "%s",
}


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: int
    identity_id: int
    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A row the sender now holds: who, which broadcast, and the attempts so far."""

    id: int
    broadcast_id: int
    person_id: int
    identity_id: int
    chat_id: str
    attempts: int


@dataclass(slots=True)
class Claim:
    """One claim: rows to send now, and how many were skipped or held meanwhile."""

    rows: list[ClaimedDelivery] = field(default_factory=list)
    skipped: int = 0
    held: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of one claimed row."""

    delivery: ClaimedDelivery
    status: DeliveryStatus
    #: Count this as an attempt (False for a flood-control requeue).
    attempted: bool = True
    error: str = ""
    message_id: str = ""
    retry_at: datetime | None = None
    #: The identity cannot be reached any more (blocked the bot, chat gone).
    unreachable: bool = False
    bad_content: bool = False


@dataclass(slots=True)
class Progress:
    broadcast_id: int
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in OPEN_DELIVERY_STATUSES)

    @property
    def remaining(self) -> int:
        return sum(self.counts.get(status, 0) for status in OPEN_DELIVERY_STATUSES)

    def count(self, status: DeliveryStatus) -> int:
        return self.counts.get(status, 0)


@dataclass(slots=True)
class Report:
    progress: Progress
    unsubscribed_24h: int = 0
    clicks: dict[str, int] = field(default_factory=dict)

    @property
    def total_clicks(self) -> int:
        return sum(self.clicks.values())


class Broadcasts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- compose and control ----------------------------------------------------------------

    async def create(
        self,
        *,
        body: str,
        audience: Audience,
        created_by: str,
        now: datetime,
        title: str = "",
        buttons: Sequence[dict[str, str]] = (),
        attachment_kind: str = "",
        attachment: str = "",
        report_to: str = "",
        scheduled_at: datetime | None = None,
    ) -> Broadcast:
        broadcast = Broadcast(
            title=title,
            body=body,
            buttons=[dict(button) for button in buttons],
            audience=audience.to_dict(),
            attachment_kind=attachment_kind,
            attachment=attachment,
            status=BroadcastStatus.DRAFT,
            created_by=created_by,
            report_to=report_to,
            created_at=now,
            scheduled_at=scheduled_at,
        )
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int, *, lock: bool = False) -> Broadcast | None:
        if not lock:
            return await self.session.get(Broadcast, broadcast_id)
        query = select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def recent(self, *, limit: int = 20) -> list[Broadcast]:
        query = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def count_audience(
        self, audience: Audience, *, now: datetime, channels: Sequence[str] = PUSH_CHANNELS
    ) -> int:
        statement = count_statement(audience, now=now, channels=channels)
        return int((await self.session.execute(statement)).scalar_one())

    async def sample_recipient(
        self, audience: Audience, *, now: datetime, channels: Sequence[str] = PUSH_CHANNELS
    ) -> Recipient | None:
        """A real member of the audience, for the preview."""
        statement = recipients_statement(audience, now=now, channels=channels).limit(1)
        row = (await self.session.execute(statement)).first()
        return Recipient(int(row[0]), int(row[1]), str(row[2]), str(row[3])) if row else None

    async def materialise(
        self,
        broadcast: Broadcast,
        audience: Audience,
        *,
        now: datetime,
        approved_by: str,
        channels: Sequence[str] = PUSH_CHANNELS,
    ) -> int:
        """Snapshot the audience as one pending row per person and start the broadcast.

        One ``INSERT … SELECT`` (a million rows never pass through Python); the unique
        (broadcast, person) pair, with ``ON CONFLICT DO NOTHING``, makes a second call add
        nobody. (A ``NOT EXISTS`` guard instead made PostgreSQL scan the growing table once
        per row: 42 s for 50,000 rows.)
        """
        start = max(broadcast.scheduled_at or now, now)
        recipients = recipients_statement(audience, now=now, channels=channels).subquery()
        source = select(
            literal(broadcast.id),
            recipients.c.person_id,
            recipients.c.identity_id,
            recipients.c.channel,
            recipients.c.chat_id,
            literal(DeliveryStatus.PENDING.value),
            literal(0),
            literal(start, type_=BroadcastDelivery.next_attempt_at.type),
            literal(""),
            literal(""),
            literal(now, type_=BroadcastDelivery.updated_at.type),
        ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
        columns = [
            "broadcast_id",
            "person_id",
            "identity_id",
            "channel",
            "chat_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "message_id",
            "updated_at",
        ]
        dialect = self.session.get_bind().dialect.name
        insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert_into(BroadcastDelivery)
            .from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["broadcast_id", "person_id"])
        )
        await self.session.execute(statement)
        if dialect == "postgresql":
            # The sender's first claims come before autovacuum has looked at the new rows;
            # with the table's old statistics PostgreSQL sorted every open row per claim.
            await self.session.execute(text("ANALYZE broadcast_delivery"))
        total = await self.session.scalar(
            select(func.count())
            .select_from(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast.id)
        )
        broadcast.total = int(total or 0)
        broadcast.status = BroadcastStatus.RUNNING
        broadcast.approved_by, broadcast.approved_at = approved_by, now
        await self.session.flush()
        return broadcast.total

    async def set_status(
        self, broadcast: Broadcast, status: BroadcastStatus, *, now: datetime, reason: str = ""
    ) -> None:
        broadcast.status = status
        broadcast.paused_reason = reason if status is BroadcastStatus.PAUSED else ""
        if status is BroadcastStatus.RUNNING:
            broadcast.content_errors_in_row = 0
        if status in (BroadcastStatus.CANCELLED, BroadcastStatus.DONE):
            broadcast.finished_at = now
        if status is BroadcastStatus.CANCELLED:
            await self.session.execute(
                update(BroadcastDelivery)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast.id,
                    BroadcastDelivery.status == DeliveryStatus.PENDING,
                )
                .values(status=DeliveryStatus.SKIPPED, last_error="cancelled", updated_at=now)
            )
        await self.session.flush()

    async def record_click(
        self, broadcast_id: int, *, person_id: int | None, button: str, now: datetime
    ) -> bool:
        if await self.session.get(Broadcast, broadcast_id) is None:
            return False
        self.session.add(
            BroadcastClick(
                broadcast_id=broadcast_id, person_id=person_id, button=button, created_at=now
            )
        )
        await self.session.flush()
        return True

    # -- progress and report -------------------------------------------------------------

    async def progress(self, broadcast: Broadcast) -> Progress:
        query = (
            select(BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast.id)
            .group_by(BroadcastDelivery.status)
        )
        counts = {str(status): int(n) for status, n in await self.session.execute(query)}
        return Progress(broadcast.id, total=broadcast.total, counts=counts)

    async def report(self, broadcast: Broadcast) -> Report:
        progress = await self.progress(broadcast)
        # Withdrawals after the person's own message, within a day of the last message sent
        # (no date arithmetic in SQL: it differs between SQLite and PostgreSQL).
        last_sent = await self.session.scalar(
            select(func.max(BroadcastDelivery.sent_at)).where(
                BroadcastDelivery.broadcast_id == broadcast.id
            )
        )
        unsubscribed = 0
        if last_sent is not None:
            unsubscribed = (
                await self.session.scalar(
                    select(func.count(func.distinct(BroadcastDelivery.person_id))).where(
                        BroadcastDelivery.broadcast_id == broadcast.id,
                        BroadcastDelivery.status == DeliveryStatus.SENT,
                        select(Consent.id)
                        .where(
                            Consent.person_id == BroadcastDelivery.person_id,
                            Consent.purpose.startswith(SUBSCRIBE_PREFIX),
                            Consent.action == ConsentAction.WITHDRAW,
                            Consent.created_at >= BroadcastDelivery.sent_at,
                            Consent.created_at <= last_sent + UNSUBSCRIBE_WINDOW,
                        )
                        .exists(),
                    )
                )
                or 0
            )
        clicks_query = (
            select(BroadcastClick.button, func.count())
            .where(BroadcastClick.broadcast_id == broadcast.id)
            .group_by(BroadcastClick.button)
        )
        clicks = {str(button): int(n) for button, n in await self.session.execute(clicks_query)}
        return Report(progress, unsubscribed_24h=int(unsubscribed or 0), clicks=clicks)

    # -- the sender's side -----------------------------------------------------------------

    async def claim(
        self,
        channel: str,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        hold: timedelta,
        skip_locked: bool,
    ) -> Claim:
        """Take up to ``limit`` due rows of running broadcasts on ``channel``.

        Rows whose owner unsubscribed or became unreachable since the snapshot are skipped;
        rows whose owner is in an open hand-off with staff wait (``hold``) until it ends.
        """
        query = self.claim_query(channel, now=now, limit=limit, skip_locked=skip_locked)
        rows = [ClaimedDelivery(*row) for row in await self.session.execute(query)]
        claim = Claim()
        if not rows:
            return claim
        gone = await self._unsubscribed_or_unreachable(rows)
        busy = await self._in_handoff(rows)
        keep: list[ClaimedDelivery] = []
        skipped_ids: list[int] = []
        held_ids: list[int] = []
        for row in rows:
            if row.id in gone:
                skipped_ids.append(row.id)
            elif row.person_id in busy:
                held_ids.append(row.id)
            else:
                keep.append(row)
        if skipped_ids:
            await self.session.execute(
                update(BroadcastDelivery)
                .where(BroadcastDelivery.id.in_(skipped_ids))
                .values(status=DeliveryStatus.SKIPPED, last_error="unsubscribed", updated_at=now)
            )
        if held_ids:
            await self.session.execute(
                update(BroadcastDelivery)
                .where(BroadcastDelivery.id.in_(held_ids))
                .values(status=DeliveryStatus.PENDING, next_attempt_at=now + hold, updated_at=now)
            )
        if keep:
            await self.session.execute(
                update(BroadcastDelivery)
                .where(BroadcastDelivery.id.in_([row.id for row in keep]))
                .values(status=DeliveryStatus.SENDING, next_attempt_at=now + lease, updated_at=now)
            )
        claim.rows, claim.skipped, claim.held = keep, len(skipped_ids), len(held_ids)
        return claim

    def claim_query(
        self, channel: str, *, now: datetime, limit: int, skip_locked: bool
    ) -> Select[int, int, int, int, str, int]:
        """Due rows of running broadcasts, oldest due first, read in the order of the partial
        index of open rows (``ix_delivery_open_due``) and stopped after ``limit``.

        The statuses are literals so that both databases see the index's own condition.
        Ordered by the primary key, PostgreSQL walked past every row already sent on each
        claim (0.1-0.6 s a claim late in a 100,000-row broadcast); SQLite sorted.
        """
        query = (
            select(
                BroadcastDelivery.id,
                BroadcastDelivery.broadcast_id,
                BroadcastDelivery.person_id,
                BroadcastDelivery.identity_id,
                BroadcastDelivery.chat_id,
                BroadcastDelivery.attempts,
            )
            .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .where(
                BroadcastDelivery.channel == channel,
                open_delivery(BroadcastDelivery.status),
                BroadcastDelivery.next_attempt_at <= now,
                Broadcast.status == BroadcastStatus.RUNNING,
            )
            .order_by(BroadcastDelivery.next_attempt_at, BroadcastDelivery.id)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True, of=BroadcastDelivery)
        return query

    async def _unsubscribed_or_unreachable(self, rows: Sequence[ClaimedDelivery]) -> set[int]:
        """Delivery ids whose owner stopped the broadcast's topics or blocked the bot.

        Two lookups by key (the identities, the people's subscriptions), matched here: a join
        from the delivery table filtered by a list of ids made PostgreSQL test every row of
        the broadcast against the list, 0.3-0.5 s a claim at 100,000 rows.
        """
        blocked = set(
            (
                await self.session.execute(
                    select(ChannelIdentity.id).where(
                        ChannelIdentity.id.in_({row.identity_id for row in rows}),
                        ChannelIdentity.blocked_at.is_not(None),
                    )
                )
            ).scalars()
        )
        topics_of: dict[int, set[str]] = {}
        for person_id, topic in await self.session.execute(
            select(Subscription.person_id, Subscription.topic).where(
                Subscription.person_id.in_({row.person_id for row in rows}),
                Subscription.active.is_(True),
            )
        ):
            topics_of.setdefault(int(person_id), set()).add(str(topic))
        wanted = {
            broadcast_id: set(Audience.from_dict(audience).topics)
            for broadcast_id, audience in await self.session.execute(
                select(Broadcast.id, Broadcast.audience).where(
                    Broadcast.id.in_({row.broadcast_id for row in rows})
                )
            )
        }
        gone: set[int] = set()
        for row in rows:
            topics = topics_of.get(row.person_id, set())
            audience_topics = wanted.get(row.broadcast_id, set())
            subscribed = bool(topics) and (
                not audience_topics or TOPIC_ALL in topics or bool(topics & audience_topics)
            )
            if row.identity_id in blocked or not subscribed:
                gone.add(row.id)
        return gone

    async def _in_handoff(self, rows: Sequence[ClaimedDelivery]) -> set[int]:
        query = select(Handoff.person_id).where(
            Handoff.person_id.in_({row.person_id for row in rows}),
            Handoff.status == HandoffStatus.OPEN,
        )
        return set((await self.session.execute(query)).scalars())

    async def recipient_details(self, person_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """(name, ward) per person from their latest lead, for filling the template."""
        query = (
            select(Lead.person_id, Lead.full_name, Lead.commune_name)
            .where(Lead.person_id.in_(set(person_ids)), Lead.anonymised_at.is_(None))
            .order_by(Lead.person_id, Lead.id)
        )
        details: dict[int, tuple[str, str]] = {}
        for person_id, name, ward in await self.session.execute(query):
            if person_id is not None:
                details[int(person_id)] = (str(name), str(ward))  # the latest lead wins
        return details

    async def bodies(self, broadcast_ids: Iterable[int]) -> dict[int, Broadcast]:
        query = select(Broadcast).where(Broadcast.id.in_(set(broadcast_ids)))
        return {row.id: row for row in (await self.session.execute(query)).scalars()}

    async def record(
        self, outcomes: Sequence[DeliveryOutcome], *, now: datetime, content_error_limit: int
    ) -> list[int]:
        """Write the outcomes; returns the broadcasts paused by a run of content errors.

        Sent rows, nearly all of them, go in one statement whatever their number (only the
        message id differs between them: a ``CASE`` picks it); the rest, rare and each
        different, row by row.
        """
        if not outcomes:
            return []
        sent: list[DeliveryOutcome] = []
        rows: list[dict[str, Any]] = []
        unreachable: set[int] = set()
        sent_by_broadcast: dict[int, int] = {}
        bad_by_broadcast: dict[int, int] = {}
        for outcome in outcomes:
            delivery = outcome.delivery
            if outcome.status is DeliveryStatus.SENT and outcome.attempted and not outcome.error:
                sent.append(outcome)
                sent_by_broadcast[delivery.broadcast_id] = (
                    sent_by_broadcast.get(delivery.broadcast_id, 0) + 1
                )
                continue
            values: dict[str, Any] = {
                "id": delivery.id,
                "status": outcome.status.value,
                "attempts": delivery.attempts + (1 if outcome.attempted else 0),
                "updated_at": now,
                "next_attempt_at": outcome.retry_at or now,
            }
            if outcome.error:
                values["last_error"] = outcome.error[:200]
            if outcome.status is DeliveryStatus.SENT:
                values["sent_at"], values["message_id"] = now, outcome.message_id
                sent_by_broadcast[delivery.broadcast_id] = (
                    sent_by_broadcast.get(delivery.broadcast_id, 0) + 1
                )
            if outcome.unreachable:
                unreachable.add(delivery.identity_id)
            if outcome.bad_content:
                bad_by_broadcast[delivery.broadcast_id] = (
                    bad_by_broadcast.get(delivery.broadcast_id, 0) + 1
                )
            rows.append(values)
        if sent:
            await self._record_sent(sent, now=now)
        if rows:
            await self.session.execute(update(BroadcastDelivery), rows)
        if unreachable:
            await self.session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.id.in_(unreachable), ChannelIdentity.blocked_at.is_(None))
                .values(blocked_at=now)
            )
        return await self._count_content_errors(
            sent_by_broadcast, bad_by_broadcast, now=now, limit=content_error_limit
        )

    async def _record_sent(self, outcomes: Sequence[DeliveryOutcome], *, now: datetime) -> None:
        """Sent rows in one statement a chunk: ``UPDATE … SET message_id = CASE id WHEN …``.

        Written in SQL text: built by SQLAlchemy, each ``WHEN`` cost about 40 µs to
        construct, and row by row (``executemany``) binding three timestamps a row cost
        more than the database's own work. The shared values are bound once; the attempts
        are counted from the claimed value, as for any other outcome. A chunk is padded to
        a power of two (repeating its last row) so the database sees few distinct
        statements and reuses their prepared plans.
        """
        connection = await self.session.connection()
        dialect = connection.dialect
        table = BroadcastDelivery.__table__
        moment = _bind_value(table.c.updated_at.type, now, dialect)
        for start in range(0, len(outcomes), SENT_ROWS_PER_STATEMENT):
            chunk = list(outcomes[start : start + SENT_ROWS_PER_STATEMENT])
            chunk.extend(chunk[-1:] * (_padded(len(chunk)) - len(chunk)))
            statement, parameters = _sent_statement(chunk, moment, dialect.paramstyle)
            await connection.exec_driver_sql(statement, tuple(parameters))

    async def _count_content_errors(
        self, sent: dict[int, int], bad: dict[int, int], *, now: datetime, limit: int
    ) -> list[int]:
        paused: list[int] = []
        for broadcast_id in sorted(set(sent) | set(bad)):
            broadcast = await self.get(broadcast_id)
            if broadcast is None:
                continue
            if bad.get(broadcast_id):
                base = 0 if sent.get(broadcast_id) else broadcast.content_errors_in_row
                broadcast.content_errors_in_row = base + bad[broadcast_id]
            else:
                broadcast.content_errors_in_row = 0
            if (
                broadcast.content_errors_in_row >= limit
                and broadcast.status == BroadcastStatus.RUNNING
            ):
                await self.set_status(
                    broadcast, BroadcastStatus.PAUSED, now=now, reason="content_errors"
                )
                paused.append(broadcast_id)
        await self.session.flush()
        return paused

    async def finish_complete(self, broadcast_ids: Iterable[int], *, now: datetime) -> list[int]:
        """Mark done every running broadcast with no open row left; the ids this call
        finished (a conditional update: one worker alone reports each)."""
        finished: list[int] = []
        for broadcast_id in sorted(set(broadcast_ids)):
            still_open = (
                select(BroadcastDelivery.id)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status.in_(OPEN_DELIVERY_STATUSES),
                )
                .exists()
            )
            result = await self.session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == broadcast_id,
                    Broadcast.status == BroadcastStatus.RUNNING,
                    ~still_open,
                )
                .values(status=BroadcastStatus.DONE, finished_at=now)
            )
            if getattr(result, "rowcount", 0):
                finished.append(broadcast_id)
        return finished

    async def running_ids(self, channel: str) -> list[int]:
        query = (
            select(Broadcast.id)
            .where(Broadcast.status == BroadcastStatus.RUNNING)
            .where(
                select(BroadcastDelivery.id)
                .where(
                    BroadcastDelivery.broadcast_id == Broadcast.id,
                    BroadcastDelivery.channel == channel,
                )
                .exists()
            )
        )
        return list((await self.session.execute(query)).scalars())

    async def next_due(self, channel: str) -> datetime | None:
        query = (
            select(func.min(BroadcastDelivery.next_attempt_at))
            .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .where(
                BroadcastDelivery.channel == channel,
                BroadcastDelivery.status.in_(OPEN_DELIVERY_STATUSES),
                Broadcast.status == BroadcastStatus.RUNNING,
            )
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    # -- the shared pace --------------------------------------------------------------------

    async def reserve(
        self, channel: str, count: int, *, interval: timedelta, now: datetime
    ) -> tuple[datetime, datetime | None]:
        """Reserve ``count`` send slots ``interval`` apart; returns the first slot and the
        pause in force (a flood-control stop for every worker), if any.

        The row is locked for the update, so workers in other processes queue behind each
        other here and never hand out the same slot twice.
        """
        query = select(SendPace).where(SendPace.channel == channel).with_for_update()
        pace = (await self.session.execute(query)).scalar_one_or_none()
        if pace is None:
            pace = SendPace(channel=channel, next_slot_at=now)
            self.session.add(pace)
        if pace.paused_until is not None and pace.paused_until > now:
            return pace.paused_until, pace.paused_until
        start = max(pace.next_slot_at, now)
        pace.next_slot_at = start + interval * count
        await self.session.flush()
        return start, None

    async def pause_pace(self, channel: str, *, until: datetime, now: datetime) -> None:
        """Stop every worker of ``channel`` until ``until`` (a 429's ``retry_after``)."""
        query = select(SendPace).where(SendPace.channel == channel).with_for_update()
        pace = (await self.session.execute(query)).scalar_one_or_none()
        if pace is None:
            pace = SendPace(channel=channel, next_slot_at=now)
            self.session.add(pace)
        if pace.paused_until is None or pace.paused_until < until:
            pace.paused_until = until
        pace.next_slot_at = max(pace.next_slot_at, until)
        await self.session.flush()

    async def release_unsent(self, ids: Sequence[int], *, now: datetime) -> None:
        """Rows claimed but never sent (a pause stopped the batch) go back to pending."""
        if ids:
            await self.session.execute(
                update(BroadcastDelivery)
                .where(
                    BroadcastDelivery.id.in_(list(ids)),
                    BroadcastDelivery.status == DeliveryStatus.SENDING,
                )
                .values(status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now)
            )


def _padded(count: int) -> int:
    """The next power of two from ``count``."""
    return 1 << max(count - 1, 0).bit_length()


def _bind_value(type_: Any, value: Any, dialect: Dialect) -> Any:
    """``value`` as SQLAlchemy would bind it for a column of ``type_`` (UTC, SQLite text)."""
    processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor is not None else value


def _sent_statement(
    chunk: Sequence[DeliveryOutcome], moment: Any, paramstyle: str
) -> tuple[str, list[Any]]:
    """The SQL and positional parameters marking ``chunk`` sent at ``moment``.

    Parameters are bound in the order they appear in the text (``?`` is positional).
    """
    placeholder = PLACEHOLDERS[paramstyle]
    parameters: list[Any] = []

    def bind(value: Any) -> str:
        parameters.append(value)
        return placeholder(len(parameters))

    status = bind(DeliveryStatus.SENT.value)
    attempts = {outcome.delivery.attempts + 1 for outcome in chunk}
    if len(attempts) == 1:
        attempts_sql = bind(attempts.pop())
    else:
        whens = " ".join(
            f"WHEN {bind(o.delivery.id)} THEN {bind(o.delivery.attempts + 1)}" for o in chunk
        )
        attempts_sql = f"CASE id {whens} ELSE attempts END"
    message_ids = " ".join(f"WHEN {bind(o.delivery.id)} THEN {bind(o.message_id)}" for o in chunk)
    sent_at, updated_at, due = bind(moment), bind(moment), bind(moment)
    ids = ", ".join(bind(o.delivery.id) for o in chunk)
    statement = (
        f"UPDATE {BroadcastDelivery.__tablename__} SET status = {status},"
        f" attempts = {attempts_sql}, message_id = CASE id {message_ids} ELSE message_id END,"
        f" sent_at = {sent_at}, updated_at = {updated_at}, next_attempt_at = {due}"
        f" WHERE id IN ({ids})"
    )
    return statement, parameters
