"""What a conversation flow (in ``handlers/``) declares, receives and returns.

A flow is two plain async functions: ``start`` (entered from the menu or a command) and
``handle`` (every later event while the user is in the flow). Both take a
:class:`FlowContext` and return a :class:`~bot.core.messages.Step`. A flow never sees a
channel: it reads the neutral :class:`~bot.core.messages.InboundEvent` and answers with
neutral :class:`~bot.core.messages.OutboundMessage` objects. Its :class:`Flow` record also
declares its wiring (commands, main-menu entry, draft to drop on cancel, cancel hook), from
which the router, the main menu, ``/help`` and the platform command menus are derived.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.core.messages import Conversation, InboundEvent, OutboundMessage, Step
from storage.repositories import Repositories

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.core.config import Settings
    from bot.core.content import Content
    from bot.core.texts import Texts

#: The action of a choice id or a command that enters a flow (``policies:start``).
START_ACTION = "start"


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
    #: The event comes from a configured staff chat (``STAFF_CHATS``), not an owner.
    from_staff_chat: bool = False
    #: The names of the channels running in this process (the consent notice names only
    #: the chat platforms actually in use).
    channels: frozenset[str] = frozenset()
    notices: list[Notice] = field(default_factory=list)
    #: Facts for the message log and tests only (never personal data, never control flow).
    trace: dict[str, Any] = field(default_factory=dict)
    #: Set by :meth:`leave_no_trace`: the engine logs nothing of this step.
    unlogged: bool = False
    _repos: Repositories | None = field(default=None, repr=False)

    @property
    def texts(self) -> Texts:
        return self.content.texts

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def repos(self) -> Repositories:
        """The repositories on this step's transaction (``ctx.repos.leads``…)."""
        if self._repos is None:
            self._repos = Repositories(self.session)
        return self._repos

    def notify(
        self, channel: str, chat_id: str, message: OutboundMessage, *, topic: str = ""
    ) -> None:
        """Queue a message to another chat, sent only after this step commits."""
        self.notices.append(Notice(channel, chat_id, message, topic))

    def leave_no_trace(self) -> None:
        """Keep this step out of the message log (an erasure must not log itself)."""
        self.unlogged = True

    def say(self, template: str, **context: Any) -> OutboundMessage:
        """Shortcut: one text reply rendered from ``templates/<template>.j2``."""
        return OutboundMessage(text=self.texts.render(template, **context))


Handler = Callable[[FlowContext, Conversation, InboundEvent], Awaitable[Step]]
#: Run on ``/huy`` (``everything``) or ``/cancel``; returns what it stopped, for the reply
#: (``"subscriptions"``), or None.
CancelHook = Callable[[FlowContext, bool], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Flow:
    """A named conversation flow and its wiring.

    ``name`` is also the prefix of the flow's choice ids (``"policies:prog:may_moc"``): a tap
    on an old button reaches its flow even when the user has moved elsewhere since.
    """

    name: str
    start: Handler
    handle: Handler
    #: Slash commands → the action they trigger: ``{"kiemtra": "start"}`` opens the flow
    #: (and is listed in platform command menus); another action is a shortcut delivered as
    #: the choice ``<name>:<action>`` (``{"huydangky": "stop"}``).
    commands: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Label key of the flow's main-menu entry (``"menu.policies"``); None: not in the menu.
    menu_entry: str | None = None
    #: Key of ``Conversation.data`` holding a half-filled form, dropped on cancel: an
    #: abandoned registration must not keep a name or a phone in the conversation state.
    draft_key: str | None = None
    #: Run on every cancel, whatever flow the user is in (close an open hand-off…).
    on_cancel: CancelHook | None = None

    @property
    def start_commands(self) -> tuple[str, ...]:
        return tuple(name for name, action in self.commands.items() if action == START_ACTION)
