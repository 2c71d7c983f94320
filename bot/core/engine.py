"""The engine: incoming event → locked state → handler → one commit → replies.

Every step runs in one database transaction that records the event id (de-duplication),
loads and locks the user's state, runs the flow, then writes the new state, any domain rows,
the message log and the outbox together. Replies are sent only after that commit, so a user
is never told about something that was not saved; if the process dies before the commit the
event is not marked processed and its redelivery is handled from scratch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.content import Content
from bot.core.delivery import Sender, SendResult, SendStatus, send_fitted
from bot.core.flow import FlowContext, Identity
from bot.core.locks import KeyedLocks
from bot.core.messages import (
    Conversation,
    EventKind,
    InboundEvent,
    OutboundMessage,
    Step,
    message_from_dict,
    message_to_dict,
)
from bot.core.paging import MORE_KEEP_LABEL, MORE_LABEL, paginate
from bot.core.router import Router
from bot.core.sanitize import MalformedInputError, clean_event
from bot.core.unsent import RETRYABLE, first_unsent, queue_unsent
from bot.nlu.normalize import fold
from storage import Database
from storage.repositories.conversations import Conversations, LogLine, StateRow

log = logging.getLogger(__name__)

#: Attempts for one event when the database reports a transient conflict.
MAX_STEP_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.05
#: Delivered marks are written in batches: after this long, or once this many are pending.
DELIVERED_FLUSH_SECONDS = 2.0
DELIVERED_BATCH = 500
#: Button labels and recent typed texts whose comparison key is kept (a few dozen labels).
LABEL_KEY_CACHE_SIZE = 1024


class _AlreadyProcessedError(Exception):
    """The event id was in the processed set: the step is rolled back and not run again."""


class FlowFailedError(Exception):
    """A flow raised; its transaction is rolled back and the step is recorded without it."""

    def __init__(self, flow: str) -> None:
        super().__init__(flow)
        self.flow = flow


class Engine:
    """Handles events from every channel; channels call :meth:`process`."""

    def __init__(
        self,
        *,
        database: Database,
        content: Content,
        settings: Settings,
        router: Router,
        channels: Mapping[str, Sender] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.database = database
        self.content = content
        self.settings = settings
        self.router = router
        self.channels: dict[str, Sender] = dict(channels or {})
        self._zone = ZoneInfo(settings.timezone)
        self.clock: Clock = clock or SystemClock()
        self._locks = KeyedLocks()
        #: (channel, event id) of replies sent but not yet marked delivered in the database.
        self._delivered: list[tuple[str, str]] = []
        self._staff_chats = set(settings.staff_targets)
        #: Set when a step queued outbox messages, so the outbox worker wakes at once.
        self.outbox_ready = asyncio.Event()

    def register_channel(self, channel: Sender) -> None:
        self.channels[channel.name] = channel

    def now(self) -> datetime:
        return self.clock.now().astimezone(self._zone)

    async def process(self, event: InboundEvent) -> None:
        """Handle ``event`` and send the replies on its channel (the adapters' entry point).

        The user's lock is held until the replies are sent, so a user's replies also leave
        in order; other users are not held up by a slow send.
        """
        async with self._locks.hold((event.channel, event.user_id)):
            replies = await self._handle_with_retries(event)
            if replies:
                results = await self.deliver(event.channel, event.chat_id, replies)
                failed = first_unsent(results)
                if failed is not None:  # the rest waits in the outbox, in order
                    await queue_unsent(
                        self.database,
                        channel=event.channel,
                        chat_id=event.chat_id,
                        event_id=event.event_id,
                        replies=replies[failed:],
                        failure=results[failed],
                        now=self.now(),
                    )
                    self.outbox_ready.set()
                await self._mark_delivered(event)

    async def _mark_delivered(self, event: InboundEvent) -> None:
        """Once sent, a redelivery of this event must not send the replies again.

        The marks are written in batches (every few seconds, or every ``DELIVERED_BATCH``),
        not a transaction per step: if the process dies first, a redelivery sends the replies
        once more, which is the at-least-once promise anyway.
        """
        self._delivered.append((event.channel, event.event_id))
        if len(self._delivered) >= DELIVERED_BATCH:
            await self.flush_delivered()

    async def flush_delivered(self) -> None:
        """Write the pending delivered marks now (periodically, before a replay, at stop)."""
        if self._delivered:
            pending, self._delivered = self._delivered, []
            try:
                async with self.database.transaction() as session:
                    await Conversations(session).mark_delivered(pending, now=self.now())
            except BaseException:
                self._delivered[:0] = pending  # kept for the next flush
                raise

    async def run_delivery_marks(self) -> None:
        """Flush delivered marks every few seconds while idle (a runtime task)."""
        while True:
            await asyncio.sleep(DELIVERED_FLUSH_SECONDS)
            try:
                await self.flush_delivered()
            except Exception:
                log.exception("could not record delivered replies")

    async def deliver(
        self, channel_name: str, chat_id: str, replies: list[OutboundMessage]
    ) -> list[SendResult]:
        channel = self.channels.get(channel_name)
        if channel is None:
            log.warning("no channel %s to deliver %d replies", channel_name, len(replies))
            return []
        results = []
        for reply in replies:
            result = await send_fitted(channel, chat_id, reply)
            results.append(result)
            if result.status in {SendStatus.BLOCKED, SendStatus.NOT_FOUND} | RETRYABLE:
                break  # a later reply must not overtake one that will be retried
        return results

    async def handle(self, event: InboundEvent) -> list[OutboundMessage]:
        """Run one step for ``event`` and return the replies, after the commit."""
        async with self._locks.hold((event.channel, event.user_id)):
            return await self._handle_with_retries(event)

    async def _handle_with_retries(self, event: InboundEvent) -> list[OutboundMessage]:
        """Run the step, again after a transient database conflict, and once more without
        the flow when the flow itself raised (the user gets an apology, state unchanged)."""
        started = time.perf_counter()
        event = clean_event(event)  # raises MalformedInputError for ids that cannot be stored
        conflicts = 0
        failed = False
        while True:
            try:
                replies = await self._step(event, failed=failed)
            except FlowFailedError as exc:
                log.error("flow %s failed", exc.flow, exc_info=exc.__cause__)
                failed = True  # its writes were rolled back: record the step without it
                continue
            except DataError as exc:  # a value the database can never take: no retry helps
                raise MalformedInputError(type(exc.orig).__name__) from exc
            except (StaleDataError, OperationalError, DBAPIError) as exc:
                conflicts += 1
                if conflicts == MAX_STEP_ATTEMPTS or not _is_transient(exc):
                    raise
                log.warning("retrying event after a database conflict: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_PAUSE_SECONDS * conflicts)
                continue
            log.info(
                "event handled",
                extra={
                    "channel": event.channel,
                    "kind": event.kind.value,
                    "replies": len(replies),
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return replies

    async def _step(self, event: InboundEvent, *, failed: bool = False) -> list[OutboundMessage]:
        try:
            return await self._run_step(event, failed=failed)
        except _AlreadyProcessedError:
            return await self._replay(event)

    async def _run_step(self, event: InboundEvent, *, failed: bool) -> list[OutboundMessage]:
        now = self.now()
        staff_chat = (event.channel, event.chat_id) in self._staff_chats
        if not event.private and not staff_chat:
            log.info("ignored an event from a group chat", extra={"channel": event.channel})
            return []  # owner flows run in private chats only
        async with self.database.step_transaction() as session:
            repo = Conversations(session)
            identity, state = await repo.load_step(
                channel=event.channel,
                user_id=event.user_id,
                chat_id=event.chat_id if event.private else None,
                now=now,
            )
            if event.kind in {EventKind.BLOCKED, EventKind.UNBLOCKED}:
                blocked_at = now if event.kind is EventKind.BLOCKED else None
                await repo.set_blocked(identity_id=identity.id, at=blocked_at)
                await self._record_processed(session, event, now=now, replies=[])
                return []
            if identity.blocked_at is not None:  # writing again means they unblocked us
                await repo.set_blocked(identity_id=identity.id, at=None)
            event = map_typed_choice(event, state.last_choices)
            ctx = FlowContext(
                content=self.content,
                settings=self.settings,
                session=session,
                identity=Identity(
                    identity_id=identity.id,
                    person_id=identity.person_id,
                    channel=event.channel,
                    user_id=event.user_id,
                    chat_id=event.chat_id,
                ),
                now=now,
                from_staff_chat=(event.channel, event.chat_id) in self._staff_chats,
                channels=frozenset(self.channels),
            )
            step = await self._run_flow(ctx, state, event, failed=failed)
            if not ctx.from_staff_chat:  # owners read one phone screen at a time
                step = paginate(
                    step,
                    more_label=ctx.texts.label(MORE_LABEL),
                    keep_prefixes=tuple(ctx.texts.label(MORE_KEEP_LABEL).split("|")),
                )
            step.replies = number_choices(step.replies)
            await self._save(ctx, event=event, state=state, step=step, now=now)
        if ctx.notices:
            self.outbox_ready.set()
        return step.replies

    async def _record_processed(
        self,
        session: AsyncSession,
        event: InboundEvent,
        *,
        now: datetime,
        replies: list[OutboundMessage],
    ) -> None:
        """Add the event id to the processed set, with the replies to replay if the process
        dies before sending them; a repeat rolls the whole step back."""
        fresh = await Conversations(session).record_processed(
            channel=event.channel,
            event_id=event.event_id,
            now=now,
            replies=[message_to_dict(reply) for reply in replies] or None,
        )
        if not fresh:
            raise _AlreadyProcessedError

    async def _replay(self, event: InboundEvent) -> list[OutboundMessage]:
        """A repeat is never run twice. If its replies were committed but never confirmed
        sent (the process died in between), they are sent now."""
        await self.flush_delivered()  # sent in this process: nothing to replay then
        async with self.database.transaction() as session:  # reads only: no write lock
            stored = await Conversations(session).undelivered_replies(
                channel=event.channel, event_id=event.event_id
            )
        log.info("duplicate event", extra={"channel": event.channel, "replayed": len(stored)})
        return [message_from_dict(reply) for reply in stored]

    async def _run_flow(
        self, ctx: FlowContext, state: StateRow, event: InboundEvent, *, failed: bool
    ) -> Step:
        conversation = Conversation(flow=state.flow, step=state.step, data=dict(state.data))
        if failed:
            # The flow raised on the first try and its writes were rolled back with that
            # transaction: the user keeps their place and gets an apology, no stack trace.
            return Step(conversation, [ctx.say("core/error")])
        try:
            return await self.router.dispatch(ctx, conversation, event)
        except (StaleDataError, OperationalError, DBAPIError):
            raise
        except Exception as exc:
            raise FlowFailedError(state.flow) from exc

    async def _save(
        self,
        ctx: FlowContext,
        *,
        event: InboundEvent,
        state: StateRow,
        step: Step,
        now: datetime,
    ) -> None:
        """Write the step: new state, message log, outbox, the event id and its replies, in
        its transaction (on PostgreSQL one statement: ``Conversations.save_step``)."""
        session = ctx.session
        repo = Conversations(session)
        conv = step.conversation
        offered_before = state.last_choices
        state.flow, state.step, state.data = conv.flow, conv.step, dict(conv.data)
        offered = [[c.id, c.label] for reply in step.replies for c in reply.choices]
        if offered:
            state.last_choices = offered  # every option of the step, as numbered
        elif step.replies:
            state.last_choices = []
        if session.new or session.dirty or session.deleted:
            await session.flush()  # the flow's own ORM rows first (leads, consents…)
        log: list[LogLine] = []
        if not ctx.unlogged:  # an erasure step leaves no trace of itself
            log.append(LogLine("in", event.kind.value, _describe_inbound(event, offered_before)))
            log.extend(LogLine("out", "reply", reply.text) for reply in step.replies)
        for notice in ctx.notices:
            repo.enqueue(
                channel=notice.channel,
                chat_id=notice.chat_id,
                payload=message_to_dict(notice.message),
                topic=notice.topic,
                now=now,
            )
        fresh = await repo.save_step(
            state,
            now=now,
            log=log,
            channel=event.channel,
            event_id=event.event_id,
            replies=[message_to_dict(reply) for reply in step.replies] or None,
        )
        if not fresh:
            raise _AlreadyProcessedError


def number_choices(replies: list[OutboundMessage]) -> list[OutboundMessage]:
    """Number a step's options on from one reply to the next (channels without buttons show
    "1." to "n."), so a typed number means the same option as in ``last_choices``."""
    numbered: list[OutboundMessage] = []
    first = 1
    for reply in replies:
        renumbered = reply
        if reply.choices:
            if reply.first_number != first:
                renumbered = replace(reply, first_number=first)
            first += len(reply.choices)
        numbered.append(renumbered)
    return numbered


def map_typed_choice(event: InboundEvent, last_choices: list[object]) -> InboundEvent:
    """Read a typed "2" or a typed button label as a tap on that option.

    Channels without buttons show numbered options; owners also often type the label.
    """
    if event.kind is not EventKind.TEXT or not last_choices:
        return event
    typed = event.text.strip().rstrip(".)")
    options = [(str(item[0]), str(item[1])) for item in last_choices if isinstance(item, list)]
    if typed.isdigit():
        index = int(typed)
        if 1 <= index <= len(options):
            return event.with_choice(options[index - 1][0])
        return event
    key = _label_key(typed)
    if not key:
        return event
    for choice_id, label in options:
        if _label_key(label) == key:
            return event.with_choice(choice_id)
    return event


@functools.lru_cache(maxsize=LABEL_KEY_CACHE_SIZE)
def _label_key(text: str) -> str:
    """Cached: the labels of the last buttons are the same few dozen texts on every step."""
    folded = fold(text)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def _describe_inbound(event: InboundEvent, offered: list[object]) -> str:
    """The log line of what the user did; a tap is logged as the label they saw (the web
    chat shows it again from the log after a reload)."""
    if event.kind is EventKind.CHOICE:
        for item in offered:
            if isinstance(item, list) and len(item) > 1 and item[0] == event.text:
                return str(item[1])
        return event.text
    if event.kind is EventKind.CONTACT:
        return "[contact]"
    if event.kind is EventKind.LOCATION:
        return "[location]"
    if event.kind is EventKind.COMMAND:
        return f"/{event.text} {event.args}".strip()
    return event.text


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # the server dropped the connection (a restart): the pool has a fresh one
    text = str(exc).lower()
    return any(
        marker in text
        for marker in ("database is locked", "deadlock", "could not serialize", "busy")
    )
