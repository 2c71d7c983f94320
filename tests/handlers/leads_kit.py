"""Plays the engine's part for the lead flows: one FlowContext per step, inside a transaction.

The flows are called directly (no router), so each test pins down one flow's behaviour;
the end-to-end tests go through the real engine in ``tests/harness.py``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings, load_settings
from bot.content import Content
from bot.flow import Flow, FlowContext, Identity, Notice
from bot.messages import Conversation, EventKind, InboundEvent, OutboundMessage, SharedContact
from storage import Database
from storage.models import ChannelIdentity, OutboxMessage, Person
from tests.conftest import CONTENT_DIR

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
STAFF_CHAT = ("telegram", "-100777")
_CONTENT: list[Content] = []


def content() -> Content:
    """One Content per test session (loading it parses every file)."""
    if not _CONTENT:
        _CONTENT.append(Content(CONTENT_DIR))
    return _CONTENT[0]


@dataclass
class Result:
    conv: Conversation
    replies: list[OutboundMessage]
    notices: list[Notice]
    trace: dict[str, object]

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)

    @property
    def choices(self) -> list[str]:
        return [choice.id for reply in self.replies for choice in reply.choices]


@dataclass
class Owner:
    """A user talking to one flow; keeps their conversation between steps like the engine."""

    kit: Kit
    identity: Identity
    conv: Conversation = field(default_factory=Conversation)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def event(self, kind: EventKind, text: str = "", **extra: object) -> InboundEvent:
        return InboundEvent(
            channel=self.identity.channel,
            user_id=self.identity.user_id,
            chat_id=self.identity.chat_id,
            event_id=f"{self.identity.user_id}-{next(self._ids)}",
            kind=kind,
            text=text,
            **extra,  # type: ignore[arg-type]
        )

    async def start(self, flow: Flow, choice: str | None = None) -> Result:
        self.conv.flow, self.conv.step = flow.name, "start"
        event = self.event(EventKind.CHOICE, choice or f"{flow.name}:start")
        return await self._run(flow, event, start=True)

    async def tap(self, flow: Flow, choice: str) -> Result:
        return await self._run(flow, self.event(EventKind.CHOICE, choice))

    async def say(self, flow: Flow, text: str) -> Result:
        return await self._run(flow, self.event(EventKind.TEXT, text))

    async def share(self, flow: Flow, phone: str, *, owner: str | None) -> Result:
        contact = SharedContact(phone=phone, owner_user_id=owner)
        return await self._run(flow, self.event(EventKind.CONTACT, contact=contact))

    async def _run(self, flow: Flow, event: InboundEvent, *, start: bool = False) -> Result:
        result = await self.kit.run(flow, self.identity, self.conv, event, start=start)
        self.conv = result.conv
        return result

    def stored(self) -> str:
        """The conversation data as the engine would store it (JSON)."""
        return json.dumps(self.conv.data, ensure_ascii=False)


@dataclass
class Kit:
    database: Database
    settings: Settings
    now: datetime = NOW
    outbox: list[Notice] = field(default_factory=list)
    staff: Owner | None = None
    _users: itertools.count[int] = field(default_factory=lambda: itertools.count(501))

    @classmethod
    def create(cls, database: Database, **overrides: object) -> Kit:
        staff = ",".join(f"{channel}:{chat}" for channel, chat in [STAFF_CHAT])
        settings = load_settings(database_url=str(database.url), staff_chats=staff, **overrides)
        return cls(database=database, settings=settings)

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def owner(self, user_id: str | None = None, channel: str = "telegram") -> Owner:
        user_id = user_id or str(next(self._users))
        async with self.database.session() as session, session.begin():
            person = Person(created_at=self.now)
            session.add(person)
            await session.flush()
            identity = ChannelIdentity(
                person_id=person.id,
                channel=channel,
                user_id=user_id,
                chat_id=user_id,
                created_at=self.now,
                last_seen_at=self.now,
            )
            session.add(identity)
            await session.flush()
            return Owner(self, Identity(identity.id, person.id, channel, user_id, user_id))

    async def run(
        self,
        flow: Flow,
        identity: Identity,
        conv: Conversation,
        event: InboundEvent,
        *,
        start: bool = False,
    ) -> Result:
        async with self.database.session() as session, session.begin():
            ctx = self.context(session, identity)
            handler = flow.start if start else flow.handle
            step = await handler(ctx, Conversation(conv.flow, conv.step, dict(conv.data)), event)
            self.outbox += ctx.notices
        return Result(step.conversation, step.replies, list(ctx.notices), dict(ctx.trace))

    def context(self, session: object, identity: Identity) -> FlowContext:
        return FlowContext(
            content=content(),
            settings=self.settings,
            session=session,  # type: ignore[arg-type]
            identity=identity,
            now=self.now,
        )

    async def deliver(self, notices: list[Notice], *, first_message_id: int) -> list[str]:
        """Store the notices as delivered outbox rows with platform ids (as the worker does)."""
        ids: list[str] = []
        async with self.database.session() as session, session.begin():
            for offset, notice in enumerate(notices):
                message_id = str(first_message_id + offset)
                ids.append(message_id)
                session.add(
                    OutboxMessage(
                        channel=notice.channel,
                        chat_id=notice.chat_id,
                        payload={"text": notice.message.text},
                        topic=notice.topic,
                        status="sent",
                        message_ids=[message_id],
                        created_at=self.now,
                        next_attempt_at=self.now,
                    )
                )
        return ids


async def link_staff(
    kit: Kit, *, user_id: str, username: str = "canbo", wards: tuple[str, ...] = ()
) -> None:
    """A staff account linked to the Telegram user ``user_id`` (as ``/lienket`` does)."""
    from storage.staff import StaffAccount, StaffIdentity

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
    kind: EventKind,
    args: str = "",
    reply_to: str | None = None,
    linked: bool = True,
    wards: tuple[str, ...] = (),
) -> Result:
    """One event from the staff chat, handled by ``handlers.staff`` as the engine would."""
    from handlers.staff import handle_staff_event

    if kit.staff is None:
        kit.staff = await kit.owner(user_id="9001")
        if linked:
            await link_staff(kit, user_id="9001", wards=wards)
    staff = kit.staff
    channel, chat_id = STAFF_CHAT
    event = InboundEvent(
        channel=channel,
        user_id="9001",
        chat_id=chat_id,
        event_id=f"staff-{text}-{args}-{reply_to}",
        kind=kind,
        text=text,
        args=args,
        reply_to_message_id=reply_to,
    )
    async with kit.database.session() as session, session.begin():
        ctx = kit.context(session, staff.identity)
        replies = await handle_staff_event(ctx, event)
        kit.outbox += ctx.notices
    return Result(Conversation(), replies, list(ctx.notices), dict(ctx.trace))
