"""The engine's repository: de-duplication, identities, state, logs and outbox per step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, Integer, Table, bindparam, column, delete, select, text, update
from sqlalchemy import insert as insert_into
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from storage.driver_statements import Outcome, driver_statements
from storage.models import (
    ChannelIdentity,
    ConversationState,
    MessageLog,
    OutboxMessage,
    Person,
    ProcessedEvent,
)

LOG_TEXT_LIMIT = 4000
#: last_seen_at is refreshed at most this often: one write saved on most steps.
LAST_SEEN_RESOLUTION = timedelta(minutes=10)
PROCESSED_EVENT: Table = ProcessedEvent.__table__  # type: ignore[assignment]
_PROCESSED_KEY = ["channel", "event_id"]
_PROCESSED_COLUMNS = ("channel", "event_id", "processed_at", "replies")
#: Built once: constructing statements per call costs more CPU than running them.
_INSERT_PROCESSED_PG = pg_insert(PROCESSED_EVENT).on_conflict_do_nothing(
    index_elements=_PROCESSED_KEY
)
_INSERT_PROCESSED_SQLITE = sqlite_insert(PROCESSED_EVENT).on_conflict_do_nothing(
    index_elements=_PROCESSED_KEY
)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _run(
    session: AsyncSession,
    statement: Executable,
    params: Any,
    *,
    column_keys: Sequence[str] | None = None,
) -> Outcome:
    """A prebuilt Core statement sent straight to the driver, on the session's connection and
    in its transaction (:mod:`storage.driver_statements`: a third of the CPU of SQLAlchemy's
    execution path; see bench/README.md). No autoflush: the commit flushes whatever a flow
    added."""
    return await driver_statements(session).run(
        session, statement, params, column_keys=column_keys
    )


# -- the engine's hot path, in Core: one statement per need, no unit-of-work bookkeeping ----

IDENTITY: Table = ChannelIdentity.__table__  # type: ignore[assignment]
STATE: Table = ConversationState.__table__  # type: ignore[assignment]
MESSAGE_LOG: Table = MessageLog.__table__  # type: ignore[assignment]

_IDENTITY_COLUMNS = (
    IDENTITY.c.id,
    IDENTITY.c.person_id,
    IDENTITY.c.chat_id,
    IDENTITY.c.last_seen_at,
    IDENTITY.c.blocked_at,
)
_STATE_COLUMNS = (STATE.c.flow, STATE.c.step, STATE.c.data, STATE.c.last_choices, STATE.c.version)
_BY_SENDER = (
    IDENTITY.c.channel == bindparam("channel"),
    IDENTITY.c.user_id == bindparam("user_id"),
)
_SELECT_IDENTITY = select(*_IDENTITY_COLUMNS).where(*_BY_SENDER)
_SELECT_STATE = select(*_STATE_COLUMNS).where(STATE.c.identity_id == bindparam("identity_id"))
_SELECT_STATE_LOCKED = _SELECT_STATE.with_for_update()
#: Identity and conversation in one round trip: the common case of a known user.
_SELECT_STEP = (
    select(*_IDENTITY_COLUMNS, *_STATE_COLUMNS)
    .select_from(IDENTITY.join(STATE, STATE.c.identity_id == IDENTITY.c.id))
    .where(*_BY_SENDER)
)
_SELECT_STEP_LOCKED = _SELECT_STEP.with_for_update(of=STATE)
_UPDATE_STATE = (
    update(STATE)
    .where(
        STATE.c.identity_id == bindparam("key_identity_id"),
        STATE.c.version == bindparam("key_version"),
    )
    .values(
        flow=bindparam("new_flow", type_=STATE.c.flow.type),
        step=bindparam("new_step", type_=STATE.c.step.type),
        data=bindparam("new_data", type_=STATE.c.data.type),
        last_choices=bindparam("new_last_choices", type_=STATE.c.last_choices.type),
        version=bindparam("new_version", type_=STATE.c.version.type),
        updated_at=bindparam("new_updated_at", type_=STATE.c.updated_at.type),
    )
)
_INSERT_LOG = insert_into(MESSAGE_LOG)
_TOUCH_IDENTITY = (
    update(IDENTITY)
    .where(IDENTITY.c.id == bindparam("key_id"))
    .values(
        chat_id=bindparam("new_chat_id", type_=IDENTITY.c.chat_id.type),
        last_seen_at=bindparam("new_last_seen_at", type_=IDENTITY.c.last_seen_at.type),
    )
)
_LOG_COLUMNS = ("identity_id", "direction", "kind", "text", "created_at")


PERSON: Table = Person.__table__  # type: ignore[assignment]
_INSERT_PERSON = insert_into(PERSON).returning(PERSON.c.id)
_PERSON_KEYS = ("created_at",)
_DELETE_PERSON = delete(PERSON).where(PERSON.c.id == bindparam("key_id"))
_IDENTITY_KEYS = ("person_id", "channel", "user_id", "chat_id", "created_at", "last_seen_at")
_INSERT_IDENTITY_PG = (
    pg_insert(IDENTITY)
    .on_conflict_do_nothing(index_elements=["channel", "user_id"])
    .returning(IDENTITY.c.id)
)
_INSERT_IDENTITY_SQLITE = (
    sqlite_insert(IDENTITY)
    .on_conflict_do_nothing(index_elements=["channel", "user_id"])
    .returning(IDENTITY.c.id)
)
#: Where a new conversation starts.
NEW_FLOW = "menu"
NEW_STEP = "start"
_STATE_KEYS = ("identity_id", "flow", "step", "data", "last_choices", "version", "updated_at")
_INSERT_STATE_PG = (
    pg_insert(STATE)
    .on_conflict_do_nothing(index_elements=["identity_id"])
    .returning(*_STATE_COLUMNS)
)
_INSERT_STATE_SQLITE = (
    sqlite_insert(STATE)
    .on_conflict_do_nothing(index_elements=["identity_id"])
    .returning(*_STATE_COLUMNS)
)

#: PostgreSQL: a step's whole write (new state, message log, processed event id) in one
#: statement, one round trip instead of three. Each part depends on the state's version
#: check, so a conflict writes nothing; a repeated event id records nothing (``recorded``
#: 0) and the caller rolls the transaction back, as with the separate statements.
_SAVE_STEP_PG = (
    text(
        """
WITH saved AS (
    UPDATE conversation_state
    SET flow = :new_flow, step = :new_step, data = :new_data,
        last_choices = :new_last_choices, version = :new_version,
        updated_at = :new_updated_at
    WHERE identity_id = :key_identity_id AND version = :key_version
    RETURNING identity_id
), logged AS (
    INSERT INTO message_log (identity_id, direction, kind, text, created_at)
    SELECT saved.identity_id, rows.direction, rows.kind, rows.text, :log_created_at
    FROM saved, json_to_recordset(:log_rows) AS rows(direction varchar, kind varchar, text text)
), recorded AS (
    INSERT INTO processed_event (channel, event_id, processed_at, replies)
    SELECT :channel, :event_id, :processed_at, :replies FROM saved
    ON CONFLICT (channel, event_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM saved) AS saved, (SELECT count(*) FROM recorded) AS recorded
"""
    )
    .bindparams(
        bindparam("new_flow", type_=STATE.c.flow.type),
        bindparam("new_step", type_=STATE.c.step.type),
        bindparam("new_data", type_=STATE.c.data.type),
        bindparam("new_last_choices", type_=STATE.c.last_choices.type),
        bindparam("new_version", type_=STATE.c.version.type),
        bindparam("new_updated_at", type_=STATE.c.updated_at.type),
        bindparam("key_identity_id", type_=STATE.c.identity_id.type),
        bindparam("key_version", type_=STATE.c.version.type),
        bindparam("log_created_at", type_=MESSAGE_LOG.c.created_at.type),
        bindparam("log_rows", type_=PROCESSED_EVENT.c.replies.type),
        bindparam("channel", type_=PROCESSED_EVENT.c.channel.type),
        bindparam("event_id", type_=PROCESSED_EVENT.c.event_id.type),
        bindparam("processed_at", type_=PROCESSED_EVENT.c.processed_at.type),
        bindparam("replies", type_=PROCESSED_EVENT.c.replies.type),
    )
    .columns(column("saved", Integer), column("recorded", Integer))
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One message-log row of a step (its identity and time are the step's)."""

    direction: str
    kind: str
    text: str


@dataclass(slots=True)
class IdentityRow:
    id: int
    person_id: int
    chat_id: str
    last_seen_at: datetime
    blocked_at: datetime | None


@dataclass(slots=True)
class StateRow:
    identity_id: int
    flow: str
    step: str
    data: dict[str, Any]
    last_choices: list[Any]
    version: int


def _state_params(state: StateRow, *, now: datetime) -> dict[str, Any]:
    """The parameters of ``_UPDATE_STATE`` (and of the same update in ``_SAVE_STEP_PG``):
    the new values, and the version they replace."""
    return {
        "key_identity_id": state.identity_id,
        "key_version": state.version,
        "new_flow": state.flow,
        "new_step": state.step,
        "new_data": state.data,
        "new_last_choices": state.last_choices,
        "new_version": state.version + 1,
        "new_updated_at": now,
    }


def _changed_meanwhile(state: StateRow) -> StaleDataError:
    """The optimistic check failed: another writer saved this conversation first."""
    return StaleDataError(f"conversation of identity {state.identity_id} changed meanwhile")


def _state_row(identity_id: int, columns: Sequence[Any]) -> StateRow:
    """A :class:`StateRow` from the values of ``_STATE_COLUMNS``, in that order."""
    flow, step, data, last_choices, version = columns
    return StateRow(identity_id, flow, step, dict(data or {}), list(last_choices or []), version)


class Conversations:
    """The queries the engine runs on every step (de-duplication, identities, state, the
    message log, the outbox), on one session; never commits (the caller owns the
    transaction), like every repository."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_processed(
        self,
        *,
        channel: str,
        event_id: str,
        now: datetime,
        replies: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Add the event id to the processed set with the step's replies, last in the step's
        transaction; False if it was already there (a redelivery: roll the step back).

        Recording at the end rather than checking first saves a round trip on every step; a
        repeat costs one discarded run of its flow, and repeats are rare.
        """
        statement = (
            _INSERT_PROCESSED_PG if _is_postgres(self.session) else _INSERT_PROCESSED_SQLITE
        )
        params = {
            "channel": channel,
            "event_id": event_id,
            "processed_at": now,
            "replies": replies,
        }
        result = await _run(self.session, statement, params, column_keys=_PROCESSED_COLUMNS)
        return result.rowcount > 0

    async def undelivered_replies(self, *, channel: str, event_id: str) -> list[dict[str, Any]]:
        """The replies of an already processed event that were never confirmed delivered."""
        row = await self.session.get(ProcessedEvent, (channel, event_id))
        if row is None or row.delivered_at is not None or not row.replies:
            return []
        return list(row.replies)

    async def mark_delivered(self, events: list[tuple[str, str]], *, now: datetime) -> None:
        """Mark (channel, event id) pairs as delivered, one statement per channel; the replies
        kept for a replay are dropped then (they may hold personal data)."""
        table = PROCESSED_EVENT
        by_channel: dict[str, list[str]] = {}
        for channel, event_id in events:
            by_channel.setdefault(channel, []).append(event_id)
        for channel, event_ids in by_channel.items():
            await self.session.execute(
                update(table)
                .where(table.c.channel == channel, table.c.event_id.in_(event_ids))
                .values(delivered_at=now, replies=None)
            )

    async def purge_processed(self, *, older_than: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.processed_at < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def find_identity(self, *, channel: str, user_id: str) -> ChannelIdentity | None:
        statement = select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def log_message(
        self, *, identity_id: int, direction: str, kind: str, text: str, now: datetime
    ) -> None:
        self.session.add(
            MessageLog(
                identity_id=identity_id,
                direction=direction,
                kind=kind,
                text=text[:LOG_TEXT_LIMIT],
                created_at=now,
            )
        )

    def enqueue(
        self,
        *,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        topic: str,
        now: datetime,
        due: datetime | None = None,
    ) -> None:
        self.session.add(
            OutboxMessage(
                channel=channel,
                chat_id=chat_id,
                payload=payload,
                topic=topic,
                status="pending",
                attempts=0,
                next_attempt_at=due or now,
                created_at=now,
                last_error="",
                message_ids=[],
            )
        )

    async def history(
        self, *, identity_id: int, after_id: int = 0, kinds: tuple[str, ...] = ()
    ) -> list[MessageLog]:
        statement = (
            select(MessageLog)
            .where(MessageLog.identity_id == identity_id, MessageLog.id > after_id)
            .order_by(MessageLog.id)
        )
        if kinds:
            statement = statement.where(MessageLog.kind.in_(kinds))
        return list((await self.session.execute(statement)).scalars())

    async def recent(self, *, identity_id: int, limit: int) -> list[MessageLog]:
        """The last ``limit`` messages of one identity, oldest first (the web chat's history)."""
        statement = (
            select(MessageLog)
            .where(MessageLog.identity_id == identity_id)
            .order_by(MessageLog.id.desc())
            .limit(limit)
        )
        rows = list((await self.session.execute(statement)).scalars())
        rows.reverse()
        return rows

    async def offered_choices(self, *, identity_id: int) -> list[Any]:
        """The buttons last offered to one identity (``[[id, label], …]``), still live."""
        statement = select(ConversationState.last_choices).where(
            ConversationState.identity_id == identity_id
        )
        choices = await self.session.scalar(statement)
        return list(choices or [])

    async def identity_for_step(
        self, *, channel: str, user_id: str, chat_id: str | None, now: datetime
    ) -> IdentityRow:
        """The sender's identity (created with its person on first contact), kept current."""
        params = {"channel": channel, "user_id": user_id}
        rows = (await _run(self.session, _SELECT_IDENTITY, params)).rows
        if not rows:
            created = await self._create_identity(
                channel=channel, user_id=user_id, chat_id=chat_id, now=now
            )
            if created is not None:
                return created
            rows = (await _run(self.session, _SELECT_IDENTITY, params)).rows
        found = IdentityRow(*rows[0])
        await self._refresh_identity(found, chat_id=chat_id, now=now)
        return found

    async def _create_identity(
        self, *, channel: str, user_id: str, chat_id: str | None, now: datetime
    ) -> IdentityRow | None:
        """A new person and identity in two statements (no ORM flush, no savepoint); None
        when another worker created the identity first (the person made here is dropped)."""
        person_rows = (
            await _run(self.session, _INSERT_PERSON, {"created_at": now}, column_keys=_PERSON_KEYS)
        ).rows
        person_id = int(person_rows[0][0])
        chat_id = chat_id or user_id  # a group chat never stands for the user's own chat
        params = {
            "person_id": person_id,
            "channel": channel,
            "user_id": user_id,
            "chat_id": chat_id,
            "created_at": now,
            "last_seen_at": now,
        }
        insert = _INSERT_IDENTITY_PG if _is_postgres(self.session) else _INSERT_IDENTITY_SQLITE
        rows = (await _run(self.session, insert, params, column_keys=_IDENTITY_KEYS)).rows
        if not rows:
            await _run(self.session, _DELETE_PERSON, {"key_id": person_id})
            return None
        return IdentityRow(int(rows[0][0]), person_id, chat_id, now, None)

    async def set_blocked(self, *, identity_id: int, at: datetime | None) -> None:
        await self.session.execute(
            update(IDENTITY).where(IDENTITY.c.id == identity_id).values(blocked_at=at)
        )

    async def state_for_step(self, *, identity_id: int, now: datetime) -> StateRow:
        """The conversation row, created on first contact and locked for the transaction on
        PostgreSQL (two workers never interleave one user's updates; on SQLite, one process,
        the engine's per-user lock orders them)."""
        postgres = _is_postgres(self.session)
        params = {
            "identity_id": identity_id,
            "flow": NEW_FLOW,
            "step": NEW_STEP,
            "data": {},
            "last_choices": [],
            "version": 0,
            "updated_at": now,
        }
        insert = _INSERT_STATE_PG if postgres else _INSERT_STATE_SQLITE
        rows = (await _run(self.session, insert, params, column_keys=_STATE_KEYS)).rows
        if not rows:  # it existed already: read it (locked on PostgreSQL)
            statement = _SELECT_STATE_LOCKED if postgres else _SELECT_STATE
            rows = (await _run(self.session, statement, {"identity_id": identity_id})).rows
        return _state_row(identity_id, rows[0])

    async def load_step(
        self, *, channel: str, user_id: str, chat_id: str | None, now: datetime
    ) -> tuple[IdentityRow, StateRow]:
        """The sender's identity and conversation (locked on PostgreSQL), created on first
        contact; one query for a known user."""
        statement = _SELECT_STEP_LOCKED if _is_postgres(self.session) else _SELECT_STEP
        rows = (await _run(self.session, statement, {"channel": channel, "user_id": user_id})).rows
        row = rows[0] if rows else None
        if row is None:
            identity = await self.identity_for_step(
                channel=channel, user_id=user_id, chat_id=chat_id, now=now
            )
            return identity, await self.state_for_step(identity_id=identity.id, now=now)
        identity = IdentityRow(*row[: len(_IDENTITY_COLUMNS)])
        state = _state_row(identity.id, row[len(_IDENTITY_COLUMNS) :])
        await self._refresh_identity(identity, chat_id=chat_id, now=now)
        return identity, state

    async def _refresh_identity(
        self, identity: IdentityRow, *, chat_id: str | None, now: datetime
    ) -> None:
        chat_id = chat_id or identity.chat_id  # None: a group chat never replaces the user's
        if identity.chat_id != chat_id or now - identity.last_seen_at >= LAST_SEEN_RESOLUTION:
            params = {"key_id": identity.id, "new_chat_id": chat_id, "new_last_seen_at": now}
            await _run(self.session, _TOUCH_IDENTITY, params)
            identity.chat_id, identity.last_seen_at = chat_id, now

    async def save_state(self, state: StateRow, *, now: datetime) -> None:
        """Write the new state; a concurrent writer in between is a conflict (optimistic check)."""
        result = await _run(self.session, _UPDATE_STATE, _state_params(state, now=now))
        if result.rowcount == 0:
            raise _changed_meanwhile(state)

    async def save_step(
        self,
        state: StateRow,
        *,
        now: datetime,
        log: Sequence[LogLine],
        channel: str,
        event_id: str,
        replies: list[dict[str, Any]] | None,
    ) -> bool:
        """The end of a step: the new state (optimistic check: :class:`StaleDataError` if
        another writer came first), its message-log lines and the processed event id.
        False when the event id was already there (a redelivery: roll the step back)."""
        if not _is_postgres(self.session):
            await self.save_state(state, now=now)
            await self.log_messages(
                [
                    {
                        "identity_id": state.identity_id,
                        "direction": line.direction,
                        "kind": line.kind,
                        "text": line.text,
                        "created_at": now,
                    }
                    for line in log
                ]
            )
            return await self.record_processed(
                channel=channel, event_id=event_id, now=now, replies=replies
            )
        params = {
            **_state_params(state, now=now),
            "log_created_at": now,
            "log_rows": [
                {
                    "direction": line.direction,
                    "kind": line.kind,
                    "text": str(line.text)[:LOG_TEXT_LIMIT],
                }
                for line in log
            ],
            "channel": channel,
            "event_id": event_id,
            "processed_at": now,
            "replies": replies,
        }
        ((saved, recorded),) = (await _run(self.session, _SAVE_STEP_PG, params)).rows
        if saved == 0:
            raise _changed_meanwhile(state)
        return bool(recorded)

    async def log_messages(self, rows: list[dict[str, Any]]) -> None:
        """All of a step's message-log rows in one statement."""
        if rows:
            for row in rows:
                row["text"] = str(row["text"])[:LOG_TEXT_LIMIT]
            await _run(self.session, _INSERT_LOG, rows, column_keys=_LOG_COLUMNS)
