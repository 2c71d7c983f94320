"""The broadcast sender: one per channel, at the platform's pace, resumable after a crash.

A round claims a small batch of due rows (``sending`` with a lease; on PostgreSQL with
``FOR UPDATE SKIP LOCKED`` so several workers share the table), reserves as many send slots
from the channel's shared pace row (so the workers *together* stay under the limit), sends
each message at its slot, and writes the outcomes every ``flush_seconds``:

* sent → the platform's message id; blocked / chat not found → the identity is marked
  unreachable and never tried again;
* 429 → every worker of the channel pauses for ``retry_after`` (the pace row carries the
  pause) and the row goes back to pending without counting an attempt;
* network errors and 5xx → doubling backoff, then failed after ``max_attempts``;
* content errors (bad HTML, file too big) → failed; a run of them pauses the broadcast and
  tells its author.

Quiet hours hold every send. A process killed mid-batch leaves its rows ``sending``; when
their lease runs out another round sends them again: at least once, and the duplicates are at
most the rows that were in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil

from bot.broadcasts.compose import BroadcastTemplateError, Button, Composer
from bot.broadcasts.notices import (
    next_quarter,
    paused_message,
    progress_message,
    queue,
    report_message,
    report_targets,
)
from bot.broadcasts.policy import SendPolicy
from bot.broadcasts.transport import Attachment, BroadcastTransport
from bot.core.clock import Clock
from bot.core.delivery import SendResult, SendStatus
from bot.core.texts import Texts
from storage import Database
from storage.models.broadcasts import Broadcast, BroadcastStatus, DeliveryStatus
from storage.repositories import Broadcasts, ClaimedDelivery, DeliveryOutcome

log = logging.getLogger(__name__)

#: How often a sender looks whether a running broadcast passed a quarter (staff chat news).
PROGRESS_CHECK_SECONDS = 15.0
#: Outcomes written in one transaction at most.
FLUSH_ROWS = 200
#: A send may leave this late after its slot; a row that missed its slot by more waits for
#: the next round rather than bunch up with the next slots (which would exceed the limit
#: over a sliding second: at most rate x (1 + late) sends in any second).
LATE_SECONDS = 0.03
#: The first slot of a batch starts this far ahead: the claim's commit takes a moment.
LEAD_SECONDS = 0.02
#: The next batch is claimed this long before the current one's last slot.
PREFETCH_SECONDS = 0.25
#: After a 429 the pace drops to the policy's ``slowdown`` share (not below the minimum),
#: and comes back by a step after each calm period.
MIN_PACE_FACTOR = 0.7
RECOVERY_SECONDS = 30.0
RECOVERY_STEP = 0.05


@dataclass(slots=True)
class _Batch:
    """Claimed rows with their first send slot, or how long to wait when there are none."""

    rows: Sequence[ClaimedDelivery] = ()
    start: datetime | None = None
    broadcasts: Mapping[int, Broadcast] = field(default_factory=dict)
    details: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    wait: float = 0.0


@dataclass(slots=True)
class SenderStats:
    """Counters of this process's sender, for logs, tests and the benchmark."""

    sent: int = 0
    flood_errors: int = 0
    failed: int = 0
    rounds: int = 0


def _is_group(chat_id: str) -> bool:
    return chat_id.startswith("-")


class BroadcastSender:
    """Sends the broadcasts of one channel. ``run`` until ``stop``; ``run_once`` in tests."""

    def __init__(
        self,
        database: Database,
        transport: BroadcastTransport,
        *,
        clock: Clock,
        policy: SendPolicy,
        texts: Texts,
        staff_targets: Sequence[tuple[str, str]] = (),
        wake: asyncio.Event | None = None,
    ) -> None:
        self._database = database
        self._transport = transport
        self._clock = clock
        self._policy = policy
        self._texts = texts
        self._staff_targets = list(staff_targets)
        self._composer = Composer(texts)
        self._wake = wake or asyncio.Event()
        self._stopping = asyncio.Event()
        self._results: list[DeliveryOutcome] = []
        self._flood_until: datetime | None = None
        self._last_errors: dict[int, str] = {}
        self._group_sends: dict[str, datetime] = {}
        self._progress_checked: datetime | None = None
        self._prefetch: asyncio.Task[_Batch] | None = None
        self._slowdown = 1.0
        self._last_flood: datetime | None = None
        self._running = False
        #: Broadcasts this sender paused for content errors: their claimed rows stay unsent.
        self._halted: set[int] = set()
        self.stats = SenderStats()

    @property
    def channel(self) -> str:
        return self._transport.name

    @property
    def policy(self) -> SendPolicy:
        return self._policy

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        self._running = True  # claim ahead while sending (a lone ``run_once`` never does)
        try:
            while not self._stopping.is_set():
                try:
                    wait = await self.run_once()
                except Exception:
                    log.exception("broadcast round failed", extra={"channel": self.channel})
                    wait = self._policy.poll_seconds
                if wait > 0 and not self._stopping.is_set():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=wait)
        finally:
            await self._drop_prefetch()

    async def run_once(self) -> float:
        """Claim and send one batch; returns the seconds to wait before the next round."""
        self.stats.rounds += 1
        now = self._clock.now()
        quiet = self._policy.quiet_until(now)
        if quiet is not None:
            await self._drop_prefetch()
            return min((quiet - now).total_seconds(), self._policy.poll_seconds)
        if self._flood_until is not None:
            if self._flood_until > now:
                await self._drop_prefetch()
                return (self._flood_until - now).total_seconds()
            self._flood_until = None
        await self._report_progress(now)
        prefetched, self._prefetch = self._prefetch, None
        batch = await prefetched if prefetched is not None else await self._claim()
        if batch.rows:
            await self._send_batch(batch)
        return batch.wait

    async def _claim(self) -> _Batch:
        """Claim due rows and reserve their send slots, in one short transaction."""
        now = self._clock.now()
        async with self._database.transaction() as session:
            repo = Broadcasts(session)
            claim = await repo.claim(
                self.channel,
                now=now,
                limit=self._policy.batch_size,
                lease=timedelta(seconds=self._policy.lease_seconds),
                hold=timedelta(seconds=self._policy.hold_seconds),
                skip_locked=self._database.is_postgres,
            )
            rows = claim.rows
            if not rows:
                await self._finish(repo, now)
                due = await repo.next_due(self.channel)
                wait = self._policy.poll_seconds
                if due is not None:
                    wait = min(wait, max((due - now).total_seconds(), 0.0))
                return _Batch(wait=0.0 if claim.skipped or claim.held else max(wait, 0.05))
            broadcasts = await repo.bodies({row.broadcast_id for row in rows})
            self._halted -= set(broadcasts)  # claimed again: running again (staff resumed it)
            details = await repo.recipient_details({row.person_id for row in rows})
            start, paused = await repo.reserve(
                self.channel,
                len(rows),
                interval=self._interval(),
                now=self._clock.now() + timedelta(seconds=LEAD_SECONDS),
            )
            if paused is not None:
                await repo.release_unsent([row.id for row in rows], now=paused)
                self._flood_until = paused
                return _Batch(wait=(paused - now).total_seconds())
        return _Batch(rows, start, broadcasts, details)

    async def _drop_prefetch(self) -> None:
        """Give back a batch claimed ahead that will not be sent now (pause, quiet, stop)."""
        prefetched, self._prefetch = self._prefetch, None
        if prefetched is None:
            return
        batch = await prefetched
        if batch.rows:
            async with self._database.transaction() as session:
                await Broadcasts(session).release_unsent(
                    [row.id for row in batch.rows], now=self._flood_until or self._clock.now()
                )

    def _interval(self) -> timedelta:
        """The gap between two sends: the policy's, stretched for a while after a 429."""
        now = self._clock.now()
        if self._slowdown < 1.0 and self._last_flood is not None:
            calm = (now - self._last_flood).total_seconds()
            if calm >= RECOVERY_SECONDS:
                self._slowdown = min(1.0, self._slowdown + RECOVERY_STEP)
                self._last_flood = now
        return self._policy.interval / self._slowdown

    async def _send_batch(self, batch: _Batch) -> None:
        rows, start, broadcasts, details = batch.rows, batch.start, batch.broadcasts, batch.details
        assert start is not None
        ahead = max(1, ceil(self._policy.rate_per_second * PREFETCH_SECONDS))
        prefetch_at = max(len(rows) - ahead, 0) if self._running else -1
        semaphore = asyncio.Semaphore(self._policy.concurrency)
        tasks: list[asyncio.Task[None]] = []
        unsent: list[ClaimedDelivery] = []
        last_flush = self._clock.now()
        interval = self._interval()
        try:
            for index, row in enumerate(rows):
                if index == prefetch_at and self._prefetch is None:
                    # Claim the next batch while this one's last slots go out, so the pace
                    # never stops for a claim.
                    self._prefetch = asyncio.create_task(self._claim())
                if self._flood_until is not None:
                    unsent.extend(rows[index:])
                    break
                if row.broadcast_id in self._halted:  # paused by its content errors
                    unsent.append(row)
                    continue
                delay = (start + interval * index - self._clock.now()).total_seconds()
                if delay < -LATE_SECONDS:
                    unsent.append(row)  # its slot is gone; the next round takes it
                    continue
                if delay > 0:
                    await asyncio.sleep(delay)
                await semaphore.acquire()
                task = asyncio.create_task(
                    self._send_one(row, broadcasts[row.broadcast_id], details, semaphore)
                )
                tasks.append(task)
                moment = self._clock.now()
                flush_due = (moment - last_flush).total_seconds() >= self._policy.flush_seconds
                if self._results and (flush_due or len(self._results) >= FLUSH_ROWS):
                    await self._flush()
                    last_flush = moment
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            await self._flush(unsent=unsent)

    async def _send_one(
        self,
        row: ClaimedDelivery,
        broadcast: Broadcast,
        details: Mapping[int, tuple[str, str]],
        semaphore: asyncio.Semaphore,
    ) -> None:
        try:
            outcome = await self._deliver(row, broadcast, details.get(row.person_id, ("", "")))
        except Exception as exc:  # never lose the row: retry it like a network error
            log.exception("broadcast send failed", extra={"delivery": row.id})
            outcome = self._transient(row, type(exc).__name__, self._clock.now())
        finally:
            semaphore.release()
        self._results.append(outcome)

    async def _deliver(
        self, row: ClaimedDelivery, broadcast: Broadcast, detail: tuple[str, str]
    ) -> DeliveryOutcome:
        now = self._clock.now()
        if _is_group(row.chat_id):
            last = self._group_sends.get(row.chat_id)
            gap = timedelta(seconds=self._policy.group_interval_seconds)
            if last is not None and now - last < gap:
                return DeliveryOutcome(
                    row, DeliveryStatus.PENDING, attempted=False, retry_at=last + gap
                )
            self._group_sends[row.chat_id] = now
        try:
            message = self._composer.message(
                broadcast.id,
                broadcast.body,
                [Button.from_dict(button) for button in broadcast.buttons],
                name=detail[0],
                ward=detail[1],
            )
        except BroadcastTemplateError as exc:
            return self._content_error(row, f"template: {exc}")
        attachment = (
            Attachment(broadcast.attachment_kind, broadcast.attachment)
            if broadcast.attachment_kind and broadcast.attachment
            else None
        )
        result = await self._transport.send(row.chat_id, message, attachment=attachment)
        return self._outcome(row, result, self._clock.now())

    def _outcome(self, row: ClaimedDelivery, result: SendResult, now: datetime) -> DeliveryOutcome:
        status = result.status
        if status is SendStatus.SENT:
            self.stats.sent += 1
            message_id = result.message_ids[0] if result.message_ids else ""
            return DeliveryOutcome(row, DeliveryStatus.SENT, message_id=message_id)
        if status is SendStatus.BLOCKED:
            return DeliveryOutcome(
                row, DeliveryStatus.BLOCKED, error=result.detail, unreachable=True
            )
        if status is SendStatus.NOT_FOUND:
            return DeliveryOutcome(
                row, DeliveryStatus.NOT_FOUND, error=result.detail, unreachable=True
            )
        if status is SendStatus.RETRY_AFTER:
            self.stats.flood_errors += 1
            # Slow down a little for a while: a 429 at this pace means the platform (or the
            # network's jitter) wants less; the pace comes back step by step. Once per pause:
            # the sends in flight when the first 429 came get theirs too, and counting each
            # took the pace to its floor after one stall (0.95 → 0.7 of the paid limit).
            if self._flood_until is None or now >= self._flood_until:
                self._slowdown = max(MIN_PACE_FACTOR, self._slowdown * self._policy.slowdown)
            self._last_flood = now
            until = now + timedelta(seconds=max(result.retry_after, 1.0))
            if self._flood_until is None or until > self._flood_until:
                self._flood_until = until
            log.warning("flood control: pausing broadcasts", extra={"seconds": result.retry_after})
            return DeliveryOutcome(
                row,
                DeliveryStatus.PENDING,
                attempted=False,
                error="429",
                retry_at=self._flood_until,
            )
        if status is SendStatus.BAD_CONTENT:
            return self._content_error(row, result.detail)
        if status.value == DeliveryStatus.UNREACHABLE:  # Zalo's window (SendStatus on i12)
            return DeliveryOutcome(row, DeliveryStatus.UNREACHABLE, error=result.detail)
        return self._transient(row, result.detail, now)

    def _content_error(self, row: ClaimedDelivery, error: str) -> DeliveryOutcome:
        self.stats.failed += 1
        self._last_errors[row.broadcast_id] = error
        return DeliveryOutcome(row, DeliveryStatus.FAILED, error=error, bad_content=True)

    def _transient(self, row: ClaimedDelivery, error: str, now: datetime) -> DeliveryOutcome:
        attempts = row.attempts + 1
        if attempts >= self._policy.max_attempts:
            self.stats.failed += 1
            return DeliveryOutcome(row, DeliveryStatus.FAILED, error=error)
        retry_at = now + self._policy.backoff(attempts)
        return DeliveryOutcome(row, DeliveryStatus.PENDING, error=error, retry_at=retry_at)

    async def _flush(self, *, unsent: Sequence[ClaimedDelivery] = ()) -> None:
        outcomes, self._results = self._results, []
        flood = self._flood_until
        if not outcomes and not unsent:
            return
        now = self._clock.now()
        async with self._database.transaction() as session:
            repo = Broadcasts(session)
            paused = await repo.record(
                outcomes, now=now, content_error_limit=self._policy.content_error_limit
            )
            if unsent:
                await repo.release_unsent([row.id for row in unsent], now=flood or now)
            if flood is not None and flood > now:
                await repo.pause_pace(self.channel, until=flood, now=now)
            self._halted.update(paused)
            for broadcast_id in paused:
                broadcast = await repo.get(broadcast_id)
                if broadcast is not None:
                    message = paused_message(
                        self._texts, broadcast, error=self._last_errors.get(broadcast_id, "")
                    )
                    targets = report_targets(broadcast, self._staff_targets)
                    queue(session, targets, message, now=now, broadcast_id=broadcast_id)

    async def _finish(self, repo: Broadcasts, now: datetime) -> None:
        """Mark finished broadcasts done and queue their reports (one worker does each)."""
        finished = await repo.finish_complete(await repo.running_ids(self.channel), now=now)
        for broadcast_id in finished:
            broadcast = await repo.get(broadcast_id)
            if broadcast is None:
                continue
            await repo.session.refresh(broadcast)
            message = await report_message(self._texts, repo, broadcast)
            targets = report_targets(broadcast, self._staff_targets)
            queue(repo.session, targets, message, now=now, broadcast_id=broadcast_id)
            log.info("broadcast done", extra={"broadcast": broadcast_id})

    async def _report_progress(self, now: datetime) -> None:
        """Every quarter of a running broadcast is announced once in its staff chat."""
        checked = self._progress_checked
        if checked is not None and (now - checked).total_seconds() < PROGRESS_CHECK_SECONDS:
            return
        self._progress_checked = now
        async with self._database.transaction() as session:
            repo = Broadcasts(session)
            for broadcast_id in await repo.running_ids(self.channel):
                broadcast = await repo.get(broadcast_id, lock=self._database.is_postgres)
                if broadcast is None or broadcast.status != BroadcastStatus.RUNNING:
                    continue
                progress = await repo.progress(broadcast)
                quarter = next_quarter(progress, broadcast.progress_reported)
                if quarter is None:
                    continue
                broadcast.progress_reported = quarter
                message = progress_message(
                    self._texts,
                    broadcast,
                    progress,
                    rate_per_second=self._policy.rate_per_second,
                )
                targets = report_targets(broadcast, self._staff_targets)
                queue(session, targets, message, now=now, broadcast_id=broadcast_id)
