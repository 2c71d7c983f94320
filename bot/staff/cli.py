"""``khuyencong staff add|remove|list|reset-password``: accounts from the server's shell.

``add --admin`` on a fresh install is how the first administrator gets in: the one-time
password is printed once, here, and must be replaced at the first login.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.staff.accounts import (
    AccountError,
    add_account,
    list_accounts,
    remove_account,
    reset_password,
)
from storage import Database, upgrade

EXIT_OK = 0
EXIT_REFUSED = 1
DASHBOARD_PATH = "/staff/"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser(
        "staff", help="staff accounts", description="Staff accounts for the dashboard and chat."
    )
    actions = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="create an account and print its one-time password",
        description="Create a staff account; its one-time password is printed once.",
    )
    add.add_argument("username")
    add.add_argument("--admin", action="store_true", help="administrator (all leads, audit)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--ward", action="append", default=[], help="only this ward code (repeat)")
    add.add_argument(
        "--programme", action="append", default=[], help="only this programme id (repeat)"
    )
    remove = actions.add_parser("remove", help="deactivate an account (kept for the audit)")
    remove.add_argument("username")
    actions.add_parser("list", help="list the accounts")
    reset = actions.add_parser("reset-password", help="print a new one-time password")
    reset.add_argument("username")


def dashboard_url(settings: Settings) -> str:
    base = settings.public_url or f"http://127.0.0.1:{settings.port}"
    return f"{base}{DASHBOARD_PATH}"


async def run(settings: Settings, args: argparse.Namespace, *, clock: Clock) -> int:
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        return await _run(database, settings, args, now=clock.now())
    except AccountError as exc:
        print(f"khuyencong: {exc}")
        return EXIT_REFUSED
    finally:
        await database.dispose()


async def _run(
    database: Database, settings: Settings, args: argparse.Namespace, *, now: datetime
) -> int:
    if args.staff_command == "add":
        password = await add_account(
            database,
            args.username,
            now=now,
            admin=args.admin,
            display_name=args.name,
            wards=args.ward,
            programmes=args.programme,
        )
        print(f"khuyencong: account {args.username.strip().lower()} created")
        print(f"  one-time password: {password}")
        print(f"  sign in at {dashboard_url(settings)} and choose a new password")
        return EXIT_OK
    if args.staff_command == "remove":
        await remove_account(database, args.username, now=now)
        print(f"khuyencong: account {args.username} removed (signed out, chats unlinked)")
        return EXIT_OK
    if args.staff_command == "reset-password":
        password = await reset_password(database, args.username, now=now)
        print(f"khuyencong: new one-time password for {args.username}: {password}")
        return EXIT_OK
    accounts = await list_accounts(database)
    if not accounts:
        print("khuyencong: no staff accounts yet; create one with `khuyencong staff add --admin`")
    for info in accounts:
        scope = ",".join(info.wards + info.programmes) or "all"
        state = "active" if info.active else "removed"
        linked = " ".join(info.linked) or "-"
        print(f"{info.username}\t{info.role}\t{state}\tscope={scope}\tlinked={linked}")
    return EXIT_OK
