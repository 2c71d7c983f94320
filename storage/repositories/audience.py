"""Who a broadcast goes to: a filter over subscriptions, leads and channel identities.

The base is always the opted-in: a person with an active subscription to one of the
broadcast's topics (or to every topic), reached through an identity that has not blocked the
bot. Filters narrow it down and combine with AND; inside one filter the values combine
with OR. Lead filters (ward, province, programme, status, verdict) must hold for one and the
same lead of the person. Each person is counted once, reached on their most recently active
identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, cast, distinct, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from storage.models import ChannelIdentity
from storage.models.leads import Lead, Subscription
from storage.repositories.subscriptions import TOPIC_ALL

#: Channels that can carry a message the owner did not ask for just now.
PUSH_CHANNELS: tuple[str, ...] = ("telegram", "zalo_oa", "zalo_bot", "zalo")


def _strings(values: object) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return tuple(part.strip() for part in values.split(",") if part.strip())
    if isinstance(values, Iterable):
        return tuple(str(value).strip() for value in values if str(value).strip())
    return (str(values),)


@dataclass(frozen=True, slots=True)
class Audience:
    """A broadcast's audience filter; every field empty means "every subscriber"."""

    topics: tuple[str, ...] = ()
    #: Ward / commune codes (``Lead.commune_code``).
    communes: tuple[str, ...] = ()
    #: Province codes; the caller expands them to ``province_communes`` before querying.
    provinces: tuple[str, ...] = ()
    province_communes: tuple[str, ...] = field(default=(), compare=False)
    programmes: tuple[str, ...] = ()
    lead_statuses: tuple[str, ...] = ()
    #: Eligibility outcomes seen by the owner (``eligible``, ``not_eligible``, ``unclear``…).
    verdicts: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    #: Last message from the owner at most this many days ago.
    active_within_days: int | None = None
    #: …or at least this many days ago (to reach the quiet ones).
    inactive_for_days: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Audience:
        data = data or {}

        def days(key: str) -> int | None:
            value = data.get(key)
            return int(value) if value not in (None, "") else None

        return cls(
            topics=_strings(data.get("topics")),
            communes=_strings(data.get("communes")),
            provinces=_strings(data.get("provinces")),
            province_communes=_strings(data.get("province_communes")),
            programmes=_strings(data.get("programmes")),
            lead_statuses=_strings(data.get("lead_statuses")),
            verdicts=_strings(data.get("verdicts")),
            channels=_strings(data.get("channels")),
            active_within_days=days("active_within_days"),
            inactive_for_days=days("inactive_for_days"),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("province_communes")
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in data.items()
            if value not in ((), None)
        }

    @property
    def has_lead_filter(self) -> bool:
        return bool(
            self.communes
            or self.provinces
            or self.programmes
            or self.lead_statuses
            or self.verdicts
        )


def _verdict_like(verdict: str) -> ColumnElement[bool]:
    # The JSON text as written, the same on SQLite and PostgreSQL's json type; portable
    # where JSON path operators are not. orjson writes ``"outcome":"eligible"``; rows from
    # before it (json.dumps) have a space after the colon.
    text = cast(Lead.eligibility, String)
    return or_(
        text.like(f'%"outcome":"{verdict}"%'),
        text.like(f'%"outcome": "{verdict}"%'),
    )


def _lead_conditions(audience: Audience) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Lead.person_id == ChannelIdentity.person_id,
        Lead.anonymised_at.is_(None),
    ]
    if audience.communes:
        conditions.append(Lead.commune_code.in_(audience.communes))
    if audience.provinces:
        # A province with no known commune matches nobody (never everybody).
        conditions.append(Lead.commune_code.in_(audience.province_communes or ("-",)))
    if audience.programmes:
        conditions.append(Lead.programme_id.in_(audience.programmes))
    if audience.lead_statuses:
        conditions.append(Lead.status.in_(audience.lead_statuses))
    if audience.verdicts:
        conditions.append(or_(*(_verdict_like(verdict) for verdict in audience.verdicts)))
    return conditions


def reachable_identities(
    audience: Audience, *, now: datetime, channels: Sequence[str] = PUSH_CHANNELS
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``ChannelIdentity`` for everyone in the audience."""
    topics = [*audience.topics, TOPIC_ALL] if audience.topics else None
    subscribed = exists().where(
        Subscription.person_id == ChannelIdentity.person_id,
        Subscription.active.is_(True),
        *([Subscription.topic.in_(topics)] if topics else []),
    )
    allowed = [c for c in channels if not audience.channels or c in audience.channels]
    conditions: list[ColumnElement[bool]] = [
        ChannelIdentity.blocked_at.is_(None),
        ChannelIdentity.channel.in_(allowed or ("-",)),
        subscribed,
    ]
    if audience.has_lead_filter:
        conditions.append(exists().where(and_(*_lead_conditions(audience))))
    if audience.active_within_days is not None:
        since = now - timedelta(days=audience.active_within_days)
        conditions.append(ChannelIdentity.last_seen_at >= since)
    if audience.inactive_for_days is not None:
        before = now - timedelta(days=audience.inactive_for_days)
        conditions.append(ChannelIdentity.last_seen_at <= before)
    return conditions


def count_statement(
    audience: Audience, *, now: datetime, channels: Sequence[str] = PUSH_CHANNELS
) -> Select[Any]:
    where = reachable_identities(audience, now=now, channels=channels)
    return select(func.count(distinct(ChannelIdentity.person_id))).where(*where)


def recipients_statement(
    audience: Audience, *, now: datetime, channels: Sequence[str] = PUSH_CHANNELS
) -> Select[Any]:
    """(person_id, identity_id, channel, chat_id), one row per person: the identity they
    used last."""
    where = reachable_identities(audience, now=now, channels=channels)
    rank = (
        func.row_number()
        .over(
            partition_by=ChannelIdentity.person_id,
            order_by=(ChannelIdentity.last_seen_at.desc(), ChannelIdentity.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(
            ChannelIdentity.person_id,
            ChannelIdentity.id.label("identity_id"),
            ChannelIdentity.channel,
            ChannelIdentity.chat_id,
            rank,
        )
        .where(*where)
        .subquery()
    )
    return (
        select(ranked.c.person_id, ranked.c.identity_id, ranked.c.channel, ranked.c.chat_id)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.person_id)
    )
