"""Statistics for the dashboard: the funnel, leads by ward, by programme and by week.

Counted in the database (GROUP BY), never by loading rows; a scoped officer sees only
their wards and programmes, and the conversation-level steps of the funnel (which belong
to no ward yet) only when unscoped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.scope import Scope
from storage.models import ConversationState
from storage.models.leads import Consent, ConsentAction, Lead, LeadStatus

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
    per_status, per_programme, per_ward = await _counts(session, scope)
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
    top_wards = sorted(per_ward.items(), key=lambda item: (-item[1], item[0]))[:TOP_WARDS]
    by_ward = [
        Row(code, await _ward_name(session, code) or code, count) for code, count in top_wards
    ]
    by_programme = [
        Row(code, code, count)
        for code, count in sorted(per_programme.items(), key=lambda item: (-item[1], item[0]))
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


Counts = dict[str, int]


async def _counts(session: AsyncSession, scope: Scope) -> tuple[Counts, Counts, Counts]:
    """Leads by status, by programme and by ward.

    One GROUP BY over the three columns (a few thousand groups), read in index order from
    the partial index ``ix_lead_stats`` (index only on PostgreSQL), summed here per
    dimension: a third of the time of GROUPING SETS, which hashes every row twice.
    """
    columns = (Lead.status, Lead.programme_id, Lead.commune_code)
    query = scope.restrict(
        select(*columns, func.count()).where(Lead.anonymised_at.is_(None)).group_by(*columns)
    )
    found: tuple[Counts, Counts, Counts] = ({}, {}, {})
    for *keys, count in (await session.execute(query)).all():
        for index, key in enumerate(keys):
            found[index][str(key)] = found[index].get(str(key), 0) + int(count)
    return found


async def _ward_name(session: AsyncSession, code: str) -> str:
    """The ward's name as the latest lead gave it (codes are what leads are grouped by)."""
    query = (
        select(Lead.commune_name)
        .where(Lead.anonymised_at.is_(None), Lead.commune_code == code)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(1)
    )
    return str((await session.execute(query)).scalar_one_or_none() or "")


async def _checks(session: AsyncSession) -> tuple[int, int]:
    """Conversations that started the eligibility check, and those that reached a verdict.

    Counted from the stored conversation states (their JSON names the keys): a check
    abandoned and cancelled, or an owner who erased their data, is no longer counted.
    """
    data = cast(ConversationState.data, Text)
    result = data.contains('"eligibility":')
    progress = data.contains('"eligibility_progress":')
    query = select(
        func.count().filter(or_(result, progress)), func.count().filter(result)
    ).select_from(ConversationState)
    started, verdicts = (await session.execute(query)).one()
    return int(started), int(verdicts)


async def _weeks(session: AsyncSession, scope: Scope, *, now: datetime, zone: tzinfo) -> list[Row]:
    """Leads per week (Monday to Sunday, local time) for the last :data:`WEEKS_SHOWN`."""
    local_today = now.astimezone(zone).date()
    monday = local_today - timedelta(days=local_today.weekday())
    first = monday - timedelta(weeks=WEEKS_SHOWN - 1)
    starts = [first + timedelta(weeks=i) for i in range(WEEKS_SHOWN)]
    bounds = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in starts]
    ends = [*bounds[1:], bounds[-1] + timedelta(weeks=1)]
    # One range scan of the newest-first index with a counter per week: the same SQL on
    # SQLite and PostgreSQL (no dialect-specific date_trunc).
    counted = scope.restrict(
        select(
            *(
                func.count().filter(Lead.created_at >= start, Lead.created_at < end)
                for start, end in zip(bounds, ends, strict=True)
            )
        )
        .select_from(Lead)
        .where(
            Lead.anonymised_at.is_(None),
            Lead.created_at >= bounds[0],
            Lead.created_at < ends[-1],
        )
    )
    counts = (await session.execute(counted)).one()
    return [
        Row(day.isoformat(), day.strftime("%d/%m"), int(count))
        for day, count in zip(starts, counts, strict=True)
    ]
