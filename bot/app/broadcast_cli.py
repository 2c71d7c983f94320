"""``khuyencong broadcast``: compose, count, send, follow and run broadcasts from a shell.

``run`` is the sender alone (kill it any time: rows in flight are sent again after their
lease; run several on PostgreSQL). The other actions change one broadcast and print one line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.broadcasts.compose import BUTTON_CHOICES, Button
from bot.broadcasts.control import BroadcastControl, Draft, Outcome, Result
from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.content import Content
from storage import Database, upgrade
from storage.repositories import Audience

EXIT_OK = 0
EXIT_PROBLEMS = 1
ACTOR = "cli"
ACTIONS = ("send", "approve", "pause", "resume", "cancel", "status")


def add_parser(commands: Any) -> None:
    """Add ``broadcast`` to the ``khuyencong`` command (``commands`` is its subparsers)."""
    parser = commands.add_parser(
        "broadcast", help="staff announcements", description="Compose, send and follow broadcasts."
    )
    actions = parser.add_subparsers(dest="broadcast_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run the broadcast senders (no web app, no chat)")
    run.add_argument("--until-idle", action="store_true", help="exit when nothing is left")
    for name in ("create", "count"):
        sub = actions.add_parser(name, help=f"{name} a broadcast / its audience")
        _audience_arguments(sub)
        if name == "create":
            sub.add_argument("--text", required=True, help="text; {{ name }} and {{ ward }}")
            sub.add_argument("--title", default="")
            sub.add_argument(
                "--button",
                action="append",
                default=[],
                help=f"{'|'.join(BUTTON_CHOICES)}[:programme id]",
            )
            sub.add_argument("--photo", default="", help="photo URL or file id")
            sub.add_argument("--document", default="", help="PDF URL or file id")
            sub.add_argument("--at", default="", help="schedule: YYYY-MM-DDTHH:MM (Center time)")
            sub.add_argument("--send", action="store_true", help="send (or submit) at once")
    actions.add_parser("list", help="recent broadcasts")
    for name in ACTIONS:
        sub = actions.add_parser(name, help=f"{name} one broadcast")
        sub.add_argument("id", type=int)
        sub.add_argument("--as", dest="actor", default=ACTOR, help="who acts (for approval)")


def _audience_arguments(parser: argparse.ArgumentParser) -> None:
    for name in ("topic", "commune", "province", "programme", "status", "verdict", "channel"):
        parser.add_argument(f"--{name}", action="append", default=[])
    parser.add_argument("--active-days", type=int, default=None)
    parser.add_argument("--inactive-days", type=int, default=None)


def _audience(args: argparse.Namespace) -> Audience:
    return Audience(
        topics=tuple(args.topic),
        communes=tuple(args.commune),
        provinces=tuple(args.province),
        programmes=tuple(args.programme),
        lead_statuses=tuple(args.status),
        verdicts=tuple(args.verdict),
        channels=tuple(args.channel),
        active_within_days=args.active_days,
        inactive_for_days=args.inactive_days,
    )


def run(args: argparse.Namespace, settings: Settings, *, clock: Clock) -> int:
    if args.broadcast_command == "run":
        return asyncio.run(_run_senders(settings, clock=clock, until_idle=args.until_idle))
    return asyncio.run(_act(args, settings, clock=clock))


async def _run_senders(settings: Settings, *, clock: Clock, until_idle: bool) -> int:
    from bot.app.workers.broadcast_service import BroadcastService

    database = Database(settings.database_url)
    await upgrade(database)
    content = await asyncio.to_thread(Content, settings.content_dir)
    service = BroadcastService(settings, database, texts=content.texts, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        if until_idle:
            await _until_idle(database, stop)
        else:
            await stop.wait()
    finally:
        await service.stop()
        await database.dispose()
    return EXIT_OK


async def _until_idle(database: Database, stop: asyncio.Event) -> None:
    from sqlalchemy import func, select

    from storage.models.broadcasts import Broadcast, BroadcastStatus

    while not stop.is_set():
        async with database.transaction() as session:
            running = await session.scalar(
                select(func.count())
                .select_from(Broadcast)
                .where(Broadcast.status == BroadcastStatus.RUNNING)
            )
        if not running:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def _act(args: argparse.Namespace, settings: Settings, *, clock: Clock) -> int:
    content = await asyncio.to_thread(Content, settings.content_dir)
    texts = content.texts
    database = Database(settings.database_url)
    await upgrade(database)
    try:
        async with database.transaction() as session:
            control = BroadcastControl(
                session,
                texts=texts,
                now=clock.now(),
                approval_required=settings.broadcast_approval_required,
            )
            command = args.broadcast_command
            if command == "count":
                print(await control.count(_audience(args)))
                return EXIT_OK
            if command == "list":
                for item in await control.repo.recent():
                    print(f"#{item.id}\t{item.status}\t{item.total}\t{item.title}")
                return EXIT_OK
            if command == "create":
                return await _create(args, control, settings)
            broadcast = await control.get(args.id)
            if broadcast is None:
                print(f"khuyencong: no broadcast #{args.id}", file=sys.stderr)
                return EXIT_PROBLEMS
            if command == "status":
                report = await control.repo.report(broadcast)
                counts = " ".join(f"{k}={v}" for k, v in sorted(report.progress.counts.items()))
                print(
                    f"#{broadcast.id} {broadcast.status} total={broadcast.total} {counts} "
                    f"unsubscribed_24h={report.unsubscribed_24h} clicks={report.total_clicks}"
                )
                return EXIT_OK
            outcome = await _action(control, command, broadcast, actor=args.actor)
            return _print(outcome)
    finally:
        await database.dispose()


async def _action(control: BroadcastControl, command: str, broadcast: Any, *, actor: str) -> Any:
    if command == "send":
        return await control.send(broadcast, actor=actor)
    if command == "approve":
        return await control.approve(broadcast, actor=actor)
    if command == "pause":
        return await control.pause(broadcast)
    if command == "resume":
        return await control.resume(broadcast)
    return await control.cancel(broadcast)


async def _create(args: argparse.Namespace, control: BroadcastControl, settings: Settings) -> int:
    buttons = []
    for spec in args.button:
        action, _, value = spec.partition(":")
        if action not in BUTTON_CHOICES:
            print(f"khuyencong: unknown button {action!r}", file=sys.stderr)
            return EXIT_PROBLEMS
        buttons.append(Button(action, value))
    kind, ref = ("photo", args.photo) if args.photo else ("document", args.document)
    scheduled = None
    if args.at:
        scheduled = datetime.fromisoformat(args.at).replace(tzinfo=ZoneInfo(settings.timezone))
    draft = Draft(
        body=args.text,
        audience=_audience(args),
        title=args.title,
        buttons=tuple(buttons),
        attachment_kind=kind if ref else "",
        attachment=ref,
        scheduled_at=scheduled,
    )
    outcome = await control.compose(draft, created_by=ACTOR)
    if outcome.result is not Result.CREATED or outcome.broadcast is None:
        return _print(outcome)
    print(f"#{outcome.broadcast.id} created, audience {outcome.count}")
    if args.send:
        return _print(await control.send(outcome.broadcast, actor=ACTOR))
    return EXIT_OK


def _print(outcome: Outcome) -> int:
    ident = f"#{outcome.broadcast.id} " if outcome.broadcast is not None else ""
    extra = f" ({outcome.count})" if outcome.count else ""
    error = f": {outcome.error}" if outcome.error else ""
    print(f"{ident}{outcome.result.value}{extra}{error}")
    ok = {Result.CREATED, Result.STARTED, Result.APPROVAL_NEEDED, Result.PAUSED}
    ok |= {Result.RESUMED, Result.CANCELLED, Result.SCHEDULED}
    return EXIT_OK if outcome.result in ok else EXIT_PROBLEMS
