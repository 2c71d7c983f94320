"""The lead flows' test kit: owners and a staff chat on the one test driver
(:class:`tests.harness.User`), so every step goes through the real engine (router, typed
choices, flows, one committed step) and the notices it queued are read from the outbox.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.core.clock import FixedClock
from bot.core.config import Settings, load_settings
from bot.core.engine import Engine
from bot.core.flow import FlowContext, Identity, Notice
from bot.core.messages import Conversation, InboundEvent, OutboundMessage, message_from_dict
from storage import ConversationState, Database
from storage.models import ChannelIdentity, OutboxMessage, Person
from tests.harness import Replies, User, fixed_clock, make_engine

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
STAFF_CHAT = ("telegram", "-100777")
STAFF_USER = "9001"


@dataclass(frozen=True, slots=True)
class QueuedNotice(Notice):
    """A notice as the step left it in the outbox, with its row."""

    row_id: int = 0


class Result(Replies):
    """The replies of one step and the notices it queued."""

    notices: list[QueuedNotice]

    @property
    def replies(self) -> list[OutboundMessage]:
        return list(self)


class Owner(User):
    """An owner on a channel identity made beforehand; ``conv`` is the committed state."""

    def __init__(self, kit: Kit, identity: Identity) -> None:
        super().__init__(kit.engine, user_id=identity.user_id, channel=identity.channel)
        self.kit = kit
        self.identity = identity
        self.conv = Conversation()

    async def send(self, event: InboundEvent) -> Result:
        result = Result(await super().send(event))
        result.notices = await self.kit.queued()
        self.conv = await self.conversation()
        return result

    async def share(self, phone: str, *, owner: str | None) -> Result:
        """A shared contact card; ``owner`` None: the platform did not say whose it is."""
        from bot.core.messages import EventKind, SharedContact

        contact = SharedContact(phone=phone, owner_user_id=owner)
        return await self.send(self.event(EventKind.CONTACT, contact=contact))

    async def put(self, conv: Conversation) -> None:
        """Overwrite the committed state (a redelivery, data left by another flow)."""
        async with self.kit.database.session() as session, session.begin():
            row = await session.get(ConversationState, self.identity.identity_id)
            if row is None:
                row = ConversationState(identity_id=self.identity.identity_id)
                session.add(row)
            row.flow, row.step, row.data = conv.flow, conv.step, dict(conv.data)
            row.updated_at = self.kit.now
        self.conv = conv

    def stored(self) -> str:
        """The conversation data as the engine stored it (JSON)."""
        return json.dumps(self.conv.data, ensure_ascii=False)


@dataclass
class Kit:
    database: Database
    settings: Settings
    clock: FixedClock
    engine: Engine
    outbox: list[QueuedNotice] = field(default_factory=list)
    staff: Owner | None = None
    _users: itertools.count[int] = field(default_factory=lambda: itertools.count(501))
    _last_row: int = 0

    @classmethod
    def create(cls, database: Database, **overrides: object) -> Kit:
        staff = ",".join(f"{channel}:{chat}" for channel, chat in [STAFF_CHAT])
        settings = load_settings(database_url=str(database.url), staff_chats=staff, **overrides)
        clock = fixed_clock(NOW)
        engine, _ = make_engine(database, settings=settings, clock=clock)
        return cls(database=database, settings=settings, clock=clock, engine=engine)

    @property
    def now(self) -> datetime:
        return self.engine.now()

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    async def owner(
        self, user_id: str | None = None, channel: str = "telegram", *, chat_id: str = ""
    ) -> Owner:
        user_id = user_id or str(next(self._users))
        chat_id = chat_id or user_id
        async with self.database.session() as session, session.begin():
            person = Person(created_at=self.now)
            session.add(person)
            await session.flush()
            identity = ChannelIdentity(
                person_id=person.id,
                channel=channel,
                user_id=user_id,
                chat_id=chat_id,
                created_at=self.now,
                last_seen_at=self.now,
            )
            session.add(identity)
            await session.flush()
            owner = Owner(self, Identity(identity.id, person.id, channel, user_id, chat_id))
        owner.chat_id = chat_id
        return owner

    async def queued(self) -> list[QueuedNotice]:
        """The outbox rows written since the last look, as notices (kept in ``outbox``)."""
        async with self.database.session() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.id > self._last_row)
                    .order_by(OutboxMessage.id)
                )
            ).scalars()
            notices = [
                QueuedNotice(
                    row.channel,
                    row.chat_id,
                    message_from_dict(dict(row.payload)),
                    row.topic or "",
                    row_id=row.id,
                )
                for row in rows
            ]
        if notices:
            self._last_row = notices[-1].row_id
        self.outbox += notices
        return notices

    def context(self, session: object, identity: Identity) -> FlowContext:
        """A step's context, for calling a toolkit function directly inside a transaction."""
        return FlowContext(
            content=self.engine.content,
            settings=self.settings,
            session=session,  # type: ignore[arg-type]
            identity=identity,
            now=self.now,
        )

    async def deliver(self, notices: list[QueuedNotice], *, first_message_id: int) -> list[str]:
        """Mark the notices' rows sent with platform message ids (as the outbox worker does)."""
        ids: list[str] = []
        async with self.database.session() as session, session.begin():
            for offset, notice in enumerate(notices):
                message_id = str(first_message_id + offset)
                ids.append(message_id)
                row = await session.get(OutboxMessage, notice.row_id)
                assert row is not None
                row.status, row.message_ids, row.sent_at = "sent", [message_id], self.now
        return ids


async def link_staff(
    kit: Kit, *, user_id: str, username: str = "canbo", wards: tuple[str, ...] = ()
) -> None:
    """A staff account linked to the Telegram user ``user_id`` (as ``/lienket`` does)."""
    from storage.models.staff import StaffAccount, StaffIdentity

    async with kit.database.session() as session, session.begin():
        account = StaffAccount(
            username=username,
            password_hash="-",
            role="staff",
            wards=list(wards),
            programmes=[],
            active=True,
            must_change_password=False,
            created_at=kit.now,
            updated_at=kit.now,
        )
        session.add(account)
        await session.flush()
        session.add(
            StaffIdentity(
                account_id=account.id, channel=STAFF_CHAT[0], user_id=user_id, linked_at=kit.now
            )
        )


async def staff_event(
    kit: Kit,
    text: str,
    *,
    kind: object,
    args: str = "",
    reply_to: str | None = None,
    linked: bool = True,
    wards: tuple[str, ...] = (),
) -> Result:
    """One event from the staff chat, through the engine (which hands it to the staff side)."""
    if kit.staff is None:
        kit.staff = await kit.owner(user_id=STAFF_USER, chat_id=STAFF_CHAT[1])
        if linked:
            await link_staff(kit, user_id=STAFF_USER, wards=wards)
    staff = kit.staff
    event = staff.event(kind, text, args=args, reply_to_message_id=reply_to)  # type: ignore[arg-type]
    return await staff.send(event)
