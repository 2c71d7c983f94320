"""The contract every channel plugin fulfils, and what the runtime hands it.

A channel is one module in ``bot/channels/`` exposing ``PLUGIN = ChannelPlugin(...)``: its
settings (read from environment variables with the channel's prefix), and a ``build``
function that returns the running :class:`Channel`, or None when it is not configured.
The runtime builds every registered plugin, mounts the channel's HTTP routes on the one
aiohttp app, starts it once the app listens, and stops it first at shutdown. The engine
and the outbox only ever call :meth:`Sender.send`, through :func:`send_fitted`, which
adapts each reply to the channel's :class:`~bot.core.messages.ChannelCapabilities`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from aiohttp import web
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.formatting import split_text, strip_bold
from bot.core.messages import ChannelCapabilities, InboundEvent, OutboundMessage

if TYPE_CHECKING:
    from bot.core.config import Settings
    from bot.core.texts import Texts
    from storage import Database


class SendStatus(StrEnum):
    """The outcome of one send, in terms the outbox and broadcasts can act on."""

    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot or deleted the account: stop for good
    NOT_FOUND = "not_found"  # the chat does not exist: stop for good
    RETRY_AFTER = "retry_after"  # flood control: pause the whole sender, then retry
    TRANSIENT = "transient"  # network or server error: retry with backoff
    BAD_CONTENT = "bad_content"  # the platform refused this message: fix the content
    #: Not reachable on this channel now (Zalo's 7-day window, not a follower): do not
    #: retry; staff are told so they can call instead.
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class SendResult:
    status: SendStatus
    retry_after: float = 0.0
    message_ids: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is SendStatus.SENT


class Sender(Protocol):
    """What the engine and the outbox need of a channel. ``send`` never raises for platform
    errors: it says what happened in a :class:`SendResult`."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> ChannelCapabilities: ...

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult: ...


class Channel(Sender, Protocol):
    """A running channel: it sends, serves its own HTTP routes and owns its lifecycle."""

    def routes(self) -> Sequence[web.RouteDef]:
        """Routes for the bot's aiohttp app (a webhook, a chat API); may be empty."""
        ...

    async def start(self) -> None:
        """Start receiving; called once the app listens (a webhook can be registered)."""
        ...

    async def stop(self) -> None:
        """Stop receiving and finish the updates in hand; called before the app closes."""
        ...


#: Hands one event to the engine; the replies go out through the channel's ``send``.
Dispatch = Callable[[InboundEvent], Awaitable[None]]
#: Runs one step and returns the replies (a channel that answers in its HTTP response).
Handle = Callable[[InboundEvent], Awaitable[list[OutboundMessage]]]


@dataclass(frozen=True, slots=True)
class ChannelHost:
    """What the runtime gives a channel when it builds it."""

    settings: Settings
    database: Database
    texts: Texts
    dispatch: Dispatch
    handle: Handle
    #: The platform command menu ("/" list): the global commands, then the flows' own.
    commands: tuple[str, ...] = ()
    #: The runtime's clock (aware, local time), for channels with time rules (Zalo's window).
    clock: Callable[[], datetime] | None = None


class ChannelSettings(BaseSettings):
    """Base of a channel's settings: set ``env_prefix`` (``"TELEGRAM_"``) in a subclass.

    Read from the environment and ``.env`` like the core settings; a test or the CLI may
    pass values as ``load_settings(telegram_bot_token=...)`` (prefix, lower case).
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


SettingsT = TypeVar("SettingsT", bound=ChannelSettings)


@dataclass(frozen=True, slots=True)
class ChannelPlugin(Generic[SettingsT]):
    """A channel as the runtime's registry sees it (``bot/app/channels.py``)."""

    name: str
    settings: type[SettingsT]
    #: The running channel, or None when its settings leave it off (no token…).
    build: Callable[[SettingsT, ChannelHost], Channel | None]


# -- adapting a reply to what the channel can show --------------------------------------------


def fit(message: OutboundMessage, capabilities: ChannelCapabilities) -> list[OutboundMessage]:
    """``message`` as the channel can show it, in one or more parts.

    Bold marks go where the channel has no bold; a contact request goes where there is no
    share-contact button (the flow's text always lets the owner type the number); options
    become numbered lines where there are no buttons, or too many for the channel (the
    engine maps a typed number back to the option); a long text is cut on paragraphs, the
    options on the last part.
    """
    text = message.text if capabilities.supports_bold else strip_bold(message.text)
    choices, links = message.choices, message.links
    too_many = len(choices) > capabilities.max_buttons
    if choices and (too_many or not capabilities.supports_buttons):
        first = message.first_number
        numbered = "\n".join(f"{n}. {c.label}" for n, c in enumerate(choices, start=first))
        text = f"{text}\n\n{numbered}" if text else numbered
        choices = ()
    if links and not capabilities.supports_buttons:
        text = "\n".join([text, *(f"{link.label}: {link.url}" for link in links)])
        links = ()
    last = replace(
        message,
        text=text,
        choices=choices,
        links=links,
        request_contact=message.request_contact and capabilities.supports_contact_request,
    )
    if len(text) <= capabilities.max_text_length:
        return [last]
    parts = split_text(text, capabilities.max_text_length)
    return [OutboundMessage(text=part) for part in parts[:-1]] + [replace(last, text=parts[-1])]


async def send_fitted(channel: Sender, chat_id: str, message: OutboundMessage) -> SendResult:
    """Send ``message`` fitted to ``channel``; stops at the first part that fails."""
    sent: list[str] = []
    for part in fit(message, channel.capabilities):
        result = await channel.send(chat_id, part)
        sent.extend(result.message_ids)
        if not result.ok:
            return replace(result, message_ids=tuple(sent))
    return SendResult(SendStatus.SENT, message_ids=tuple(sent))
