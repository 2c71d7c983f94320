"""Leads and their append-only history: create-or-update on confirmation, status, notes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Lead, LeadHistory, LeadStatus

ACTOR_OWNER = "owner"
ACTOR_SYSTEM = "system"

#: Fields an owner can see and correct; erased by anonymisation.
PERSONAL_FIELDS: tuple[str, ...] = (
    "full_name",
    "phone",
    "facility_name",
    "products",
    "need",
    "call_time",
)
#: Fields an owner may correct after confirming (others are asked again by registering).
CORRECTABLE_FIELDS: tuple[str, ...] = (
    "full_name",
    "phone",
    "facility_name",
    "facility_type",
    "commune_code",
    "commune_name",
    "products",
    "need",
    "budget",
    "call_time",
)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class LeadFields:
    """What the registration form collected (personal fields only after consent)."""

    full_name: str
    phone: str
    facility_name: str = ""
    facility_type: str = ""
    commune_code: str = ""
    commune_name: str = ""
    products: str = ""
    support_kinds: tuple[str, ...] = ()
    need: str = ""
    budget: int | None = None
    call_time: str = ""
    programme_id: str = ""
    eligibility: dict[str, Any] = field(default_factory=dict)

    @property
    def support_key(self) -> str:
        return support_key(self.support_kinds)


@dataclass(frozen=True, slots=True)
class Submission:
    lead: Lead
    outcome: Outcome


def support_key(kinds: Sequence[str]) -> str:
    """One key per set of support kinds, whatever the order they were chosen in."""
    return ",".join(sorted(set(kinds)))


class Leads:
    """Repository of :class:`Lead` rows; never commits (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, lead_id: int) -> Lead | None:
        return await self.session.get(Lead, lead_id)

    async def owner_of(self, lead: Lead) -> ChannelIdentity | None:
        """The channel identity that submitted ``lead`` (to tell them of a status change)."""
        if lead.identity_id is None:
            return None
        return await self.session.get(ChannelIdentity, lead.identity_id)

    async def by_code(self, code: str) -> Lead | None:
        result = await self.session.execute(select(Lead).where(Lead.code == code))
        return result.scalar_one_or_none()

    async def by_draft(self, draft_id: str) -> Lead | None:
        """The lead a confirmed draft created or updated, if it was confirmed already."""
        query = (
            select(Lead)
            .join(LeadHistory, LeadHistory.lead_id == Lead.id)
            .where(LeadHistory.draft_id == draft_id)
        )
        result = await self.session.execute(query)
        return result.scalars().first()

    async def open_for(self, *, person_id: int, phone: str, key: str) -> Lead | None:
        """The person's open lead for the same phone and support, if any."""
        query = (
            select(Lead)
            .where(
                Lead.person_id == person_id,
                Lead.phone == phone,
                Lead.support_key == key,
                Lead.anonymised_at.is_(None),
            )
            .order_by(Lead.id.desc())
        )
        for lead in (await self.session.execute(query)).scalars():
            if lead.is_open:
                return lead
        return None

    async def for_person(self, person_id: int) -> list[Lead]:
        query = (
            select(Lead)
            .where(Lead.person_id == person_id, Lead.anonymised_at.is_(None))
            .order_by(Lead.id.desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def history(self, lead_id: int) -> list[LeadHistory]:
        query = select(LeadHistory).where(LeadHistory.lead_id == lead_id).order_by(LeadHistory.id)
        return list((await self.session.execute(query)).scalars())

    async def submit(
        self,
        draft_id: str,
        fields: LeadFields,
        *,
        person_id: int,
        identity_id: int,
        channel: str,
        notice_version: str,
        now: datetime,
        make_code: Callable[[int], str],
    ) -> Submission:
        """Turn a confirmed draft into exactly one lead, however often it is confirmed.

        The draft id is unique in the history, so a second confirmation (a double tap, a
        redelivered update, another worker) finds the first one or fails its savepoint.
        """
        done = await self.by_draft(draft_id)
        if done is not None:
            return Submission(done, Outcome.DUPLICATE)
        target = await self.open_for(
            person_id=person_id, phone=fields.phone, key=fields.support_key
        )
        try:
            async with self.session.begin_nested():
                if target is None:
                    lead = Lead(
                        draft_id=draft_id,
                        person_id=person_id,
                        status=LeadStatus.NEW,
                        created_at=now,
                    )
                    outcome = Outcome.CREATED
                else:
                    lead, outcome = target, Outcome.UPDATED
                changed = _apply(lead, fields)
                lead.identity_id, lead.channel = identity_id, channel
                lead.notice_version = notice_version
                lead.updated_at = lead.last_activity_at = now
                if target is None:
                    self.session.add(lead)
                    await self.session.flush()
                    lead.code = make_code(lead.id)
                self.session.add(
                    LeadHistory(
                        lead_id=lead.id,
                        created_at=now,
                        actor=ACTOR_OWNER,
                        action=outcome.value,
                        new_status=lead.status,
                        fields=changed,
                        draft_id=draft_id,
                    )
                )
                await self.session.flush()
        except IntegrityError:
            done = await self.by_draft(draft_id)
            if done is None:
                raise
            return Submission(done, Outcome.DUPLICATE)
        return Submission(lead, outcome)

    async def set_status(
        self, lead: Lead, status: LeadStatus, *, actor: str, now: datetime, note: str = ""
    ) -> LeadHistory:
        entry = self._history(lead, "status", new_status=status.value, actor=actor, now=now)
        entry.note = note
        lead.status = status.value
        lead.updated_at = lead.last_activity_at = now
        await self.session.flush()
        return entry

    async def add_note(self, lead: Lead, note: str, *, actor: str, now: datetime) -> LeadHistory:
        entry = self._history(lead, "note", actor=actor, now=now)
        entry.note = note
        lead.updated_at = lead.last_activity_at = now
        await self.session.flush()
        return entry

    def _history(
        self, lead: Lead, action: str, *, actor: str, now: datetime, new_status: str = ""
    ) -> LeadHistory:
        """One entry appended to ``lead``'s history (flushed by the caller)."""
        entry = LeadHistory(
            lead_id=lead.id,
            created_at=now,
            actor=actor,
            action=action,
            old_status=lead.status,
            new_status=new_status or lead.status,
        )
        self.session.add(entry)
        return entry

    async def correct(
        self, lead: Lead, changes: dict[str, Any], *, actor: str, now: datetime
    ) -> list[str]:
        """Apply an owner's correction; the history names the fields, never the values."""
        unknown = set(changes) - set(CORRECTABLE_FIELDS)
        if unknown:
            msg = f"not correctable: {sorted(unknown)}"
            raise ValueError(msg)
        changed = [name for name, value in changes.items() if getattr(lead, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(lead, name, changes[name])
        lead.updated_at = lead.last_activity_at = now
        self._history(lead, "corrected", actor=actor, now=now).fields = changed
        await self.session.flush()
        return changed

    async def anonymise(self, lead: Lead, *, now: datetime, actor: str = ACTOR_SYSTEM) -> None:
        """Erase the personal fields, keep what anonymous statistics need.

        Kept: status, support kinds, facility type, commune, budget, dates, verdict ids.
        History notes (staff may have written names there) are blanked in place: the one
        sanctioned rewrite of the append-only history.
        """
        if lead.anonymised_at is not None:
            return
        for name in PERSONAL_FIELDS:
            setattr(lead, name, "")
        lead.eligibility = _statistics_only(lead.eligibility)
        lead.person_id = None
        lead.identity_id = None
        lead.anonymised_at = lead.updated_at = now
        await self.session.execute(
            update(LeadHistory)
            .where(LeadHistory.lead_id == lead.id, LeadHistory.note != "")
            .values(note="")
            .execution_options(synchronize_session=False)
        )
        self._history(lead, "anonymised", actor=actor, now=now)
        await self.session.flush()

    async def inactive_since(self, before: datetime) -> list[Lead]:
        """Leads not yet anonymised whose last activity is older than ``before``."""
        query = (
            select(Lead)
            .where(Lead.anonymised_at.is_(None), Lead.last_activity_at < before)
            .order_by(Lead.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def search(
        self,
        *,
        statuses: Sequence[str] | None = None,
        since: datetime | None = None,
        include_anonymised: bool = False,
    ) -> list[Lead]:
        """Leads for the staff export, oldest first, filtered as staff asked."""
        query = select(Lead).order_by(Lead.id)
        if statuses:
            query = query.where(Lead.status.in_(list(statuses)))
        if since is not None:
            query = query.where(Lead.created_at >= since)
        if not include_anonymised:
            query = query.where(Lead.anonymised_at.is_(None))
        return list((await self.session.execute(query)).scalars())


def _apply(lead: Lead, fields: LeadFields) -> list[str]:
    """Copy the form's fields onto the lead; the names of those that changed."""
    values: dict[str, Any] = {
        "full_name": fields.full_name,
        "phone": fields.phone,
        "facility_name": fields.facility_name,
        "facility_type": fields.facility_type,
        "commune_code": fields.commune_code,
        "commune_name": fields.commune_name,
        "products": fields.products,
        "support_kinds": list(fields.support_kinds),
        "support_key": fields.support_key,
        "need": fields.need,
        "budget": fields.budget,
        "call_time": fields.call_time,
        "programme_id": fields.programme_id,
        "eligibility": dict(fields.eligibility),
    }
    changed = [name for name, value in values.items() if getattr(lead, name, None) != value]
    for name, value in values.items():
        setattr(lead, name, value)
    return changed


def _statistics_only(eligibility: dict[str, Any] | None) -> dict[str, Any]:
    """Keep only the verdicts (programme ids and outcomes), drop the answers."""
    if not eligibility:
        return {}
    kept: dict[str, Any] = {}
    verdicts = eligibility.get("verdicts")
    if isinstance(verdicts, list):
        # Scalars only (programme id, outcome): nested traces may repeat the answers.
        kept["verdicts"] = [
            {key: value for key, value in verdict.items() if isinstance(value, str | int | bool)}
            for verdict in verdicts
            if isinstance(verdict, dict)
        ]
    if "evaluated_on" in eligibility:
        kept["evaluated_on"] = eligibility["evaluated_on"]
    return kept
