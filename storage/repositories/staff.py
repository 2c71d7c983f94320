"""Staff accounts, dashboard sessions, login failures, chat links and the audit log.

Secrets never reach the database in the clear: the callers pass digests (``bot.staff``
makes them), and these repositories only store and compare them. They never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.leads import Lead
from storage.models.staff import (
    AuditEvent,
    LoginFailure,
    StaffAccount,
    StaffIdentity,
    StaffLinkCode,
    StaffSession,
)


class StaffAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: int) -> StaffAccount | None:
        return await self.session.get(StaffAccount, account_id)

    async def by_username(self, username: str) -> StaffAccount | None:
        query = select(StaffAccount).where(StaffAccount.username == username)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def all(self, *, active_only: bool = False) -> list[StaffAccount]:
        query = select(StaffAccount).order_by(StaffAccount.username)
        if active_only:
            query = query.where(StaffAccount.active.is_(True))
        return list((await self.session.execute(query)).scalars())

    async def add(self, account: StaffAccount) -> StaffAccount:
        self.session.add(account)
        await self.session.flush()
        return account

    async def deactivate(self, account: StaffAccount, *, now: datetime) -> None:
        """Sign out everywhere, unlink chats, release leads; the row stays for the audit."""
        account.active = False
        account.updated_at = now
        await self.session.execute(
            delete(StaffSession).where(StaffSession.account_id == account.id)
        )
        await self.session.execute(
            delete(StaffIdentity).where(StaffIdentity.account_id == account.id)
        )
        await self.session.execute(
            update(Lead)
            .where(Lead.assignee_id == account.id)
            .values(assignee_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()

    async def by_identity(self, *, channel: str, user_id: str) -> StaffAccount | None:
        query = (
            select(StaffAccount)
            .join(StaffIdentity, StaffIdentity.account_id == StaffAccount.id)
            .where(
                StaffIdentity.channel == channel,
                StaffIdentity.user_id == user_id,
                StaffAccount.active.is_(True),
            )
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def identities(self, account_id: int) -> list[StaffIdentity]:
        query = select(StaffIdentity).where(StaffIdentity.account_id == account_id)
        return list((await self.session.execute(query)).scalars())

    async def add_link_code(self, *, account_id: int, digest: str, expires_at: datetime) -> None:
        self.session.add(
            StaffLinkCode(digest=digest, account_id=account_id, expires_at=expires_at)
        )
        await self.session.flush()

    async def use_link_code(
        self, *, digest: str, channel: str, user_id: str, now: datetime
    ) -> StaffAccount | None:
        """Link the chat account to the code's staff account; None if the code is not valid."""
        code = await self.session.get(StaffLinkCode, digest)
        if code is None or code.used_at is not None or code.expires_at <= now:
            return None
        account = await self.get(code.account_id)
        if account is None or not account.active:
            return None
        code.used_at = now
        await self.session.execute(
            delete(StaffIdentity).where(
                StaffIdentity.channel == channel, StaffIdentity.user_id == user_id
            )
        )
        self.session.add(
            StaffIdentity(account_id=account.id, channel=channel, user_id=user_id, linked_at=now)
        )
        await self.session.flush()
        return account

    async def names(self) -> dict[int, str]:
        """Account id → display name (or username), for lists and exports."""
        query = select(StaffAccount.id, StaffAccount.display_name, StaffAccount.username)
        rows = (await self.session.execute(query)).all()
        return {row.id: row.display_name or row.username for row in rows}


class StaffSessions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, *, digest: str, account_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> StaffSession:
        row = StaffSession(
            digest=digest,
            account_id=account_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, digest: str) -> StaffSession | None:
        return await self.session.get(StaffSession, digest)

    async def drop(self, digest: str) -> None:
        await self.session.execute(delete(StaffSession).where(StaffSession.digest == digest))

    async def drop_for(self, account_id: int) -> None:
        await self.session.execute(
            delete(StaffSession).where(StaffSession.account_id == account_id)
        )

    async def purge_expired(self, now: datetime) -> None:
        await self.session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))


class LoginFailures:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *, username: str, address: str, now: datetime) -> None:
        self.session.add(LoginFailure(username=username, address=address, at=now))
        await self.session.flush()

    async def count(self, *, since: datetime, username: str = "", address: str = "") -> int:
        query = select(func.count()).select_from(LoginFailure).where(LoginFailure.at >= since)
        if username:
            query = query.where(LoginFailure.username == username)
        if address:
            query = query.where(LoginFailure.address == address)
        return int((await self.session.execute(query)).scalar_one())

    async def clear(self, *, username: str) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.username == username))


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        actor: str,
        via: str,
        action: str,
        entity: str,
        entity_id: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        account_id: int | None = None,
        now: datetime,
        count: int = 1,
    ) -> AuditEvent:
        row = AuditEvent(
            at=now,
            account_id=account_id,
            actor=actor,
            via=via,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before or {},
            after=after or {},
            count=count,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def page(
        self, *, before_id: int | None = None, limit: int = 100, entity_id: str = ""
    ) -> list[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        if entity_id:
            query = query.where(AuditEvent.entity_id == entity_id)
        return list((await self.session.execute(query)).scalars())

    async def for_entity(self, entity: str, entity_id: str) -> list[AuditEvent]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def everything(self) -> Sequence[AuditEvent]:
        """The whole log, oldest first, for the admins' export."""
        query = select(AuditEvent).order_by(AuditEvent.id)
        return list((await self.session.execute(query)).scalars())
