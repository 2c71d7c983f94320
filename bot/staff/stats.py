"""Statistics for the dashboard: the funnel, leads by ward, by programme and by week.

Counted in the database (GROUP BY), never by loading rows; a scoped officer sees only
their wards and programmes, and the conversation-level steps of the funnel (which belong
to no ward yet) only when unscoped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.scope import Scope
from storage.leads import Consent, ConsentAction, Lead, LeadStatus
from storage.models import ConversationState

WEEKS_SHOWN = 12
TOP_WARDS = 20
CONTACTED = frozenset(
    {
        LeadStatus.CONTACTED,
        LeadStatus.ELIGIBLE,
        LeadStatus.NOT_ELIGIBLE,
        LeadStatus.DOSSIER_PREPARED,
        LeadStatus.SUBMITTED,
        LeadStatus.SUPPORTED,
    }
)
DOSSIER = frozenset({LeadStatus.DOSSIER_PREPARED, LeadStatus.SUBMITTED, LeadStatus.SUPPORTED})


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    value: int


@dataclass(frozen=True, slots=True)
class Statistics:
    #: Funnel steps in order; ``None`` when not shown for this scope.
    funnel: list[tuple[str, int | None]]
    by_status: list[Row]
    by_ward: list[Row]
    by_programme: list[Row]
    by_week: list[Row]
    total: int


async def statistics(
    session: AsyncSession, scope: Scope, *, now: datetime, zone: tzinfo
) -> Statistics:
    leads = scope.restrict(select(Lead.status, func.count()).where(Lead.anonymised_at.is_(None)))
    per_status = {
        str(status): int(count)
        for status, count in (await session.execute(leads.group_by(Lead.status))).all()
    }
    total = sum(per_status.values())
    contacted = sum(per_status.get(s.value, 0) for s in CONTACTED)
    dossier = sum(per_status.get(s.value, 0) for s in DOSSIER)
    supported = per_status.get(LeadStatus.SUPPORTED.value, 0)
    started = verdicts = consents = None
    if not scope.is_limited:
        started, verdicts = await _checks(session)
        consents = int(
            (
                await session.execute(
                    select(func.count(func.distinct(Consent.person_id))).where(
                        Consent.purpose == "lead", Consent.action == ConsentAction.CONSENT
                    )
                )
            ).scalar_one()
        )
    funnel: list[tuple[str, int | None]] = [
        ("started", started),
        ("verdict", verdicts),
        ("consent", consents),
        ("lead", total),
        ("contacted", contacted),
        ("dossier", dossier),
        ("supported", supported),
    ]
    by_status = [
        Row(status.value, status.value, per_status.get(status.value, 0)) for status in LeadStatus
    ]
    ward_query = scope.restrict(
        select(Lead.commune_code, func.max(Lead.commune_name), func.count())
        .where(Lead.anonymised_at.is_(None))
        .group_by(Lead.commune_code)
        .order_by(func.count().desc())
        .limit(TOP_WARDS)
    )
    by_ward = [
        Row(str(code), str(name or code), int(count))
        for code, name, count in (await session.execute(ward_query)).all()
    ]
    programme_query = scope.restrict(
        select(Lead.programme_id, func.count())
        .where(Lead.anonymised_at.is_(None))
        .group_by(Lead.programme_id)
        .order_by(func.count().desc())
    )
    by_programme = [
        Row(str(code), str(code), int(count))
        for code, count in (await session.execute(programme_query)).all()
    ]
    by_week = await _weeks(session, scope, now=now, zone=zone)
    return Statistics(
        funnel=funnel,
        by_status=by_status,
        by_ward=by_ward,
        by_programme=by_programme,
        by_week=by_week,
        total=total,
    )


async def _checks(session: AsyncSession) -> tuple[int, int]:
    """Conversations that started the eligibility check, and those that reached a verdict.

    Counted from the stored conversation states: a check abandoned and cancelled, or an
    owner who erased their data, is no longer counted.
    """
    rows = await session.execute(select(ConversationState.data))
    started = verdicts = 0
    for (data,) in rows:
        if not isinstance(data, dict):
            continue
        if "eligibility" in data:
            verdicts += 1
            started += 1
        elif "eligibility_progress" in data:
            started += 1
    return started, verdicts


async def _weeks(session: AsyncSession, scope: Scope, *, now: datetime, zone: tzinfo) -> list[Row]:
    """Leads per week (Monday to Sunday, local time) for the last :data:`WEEKS_SHOWN`."""
    local_today = now.astimezone(zone).date()
    monday = local_today - timedelta(days=local_today.weekday())
    first = monday - timedelta(weeks=WEEKS_SHOWN - 1)
    starts = [first + timedelta(weeks=i) for i in range(WEEKS_SHOWN)]
    bounds = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in starts]
    rows: list[Row] = []
    query = scope.restrict(select(Lead.created_at).where(Lead.anonymised_at.is_(None)))
    counts = [0] * WEEKS_SHOWN
    # One indexed range per week: a handful of cheap counts instead of a dialect-specific
    # date_trunc, and the same answer on SQLite and PostgreSQL.
    for index, start in enumerate(bounds):
        end = start + timedelta(weeks=1)
        counted = scope.restrict(
            select(func.count())
            .select_from(Lead)
            .where(Lead.anonymised_at.is_(None), Lead.created_at >= start, Lead.created_at < end)
        )
        counts[index] = int((await session.execute(counted)).scalar_one())
    del query
    for day, count in zip(starts, counts, strict=True):
        rows.append(Row(day.isoformat(), day.strftime("%d/%m"), count))
    return rows
