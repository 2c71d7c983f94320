"""The neutral message model: what every channel adapter maps to and from.

Handlers only ever see :class:`InboundEvent` and produce :class:`OutboundMessage`; adapters
translate these to Telegram, Zalo, the web chat or the console, degrading gracefully where a
channel lacks a feature (numbered options instead of buttons, a typed phone instead of a
share-contact button).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

#: Telegram limits callback data to 64 bytes; every channel uses the same bound for choice ids.
MAX_CHOICE_ID_BYTES = 64


class EventKind(StrEnum):
    """What the user did, independent of the channel."""

    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"
    CONTACT = "contact"
    LOCATION = "location"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A phone number shared through a channel's contact button.

    ``owner_user_id`` is the channel user the contact belongs to, when the channel says so;
    a contact whose owner differs from the sender is someone else's and must be refused.
    """

    phone: str
    owner_user_id: str | None = None
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class GeoLocation:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One thing a user did on one channel.

    ``text`` holds the typed text, the command name (without ``/``) or the chosen option id,
    depending on ``kind``; ``args`` holds what followed a command.
    """

    channel: str
    user_id: str
    chat_id: str
    event_id: str
    kind: EventKind
    text: str = ""
    args: str = ""
    contact: SharedContact | None = None
    location: GeoLocation | None = None
    #: When the platform says the user sent it (None when it does not say, as for buttons).
    received_at: datetime | None = None
    #: The id of the message this one replies to, when the channel tells (staff relays use it).
    reply_to_message_id: str | None = None
    #: False in group chats, supergroups and channels: owner flows run in private chats only,
    #: so personal data never reaches a group, and a group never becomes the user's chat.
    private: bool = True

    def with_choice(self, choice_id: str) -> InboundEvent:
        """The same event re-read as a tap on ``choice_id`` (typed number or label, or a
        command that opens a flow: what followed the command stays in ``args``)."""
        return InboundEvent(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.chat_id,
            event_id=self.event_id,
            kind=EventKind.CHOICE,
            text=choice_id,
            args=self.args,
            received_at=self.received_at,
            private=self.private,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: a short ASCII id (at most 64 bytes) and the label shown to the user."""

    id: str
    label: str
    #: For an option of a multi-select question: whether it is ticked (None: a plain button).
    #: Channels that can show a toggle state use it (the web chat's ``aria-pressed``).
    pressed: bool | None = None

    def __post_init__(self) -> None:
        size = len(self.id.encode("utf-8"))
        if not self.id or size > MAX_CHOICE_ID_BYTES or not self.id.isascii():
            msg = f"choice id must be 1-{MAX_CHOICE_ID_BYTES} ASCII bytes: {self.id!r}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One reply. ``text`` is neutral: plain text where ``**bold**`` marks emphasis and a
    blank line separates paragraphs (adapters split long texts there)."""

    text: str
    choices: tuple[Choice, ...] = ()
    #: Ask for the user's own phone number through the channel's share-contact button.
    request_contact: bool = False
    links: tuple[Link, ...] = ()
    #: Choices per row when shown as buttons; adapters may narrow it on small screens.
    columns: int = 1
    #: The number of the first choice where choices are numbered lines: the engine numbers
    #: a step's options on from one reply to the next, so a typed "3" names one option.
    first_number: int = 1


@dataclass(frozen=True, slots=True)
class ChannelCapabilities:
    """What a channel can show, so the same reply degrades well everywhere."""

    max_text_length: int
    max_buttons: int
    supports_buttons: bool = True
    supports_contact_request: bool = False
    supports_bold: bool = True


@dataclass(slots=True)
class Conversation:
    """A user's place in the conversation, stored in the database after every step.

    ``data`` must stay JSON-serialisable: it is written as JSON and read back on the next
    update, possibly by another worker or after a restart.
    """

    flow: str = "menu"
    step: str = "start"
    data: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """What a handler returns: the new conversation state and the replies to send."""

    conversation: Conversation
    replies: list[OutboundMessage] = field(default_factory=list)


def message_to_dict(message: OutboundMessage) -> dict[str, object]:
    """JSON form of a reply, for the outbox and the web chat."""
    return {
        "text": message.text,
        "choices": [_choice_to_dict(c) for c in message.choices],
        "request_contact": message.request_contact,
        "links": [{"label": link.label, "url": link.url} for link in message.links],
        "columns": message.columns,
        "first_number": message.first_number,
    }


def _choice_to_dict(choice: Choice) -> dict[str, object]:
    data: dict[str, object] = {"id": choice.id, "label": choice.label}
    if choice.pressed is not None:
        data["pressed"] = choice.pressed
    return data


def message_from_dict(data: dict[str, object]) -> OutboundMessage:
    choices = data.get("choices") or []
    links = data.get("links") or []
    assert isinstance(choices, list)
    assert isinstance(links, list)
    return OutboundMessage(
        text=str(data.get("text", "")),
        choices=tuple(
            Choice(
                id=str(c["id"]),
                label=str(c["label"]),
                pressed=None if c.get("pressed") is None else bool(c.get("pressed")),
            )
            for c in choices
        ),
        request_contact=bool(data.get("request_contact", False)),
        links=tuple(Link(label=str(x["label"]), url=str(x["url"])) for x in links),
        columns=int(str(data.get("columns", 1))),
        first_number=int(str(data.get("first_number", 1))),
    )
