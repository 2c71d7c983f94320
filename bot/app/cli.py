"""``khuyencong``: run the bot, chat in the terminal, and the staff's command-line tools.

Every failure a user can cause (a bad setting, a broken content file, a missing input file)
ends with one clear line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.app import zalo_cli
from bot.app.heap import freeze_startup_heap
from bot.app.logs import setup_logging
from bot.app.startup import describe_startup_failure, secrets_of
from bot.core import loop
from bot.core.clock import Clock, SystemClock, today
from bot.core.config import ConfigError, Settings, load_settings
from bot.core.texts import ContentError

if TYPE_CHECKING:
    from bot.app.runtime import BotRuntime

#: Hosts that listen on every network interface.
ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})
#: The terminal chat shares the terminal with the logs: only warnings and errors show.
CHAT_LOG_LEVEL = "WARNING"
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="khuyencong",
        description="Trợ lý khuyến công: Telegram, web chat và công cụ cho cán bộ Trung tâm.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the bot: web chat at /chat, Telegram when TELEGRAM_BOT_TOKEN is set",
        description="Apply pending migrations, then serve the web chat, the health check and "
        "(with a token) Telegram by long polling, or by webhook when PUBLIC_URL is set.",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT); above 1 needs PostgreSQL "
        "and, for Telegram, webhook mode (default 1)",
    )
    chat = commands.add_parser(
        "chat",
        help="chat with the bot in this terminal",
        description="A console chat on the same engine and database; options are numbered.",
    )
    chat.add_argument("--user", help="console user id (default: console-<login>)")

    db = commands.add_parser("db", help="database tools", description="Database tools.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="apply pending migrations", description="Apply pending migrations."
    )

    content = commands.add_parser(
        "content", help="content tools", description="Tools for the content/ folder."
    )
    content_commands = content.add_subparsers(dest="content_command", required=True)
    check = content_commands.add_parser(
        "check",
        help="validate every content file",
        description="Validate schemas, references, templates and citations; print file:line "
        "for each problem and exit 1 if there is any.",
    )
    check.add_argument("--root", type=Path, help="content folder (default: CONTENT_DIR)")
    check.add_argument(
        "--deploy",
        action="store_true",
        help="also refuse what must be filled in before going live (the Center's address, "
        "phone, email and hours in center.yaml, and anything still under to_confirm)",
    )

    eligibility = commands.add_parser(
        "eligibility",
        help="evaluate a file of answers and print the verdicts as JSON",
        description="Evaluate a YAML or JSON file of eligibility facts with the same engine "
        "as the chat; the fact names are documented in content/eligibility/facts.md.",
    )
    eligibility.add_argument("file", type=Path)
    eligibility.add_argument("--on", type=date.fromisoformat, help="evaluation date YYYY-MM-DD")

    leads = commands.add_parser("leads", help="lead tools", description="Lead tools for staff.")
    lead_commands = leads.add_subparsers(dest="leads_command", required=True)
    export = lead_commands.add_parser(
        "export",
        help="export leads to CSV or Excel",
        description="Export leads (UTF-8 CSV with BOM, or XLSX), optionally filtered.",
    )
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    export.add_argument("--status", action="append", help="only this status (repeatable)")
    export.add_argument("--since", type=date.fromisoformat, help="created on or after YYYY-MM-DD")
    export.add_argument("--output", type=Path, help="file to write (default: leads.<format>)")

    zalo_cli.add_parser(commands)

    privacy = commands.add_parser(
        "privacy", help="personal-data tools", description="Personal-data tools."
    )
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True)
    privacy_commands.add_parser(
        "purge",
        help="anonymise leads inactive longer than LEAD_RETENTION_DAYS",
        description="Anonymise the personal fields of leads inactive beyond the retention "
        "period (LEAD_RETENTION_DAYS); anonymous statistics are kept.",
    )
    nlu = commands.add_parser(
        "nlu", help="understanding tools", description="Tools for the typed-text understanding."
    )
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    review = nlu_commands.add_parser(
        "review",
        help="list the most frequent messages the bot could not place",
        description="Messages the bot was unsure about or found out of scope, personal data "
        "masked, most frequent first: add them as examples under content/nlu/.",
    )
    review.add_argument("--days", type=int, default=30, help="look back this many days")
    review.add_argument("--limit", type=int, default=50)
    evaluate = nlu_commands.add_parser(
        "eval",
        help="accuracy per intent and confusion matrix on a labelled file",
        description="Read a YAML list of {q: message, expect: label} and print the accuracy "
        "per intent, the confusion matrix, latency and the misses.",
    )
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--root", type=Path, help="content folder (default: CONTENT_DIR)")
    from bot.staff.cli import add_parser as add_staff_parser

    add_staff_parser(commands)
    from bot.app.broadcast_cli import add_parser as add_broadcast_parser

    add_broadcast_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """The ``khuyencong`` command; ``clock`` is the one clock of this process (tests fix it)."""
    # python-telegram-bot 22 warns on each flood-control error unless timedelta values are
    # chosen; the Telegram adapter reads both forms.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        chatting = args.command == "chat"
        setup_logging(
            CHAT_LOG_LEVEL if chatting else settings.log_level, secrets=secrets_of(settings)
        )
        return _run(args, settings, clock=clock or SystemClock())
    except (ConfigError, ContentError) as exc:
        print(f"khuyencong: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _run(args: argparse.Namespace, settings: Settings, *, clock: Clock) -> int:
    if args.command == "serve":
        from bot.app.runtime import BotRuntime

        if args.workers != 1:
            from bot.app.prefork import check_workers, serve_workers

            check_workers(settings, args.workers)
            return serve_workers(settings, args.workers)
        try:
            runtime = BotRuntime(settings, clock=clock)
            loop.run(runtime.run_until_signal(on_ready=on_ready), kind=settings.event_loop)
        except (ConfigError, ContentError):
            raise
        except Exception as exc:  # one line naming the setting, never a traceback
            print(f"khuyencong: {describe_startup_failure(exc, settings)}", file=sys.stderr)
            return EXIT_PROBLEMS
        return EXIT_OK
    if args.command == "chat":
        return asyncio.run(_chat(settings, user=args.user, clock=clock))
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command == "content":
        return _content_check(args.root or settings.content_dir, deploy=args.deploy)
    if args.command == "eligibility":
        return _eligibility(args.file, settings=settings, on=args.on, clock=clock)
    if args.command == "leads":
        return asyncio.run(_export(settings, args))
    if args.command == "privacy":
        return asyncio.run(_purge(settings, clock=clock))
    if args.command == "zalo":
        return zalo_cli.run(args, settings, clock=clock)
    if args.command == "nlu" and args.nlu_command == "eval":
        return _nlu_eval(args.file, root=args.root or settings.content_dir)
    if args.command == "nlu":
        return asyncio.run(_nlu_review(settings, days=args.days, limit=args.limit, clock=clock))
    if args.command == "staff":
        from bot.staff.cli import run as run_staff

        return asyncio.run(run_staff(settings, args, clock=clock))
    if args.command == "broadcast":
        from bot.app.broadcast_cli import run as run_broadcast

        return run_broadcast(args, settings, clock=clock)
    return EXIT_USAGE  # pragma: no cover - argparse enforces the choices


def on_ready(runtime: BotRuntime) -> None:
    """Once ``serve`` is up: start-up's objects out of the collector's way, then the address."""
    freeze_startup_heap()
    announce_address(runtime)


def announce_address(runtime: BotRuntime) -> None:
    """Tell whoever started the server where to open it and how to stop it."""
    host = runtime.settings.host
    everywhere = host in ALL_INTERFACES
    shown = "localhost" if everywhere else host
    path = "/chat" if "web" in runtime.channels else "/healthz"
    print(f"khuyencong: open http://{shown}:{runtime.port}{path} (Ctrl+C to stop)", flush=True)
    if everywhere:
        print(
            f"khuyencong: HOST={host} also serves other computers on the network",
            flush=True,
        )


async def _chat(settings: Settings, *, user: str | None, clock: Clock) -> int:
    from bot.app.runtime import BotRuntime
    from bot.channels import console, webchat

    # The terminal, and the web chat's outlet for late messages; never Telegram's poller.
    runtime = BotRuntime(settings, clock=clock, channels=(console.PLUGIN, webchat.PLUGIN))
    await runtime.start(serve_http=False)
    try:
        assert runtime.engine is not None
        await console.run_console(runtime.engine.process, user_id=user)
    finally:
        await runtime.stop()
    return EXIT_OK


async def _db_upgrade(settings: Settings) -> int:
    from storage import Database, upgrade

    database = Database(settings.database_url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()
    print("khuyencong: database is up to date")
    return EXIT_OK


def _content_check(root: Path, *, deploy: bool = False) -> int:
    from bot.app.content_check import CHECKS, DEPLOY_CHECKS, check_content

    problems = check_content(root, checks=DEPLOY_CHECKS if deploy else CHECKS)
    for problem in problems:
        print(problem)
    if problems:
        print(f"khuyencong: {len(problems)} problem(s) in {root}", file=sys.stderr)
        return EXIT_PROBLEMS
    ready = " and ready to go live" if deploy else ""
    print(f"khuyencong: content in {root} is valid{ready}")
    return EXIT_OK


def _eligibility(path: Path, *, settings: Settings, on: date | None, clock: Clock) -> int:
    from bot.eligibility.cli import run_file

    result = run_file(
        path,
        content_root=settings.content_dir,
        today=today(clock, ZoneInfo(settings.timezone)),
        on=on,
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return EXIT_OK


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.content import Content
    from bot.leads.export import export_leads
    from storage import Database, upgrade

    output: Path = args.output or Path(f"leads.{args.format}")
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        count = await export_leads(
            database,
            fmt=args.format,
            out=output,
            status=args.status,
            since=args.since,
            content=Content(settings.content_dir),
            timezone=settings.timezone,
        )
    finally:
        await database.dispose()
    print(f"khuyencong: {count} lead(s) written to {output}")
    return EXIT_OK


async def _purge(settings: Settings, *, clock: Clock) -> int:
    from bot.leads.purge import purge_inactive
    from storage import Database, upgrade

    database = Database(settings.database_url)
    try:
        await upgrade(database)
        count = await purge_inactive(
            database, now=clock.now(), retention_days=settings.lead_retention_days
        )
    finally:
        await database.dispose()
    print(f"khuyencong: {count} lead(s) anonymised")
    return EXIT_OK


def _nlu_eval(path: Path, *, root: Path) -> int:
    from bot.nlu.evaluation import evaluate, format_report, load_labelled
    from handlers.common.questions import load_question_index

    items = load_labelled(path)
    interpreter = load_question_index(root).interpreter
    print(format_report(evaluate(items, interpreter.read)))
    return EXIT_OK


async def _nlu_review(settings: Settings, *, days: int, limit: int, clock: Clock) -> int:
    from datetime import timedelta

    from storage import Database, upgrade
    from storage.repositories import Unplaced

    database = Database(settings.database_url)
    try:
        await upgrade(database)
        async with database.transaction() as session:
            rows = await Unplaced(session).most_frequent(
                since=clock.now() - timedelta(days=days), limit=limit
            )
    finally:
        await database.dispose()
    if not rows:
        print(f"khuyencong: no unplaced messages in the last {days} day(s)")
        return EXIT_OK
    print(f"{'count':>5}  {'verdict':<12}  {'best guess':<32}  message")
    for text, verdict, guess, count in rows:
        print(f"{count:>5}  {verdict:<12}  {guess:<32}  {text}")
    return EXIT_OK


if __name__ == "__main__":  # python -m bot.app.cli
    sys.exit(main())
