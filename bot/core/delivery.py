"""What the engine and the outbox need of a channel: a :class:`Sender`, the outcome of a
send, and fitting a reply to what the channel can show.

Channels implement :class:`Sender` as part of their plugin contract
(``bot/channels/base.py``); the core knows no channel beyond this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.core.formatting import split_text, strip_bold
from bot.core.messages import ChannelCapabilities, OutboundMessage


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


#: What a broadcast may carry beside its text.
ATTACHMENT_KINDS = ("photo", "document")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or a PDF of a broadcast, by URL or by the platform's file id."""

    kind: str
    ref: str


class BroadcastTransport(Protocol):
    """What the broadcast sender needs of a channel: send one message with an optional
    attachment and say what happened (channels with a dedicated path, like Telegram's
    without PTB's in-memory limiter, give their own)."""

    @property
    def name(self) -> str: ...

    async def send(
        self, chat_id: str, message: OutboundMessage, *, attachment: Attachment | None = None
    ) -> SendResult: ...


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
        first = message.first_number  # numbered on across the step's replies (engine)
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
