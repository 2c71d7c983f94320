"""Staff account administration (``khuyencong staff …``), each change in the audit log.

A new account or a reset gets a one-time password, printed once and never stored in the
clear; the officer must choose their own at the first login.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.staff import credentials
from storage import Database
from storage.models.staff import Role, StaffAccount
from storage.repositories.staff import AuditLog, StaffAccounts, StaffSessions

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
LINK_CODE_MINUTES = 15
VIA_CLI = "cli"


class AccountError(ValueError):
    """A refused account change, with a message for the person at the terminal."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    username: str
    display_name: str
    role: str
    wards: tuple[str, ...]
    programmes: tuple[str, ...]
    active: bool
    linked: tuple[str, ...]


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        msg = "username: 2-63 characters from a-z 0-9 . _ - (starting with a letter or digit)"
        raise AccountError(msg)
    return name


async def add_account(
    database: Database,
    username: str,
    *,
    now: datetime,
    admin: bool = False,
    display_name: str = "",
    wards: Sequence[str] = (),
    programmes: Sequence[str] = (),
    actor: str = VIA_CLI,
) -> str:
    """Create the account; returns its one-time password."""
    name = check_username(username)
    password = credentials.one_time_password()
    password_hash = await credentials.hash_password_async(password)
    async with database.transaction() as session:
        accounts = StaffAccounts(session)
        if await accounts.by_username(name) is not None:
            msg = f"account {name!r} already exists"
            raise AccountError(msg)
        account = await accounts.add(
            StaffAccount(
                username=name,
                display_name=display_name.strip(),
                password_hash=password_hash,
                role=Role.ADMIN if admin else Role.STAFF,
                wards=sorted(set(wards)),
                programmes=sorted(set(programmes)),
                active=True,
                must_change_password=True,
                created_at=now,
                updated_at=now,
            )
        )
        await AuditLog(session).record(
            actor=actor,
            via=VIA_CLI,
            action="account_add",
            entity="staff",
            entity_id=name,
            after=_public(account),
            now=now,
        )
    return password


async def remove_account(database: Database, username: str, *, now: datetime) -> None:
    async with database.transaction() as session:
        accounts = StaffAccounts(session)
        account = await accounts.by_username(check_username(username))
        if account is None or not account.active:
            msg = f"no active account {username!r}"
            raise AccountError(msg)
        before = _public(account)
        await accounts.deactivate(account, now=now)
        await AuditLog(session).record(
            actor=VIA_CLI,
            via=VIA_CLI,
            action="account_remove",
            entity="staff",
            entity_id=account.username,
            before=before,
            after=_public(account),
            now=now,
        )


async def reset_password(database: Database, username: str, *, now: datetime) -> str:
    password = credentials.one_time_password()
    password_hash = await credentials.hash_password_async(password)
    async with database.transaction() as session:
        account = await StaffAccounts(session).by_username(check_username(username))
        if account is None or not account.active:
            msg = f"no active account {username!r}"
            raise AccountError(msg)
        account.password_hash = password_hash
        account.must_change_password = True
        account.updated_at = now
        await StaffSessions(session).drop_for(account.id)
        await AuditLog(session).record(
            actor=VIA_CLI,
            via=VIA_CLI,
            action="password_reset",
            entity="staff",
            entity_id=account.username,
            now=now,
        )
    return password


async def list_accounts(database: Database) -> list[AccountInfo]:
    async with database.transaction() as session:
        accounts = StaffAccounts(session)
        found = []
        for account in await accounts.all():
            linked = tuple(
                f"{identity.channel}:{identity.user_id}"
                for identity in await accounts.identities(account.id)
            )
            found.append(
                AccountInfo(
                    username=account.username,
                    display_name=account.display_name,
                    role=account.role,
                    wards=tuple(account.wards or ()),
                    programmes=tuple(account.programmes or ()),
                    active=account.active,
                    linked=linked,
                )
            )
    return found


async def new_link_code(database: Database, account_id: int, *, now: datetime) -> str:
    """A one-time code the officer sends the bot in chat (``/lienket CODE``)."""
    code = credentials.link_code()
    async with database.transaction() as session:
        await StaffAccounts(session).add_link_code(
            account_id=account_id,
            digest=credentials.digest(code),
            expires_at=now + timedelta(minutes=LINK_CODE_MINUTES),
        )
    return code


def _public(account: StaffAccount) -> dict[str, object]:
    """What the audit log keeps of an account (never the hash)."""
    return {
        "role": account.role,
        "wards": list(account.wards or []),
        "programmes": list(account.programmes or []),
        "active": account.active,
    }
