"""Messages about a broadcast for its author or the staff chats: progress, pause, report.

They go through the outbox, written in the same transaction as the state they describe,
so a report is sent once the broadcast is really done, and never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from math import ceil

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import OutboundMessage, message_to_dict
from bot.core.texts import Texts
from storage.models import OutboxMessage
from storage.models.broadcasts import Broadcast, BroadcastStatus
from storage.repositories import Broadcasts, Progress

TOPIC_PREFIX = "broadcast:"
PERCENT = 100
QUARTERS = 4
SECONDS_PER_MINUTE = 60


def report_targets(
    broadcast: Broadcast, staff_targets: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Where news of ``broadcast`` goes: the chat it was composed in, else the staff chats."""
    channel, sep, chat = broadcast.report_to.partition(":")
    if sep and channel and chat:
        return [(channel, chat)]
    return list(staff_targets)


def queue(
    session: AsyncSession,
    targets: Sequence[tuple[str, str]],
    message: OutboundMessage,
    *,
    now: datetime,
    broadcast_id: int,
) -> None:
    for channel, chat_id in targets:
        session.add(
            OutboxMessage(
                channel=channel,
                chat_id=chat_id,
                payload=message_to_dict(message),
                topic=f"{TOPIC_PREFIX}{broadcast_id}",
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def eta_minutes(progress: Progress, rate_per_second: float) -> int | None:
    if not progress.remaining or rate_per_second <= 0:
        return None
    return ceil(progress.remaining / rate_per_second / SECONDS_PER_MINUTE)


def percent(progress: Progress) -> int:
    return PERCENT * progress.done // progress.total if progress.total else PERCENT


def progress_message(
    texts: Texts,
    broadcast: Broadcast,
    progress: Progress,
    *,
    rate_per_second: float,
    quiet_until: datetime | None = None,
    zone: tzinfo | None = None,
) -> OutboundMessage:
    quiet = quiet_until.astimezone(zone).strftime("%H:%M") if quiet_until and zone else ""
    running = broadcast.status == BroadcastStatus.RUNNING
    text = texts.render(
        "broadcasts/progress",
        id=broadcast.id,
        status=texts.label(f"broadcasts.status.{broadcast.status}"),
        percent=percent(progress),
        done=progress.done,
        total=progress.total,
        eta_minutes=eta_minutes(progress, rate_per_second) if running else None,
        quiet=quiet,
    )
    return OutboundMessage(text=text)


async def report_message(texts: Texts, repo: Broadcasts, broadcast: Broadcast) -> OutboundMessage:
    report = await repo.report(broadcast)
    text = texts.render("broadcasts/report", id=broadcast.id, title=broadcast.title, report=report)
    return OutboundMessage(text=text)


def paused_message(texts: Texts, broadcast: Broadcast, *, error: str) -> OutboundMessage:
    text = texts.render(
        "broadcasts/paused_content",
        id=broadcast.id,
        errors=broadcast.content_errors_in_row,
        error=error,
    )
    return OutboundMessage(text=text)


def next_quarter(progress: Progress, reported: int) -> int | None:
    """The quarter (1-3) newly passed since ``reported``, if any (4 is the final report)."""
    quarter = QUARTERS * progress.done // progress.total if progress.total else 0
    return quarter if reported < quarter < QUARTERS else None
