"""The contract every channel plugin fulfils, and what the runtime hands it.

A channel is one module in ``bot/channels/`` exposing ``PLUGIN = ChannelPlugin(...)``: its
settings (read from environment variables with the channel's prefix), and a ``build``
function that returns the running :class:`Channel`, or None when it is not configured.
The runtime builds every registered plugin, mounts the channel's HTTP routes on the one
aiohttp app, starts it once the app listens, and stops it first at shutdown. The engine
and the outbox only ever call :meth:`Sender.send` (``bot/core/delivery.py``, re-exported
here), through ``send_fitted``, which adapts each reply to the channel's
:class:`~bot.core.messages.ChannelCapabilities`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from aiohttp import web
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.delivery import Sender, SendResult, SendStatus, fit, send_fitted
from bot.core.messages import InboundEvent, OutboundMessage

if TYPE_CHECKING:
    from bot.core.clock import Clock
    from bot.core.config import Settings
    from bot.core.texts import Texts
    from storage import Database


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
    #: The one clock of the process (``bot/core/clock.py``): never read the system time.
    clock: Clock
    #: The platform command menu ("/" list): the global commands, then the flows' own.
    commands: tuple[str, ...] = ()
    #: Tells the runtime, in one line, that this process must stop (a second poller…).
    on_fatal: Callable[[str], None] | None = None


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


__all__ = [
    "Channel",
    "ChannelHost",
    "ChannelPlugin",
    "ChannelSettings",
    "Dispatch",
    "Handle",
    "SendResult",
    "SendStatus",
    "Sender",
    "fit",
    "send_fitted",
]
