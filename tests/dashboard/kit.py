"""A running dashboard on a real database: accounts, seeded leads, a signed-in client."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.core.engine import Engine
from bot.staff import credentials
from bot.staff.accounts import add_account
from storage import ChannelIdentity, Database, Person
from storage.models.leads import Lead, LeadStatus
from storage.models.staff import StaffAccount
from tests.harness import TEST_NOW, RecordingChannel

PASSWORD = "mat-khau-rat-dai-2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Desk:
    engine: Engine
    channel: RecordingChannel
    database: Database


async def make_account(
    database: Database,
    username: str,
    *,
    admin: bool = False,
    wards: Sequence[str] = (),
    password: str = PASSWORD,
) -> int:
    """An account with a known password (the one-time one already replaced)."""
    await add_account(database, username, now=TEST_NOW, admin=admin, wards=wards)
    async with database.transaction() as session:
        await session.execute(
            update(StaffAccount)
            .where(StaffAccount.username == username)
            .values(password_hash=credentials.hash_password(password), must_change_password=False)
        )
        account = (
            await session.execute(
                StaffAccount.__table__.select().where(StaffAccount.username == username)
            )
        ).one()
    return int(account.id)


async def make_lead(
    database: Database,
    *,
    code: str,
    full_name: str = "Nguyễn Văn An",
    phone: str = "+84912345678",
    commune_code: str = "00001",
    commune_name: str = "Phường Một",
    status: str = LeadStatus.NEW,
    facility_name: str = "Cơ sở An Phát",
    programme_id: str = "may_moc_thiet_bi",
    days_ago: int = 0,
    channel: str = "test",
    **extra: Any,
) -> int:
    async with database.transaction() as session:
        person = Person(created_at=TEST_NOW)
        session.add(person)
        await session.flush()
        identity = ChannelIdentity(
            person_id=person.id,
            channel=channel,
            user_id=f"owner-{code}",
            chat_id=f"owner-{code}",
            created_at=TEST_NOW,
            last_seen_at=TEST_NOW,
        )
        session.add(identity)
        await session.flush()
        created = TEST_NOW - timedelta(days=days_ago)
        lead = Lead(
            code=code,
            draft_id=f"draft-{code}",
            person_id=person.id,
            identity_id=identity.id,
            channel=channel,
            status=status,
            full_name=full_name,
            phone=phone,
            facility_name=facility_name,
            commune_code=commune_code,
            commune_name=commune_name,
            programme_id=programme_id,
            created_at=created,
            updated_at=created,
            last_activity_at=created,
            **extra,
        )
        session.add(lead)
        await session.flush()
        return int(lead.id)


async def csrf_of(client: TestClient[Any, Any], path: str) -> str:
    response = await client.get(path)
    html = await response.text()
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


async def login(client: TestClient[Any, Any], username: str, password: str = PASSWORD) -> Any:
    token = await csrf_of(client, "/staff/login")
    return await client.post(
        "/staff/login",
        data={"csrf": token, "username": username, "password": password},
        allow_redirects=False,
    )
