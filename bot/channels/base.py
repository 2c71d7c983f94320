"""The contract every channel adapter fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.messages import ChannelCapabilities, OutboundMessage


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


class Channel(Protocol):
    """A platform the bot talks on. ``send`` never raises for platform errors."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> ChannelCapabilities: ...

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult: ...
