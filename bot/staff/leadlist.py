"""The dashboard's lead list: filters from the query string, sorting, keyset pagination.

Keyset (``after=<sort value>~<id>``) rather than OFFSET: page 500 costs what page 1 costs,
and a lead arriving meanwhile never shifts a page. Counts stop at :data:`COUNT_CAP`, so a
broad filter over a million leads still answers in milliseconds ("more than 10 000").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.leads.codes import parse_lead_code
from bot.staff.scope import Scope
from storage.models.leads import Lead, LeadStatus
from storage.models.staff import VERDICT_ORDER, fold_search

PAGE_SIZE = 50
COUNT_CAP = 10_000
#: "Contains" is checked entry by entry: free-text counts stop sooner, walking the
#: newest-first index (its entries carry the search text: index-only on PostgreSQL).
TEXT_COUNT_CAP = 200
MAX_TEXT = 100
UNASSIGNED = "none"
MINE = "me"
CURSOR_SEPARATOR = "~"


class Sort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    ACTIVITY = "activity"


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """One filter as staff set it in the form; also what the export and bulk actions use."""

    statuses: tuple[str, ...] = ()
    programme: str = ""
    verdict: str = ""
    ward: str = ""
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: An account id, ``"me"`` or ``"none"`` (not assigned).
    assignee: str = ""
    text: str = ""
    sort: Sort = Sort.NEWEST
    after: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: Mapping[str, str], statuses: list[str] | None = None) -> LeadFilter:
        """Parse the query string; anything malformed is ignored, never an error page."""
        known = {status.value for status in LeadStatus}
        chosen = tuple(s for s in (statuses or []) if s in known)
        try:
            sort = Sort(query.get("sort", Sort.NEWEST))
        except ValueError:
            sort = Sort.NEWEST
        verdict = query.get("verdict", "")
        return cls(
            statuses=chosen,
            programme=query.get("programme", "").strip()[:64],
            verdict=verdict if verdict in VERDICT_ORDER or verdict == UNASSIGNED else "",
            ward=query.get("ward", "").strip()[:16],
            channel=query.get("channel", "").strip()[:16],
            date_from=_date(query.get("from", "")),
            date_to=_date(query.get("to", "")),
            assignee=query.get("assignee", "").strip()[:12],
            text=query.get("q", "").strip()[:MAX_TEXT],
            sort=sort,
            after=query.get("after", "")[:80],
        )

    def query_items(self, *, with_cursor: bool = False) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = [("status", status) for status in self.statuses]
        for key, value in (
            ("programme", self.programme),
            ("verdict", self.verdict),
            ("ward", self.ward),
            ("channel", self.channel),
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("assignee", self.assignee),
            ("q", self.text),
            ("sort", self.sort.value if self.sort is not Sort.NEWEST else ""),
        ):
            if value:
                items.append((key, value))
        if with_cursor and self.after:
            items.append(("after", self.after))
        return items

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def next_page(self, cursor: str) -> str:
        return urlencode(replace(self, after=cursor).query_items(with_cursor=True))


@dataclass(frozen=True, slots=True)
class Page:
    leads: list[Lead]
    count: int
    capped: bool
    next_cursor: str


def filtered(flt: LeadFilter, scope: Scope, *, zone: tzinfo) -> Select[Any]:
    """The leads matching ``flt`` within ``scope`` (not sorted, not paged)."""
    query = scope.restrict(select(Lead).where(Lead.anonymised_at.is_(None)))
    return query.where(*conditions(flt, scope, zone=zone))


def conditions(flt: LeadFilter, scope: Scope, *, zone: tzinfo) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.statuses:
        where.append(Lead.status.in_(list(flt.statuses)))
    if flt.programme:
        where.append(Lead.programme_id == flt.programme)
    if flt.verdict == UNASSIGNED:
        where.append(Lead.verdict == "")
    elif flt.verdict:
        where.append(Lead.verdict == flt.verdict)
    if flt.ward:
        where.append(Lead.commune_code == flt.ward)
    if flt.channel:
        where.append(Lead.channel == flt.channel)
    if flt.date_from is not None:
        where.append(Lead.created_at >= _start_of(flt.date_from, zone))
    if flt.date_to is not None:
        where.append(Lead.created_at < _start_of(flt.date_to + timedelta(days=1), zone))
    if flt.assignee == UNASSIGNED:
        where.append(Lead.assignee_id.is_(None))
    elif flt.assignee == MINE:
        where.append(Lead.assignee_id == scope.account_id)
    elif flt.assignee.isdigit():
        where.append(Lead.assignee_id == int(flt.assignee))
    code = parse_lead_code(flt.text.strip()) if flt.text.strip() else None
    folded = fold_search(flt.text).strip()
    if code is not None:  # a whole lead code: the unique index, not "contains"
        where.append(Lead.code == code)
    elif folded:
        where.append(Lead.search_text.contains(folded, autoescape=True))
    return where


async def page(session: AsyncSession, flt: LeadFilter, scope: Scope, *, zone: tzinfo) -> Page:
    base = filtered(flt, scope, zone=zone)
    key = _sort_column(flt.sort)
    descending = flt.sort is not Sort.OLDEST
    query = base
    cursor = _parse_cursor(flt.after)
    if cursor is not None:
        moment, lead_id = cursor
        if descending:
            query = query.where(or_(key < moment, and_(key == moment, Lead.id < lead_id)))
        else:
            query = query.where(or_(key > moment, and_(key == moment, Lead.id > lead_id)))
    order = (key.desc(), Lead.id.desc()) if descending else (key.asc(), Lead.id.asc())
    rows = list((await session.execute(query.order_by(*order).limit(PAGE_SIZE + 1))).scalars())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_cursor = ""
    if more and rows:
        last = rows[-1]
        value: datetime = getattr(last, key.key)
        next_cursor = f"{value.astimezone(UTC).isoformat()}{CURSOR_SEPARATOR}{last.id}"
    counted = base.with_only_columns(Lead.id)
    cap = COUNT_CAP
    if fold_search(flt.text).strip():
        cap = TEXT_COUNT_CAP
        counted = counted.order_by(Lead.created_at.desc(), Lead.id.desc())
    capped_query = counted.limit(cap + 1).subquery()
    count = int(
        (await session.execute(select(func.count()).select_from(capped_query))).scalar_one()
    )
    return Page(leads=rows, count=min(count, cap), capped=count > cap, next_cursor=next_cursor)


def _sort_column(sort: Sort) -> Any:
    return Lead.last_activity_at if sort is Sort.ACTIVITY else Lead.created_at


def _parse_cursor(raw: str) -> tuple[datetime, int] | None:
    moment, _, lead_id = raw.partition(CURSOR_SEPARATOR)
    try:
        parsed = datetime.fromisoformat(moment)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), int(lead_id)
    except ValueError:
        return None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)
