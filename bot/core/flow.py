"""What a conversation flow (in ``handlers/``) receives and returns.

A flow is two plain async functions: ``start`` (entered from the menu or a command) and
``handle`` (every later event while the user is in the flow). Both take a
:class:`FlowContext` and return a :class:`~bot.core.messages.Step`. A flow never sees a channel:
it reads the neutral :class:`~bot.core.messages.InboundEvent` and answers with neutral
:class:`~bot.core.messages.OutboundMessage` objects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.core.messages import Conversation, InboundEvent, OutboundMessage, Step

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings
    from bot.core.content import Content
    from bot.core.texts import Texts


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is talking: the person and the channel identity the event came from."""

    identity_id: int
    person_id: int
    channel: str
    user_id: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for someone other than the sender (staff chat, another owner).

    Notices are written to the outbox in the same transaction as the step and delivered
    after the commit, so a crash can never announce something that was not saved.
    """

    channel: str
    chat_id: str
    message: OutboundMessage
    #: What the notice is about, so a staff reply to it can be routed back (hand-offs).
    topic: str = ""


@dataclass(slots=True)
class FlowContext:
    """Everything a handler may use for one step; built by the engine per event."""

    content: Content
    settings: Settings
    session: AsyncSession
    identity: Identity
    now: datetime
    notices: list[Notice] = field(default_factory=list)
    #: Free-form facts for the message log and tests (never personal data).
    trace: dict[str, Any] = field(default_factory=dict)

    @property
    def texts(self) -> Texts:
        return self.content.texts

    @property
    def today(self) -> date:
        return self.now.date()

    def notify(
        self, channel: str, chat_id: str, message: OutboundMessage, *, topic: str = ""
    ) -> None:
        """Queue a message to another chat, sent only after this step commits."""
        self.notices.append(Notice(channel, chat_id, message, topic))

    def say(self, template: str, **context: Any) -> OutboundMessage:
        """Shortcut: one text reply rendered from ``templates/<template>.j2``."""
        return OutboundMessage(text=self.texts.render(template, **context))


Handler = Callable[[FlowContext, Conversation, InboundEvent], Awaitable[Step]]


@dataclass(frozen=True, slots=True)
class Flow:
    """A named conversation flow.

    ``name`` is also the prefix of the flow's choice ids (``"policies:prog:may_moc"``): a tap
    on an old button reaches its flow even when the user has moved elsewhere since.
    """

    name: str
    start: Handler
    handle: Handler
