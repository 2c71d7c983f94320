"""Reading the owner's phone number: typed, or shared with the channel's contact button.

A shared contact must be the sender's own: someone else's card is refused and nothing of it
is kept. A typed number is checked and normalised (``0912345678``); a near miss gets a
suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.flow import FlowContext
from bot.core.messages import EventKind, InboundEvent, OutboundMessage
from bot.parsing import ParseError, format_phone_vn, parse_phone


@dataclass(frozen=True, slots=True)
class PhoneReading:
    """The number read, or why not: ``problem`` is the reply to send (asking again)."""

    phone: str = ""
    problem: OutboundMessage | None = None
    #: The contact shared was someone else's.
    not_yours: bool = False


def read_phone(ctx: FlowContext, event: InboundEvent) -> PhoneReading | None:
    """The phone in ``event``; None when the event carries no text and no contact."""
    if event.kind is EventKind.CONTACT:
        contact = event.contact
        if (
            contact is None
            or contact.owner_user_id is None
            or contact.owner_user_id != (event.user_id)
        ):
            return PhoneReading(problem=ctx.say("register/contact_not_yours"), not_yours=True)
        raw = contact.phone
    elif event.kind is EventKind.TEXT:
        raw = event.text
    else:
        return None
    try:
        return PhoneReading(phone=parse_phone(raw))
    except ParseError as error:
        suggestion = format_phone_vn(error.suggestion) if error.suggestion else None
        text = ctx.texts.render(
            "parsing/phone_invalid",
            reason=error.reason.value,
            suggestion=suggestion,
            digits=sum(char.isdigit() for char in raw),
        )
        return PhoneReading(problem=OutboundMessage(text=text, request_contact=True))
