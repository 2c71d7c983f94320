"""Consent evidence: who agreed to which notice version, when, and on which channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Consent, ConsentAction

PURPOSE_LEAD = "lead"
SUBSCRIBE_PREFIX = "subscribe:"


class Consents:
    """Append-only consent records; the latest one per purpose is the one in force."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        person_id: int,
        *,
        identity_id: int | None,
        channel: str,
        purpose: str,
        action: ConsentAction,
        notice_version: str,
        now: datetime,
    ) -> Consent:
        consent = Consent(
            person_id=person_id,
            identity_id=identity_id,
            channel=channel,
            purpose=purpose,
            action=action.value,
            notice_version=notice_version,
            created_at=now,
        )
        self.session.add(consent)
        await self.session.flush()
        return consent

    async def latest(self, person_id: int, purpose: str) -> Consent | None:
        query = (
            select(Consent)
            .where(Consent.person_id == person_id, Consent.purpose == purpose)
            .order_by(Consent.created_at.desc(), Consent.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def has_consent(self, person_id: int, purpose: str, notice_version: str) -> bool:
        """True when the latest record is a consent to this very notice version."""
        latest = await self.latest(person_id, purpose)
        return (
            latest is not None
            and latest.action == ConsentAction.CONSENT
            and latest.notice_version == notice_version
        )

    async def for_person(self, person_id: int) -> list[Consent]:
        query = (
            select(Consent)
            .where(Consent.person_id == person_id)
            .order_by(Consent.created_at, Consent.id)
        )
        return list((await self.session.execute(query)).scalars())
