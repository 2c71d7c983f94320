"""Input that can never be stored is cleaned or refused before it reaches a flow.

A lone surrogate cannot be encoded for the database, PostgreSQL refuses NUL, a latitude of
10^400 is infinity, and a number typed into a button id overflows an integer column. Each of
these failed the step every time, so Telegram redelivered the update for ever. The engine
runs every event through :func:`clean_event` first; adapters use :func:`bounded_int` and
:class:`MalformedInputError` for what they parse.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import replace
from typing import Final

from bot.core.messages import (
    MAX_CHOICE_ID_BYTES,
    EventKind,
    GeoLocation,
    InboundEvent,
    SharedContact,
)

#: Telegram's own limit for a message; nothing longer is ever legitimate.
MAX_TEXT_CHARS: Final = 4096
#: Ids are stored in 64-character columns.
MAX_ID_CHARS: Final = 64
#: Database row ids (PostgreSQL ``integer``) in button ids.
MAX_ROW_ID: Final = 2**31 - 1
#: Telegram user and chat ids fit in 52 bits; anything past 2**53 is forged.
MAX_PLATFORM_ID: Final = 2**53
MAX_LATITUDE: Final = 90.0
MAX_LONGITUDE: Final = 180.0
#: Control characters except tab and newline, lone surrogates, and non-characters.
_UNSTORABLE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class MalformedInputError(ValueError):
    """Input that no retry can make valid: answered (200 or 400) and dropped, never 5xx."""


def clean_text(text: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` without characters that cannot be stored, composed (NFC) and bounded."""
    cleaned = _UNSTORABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return unicodedata.normalize("NFC", cleaned)[:limit]


def bounded_int(raw: object, *, low: int = 1, high: int = MAX_ROW_ID) -> int | None:
    """``raw`` as an int when it is one (or ASCII digits) within [low, high], else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > len(str(high)) + 1:
            return None
        raw = int(raw)
    if not isinstance(raw, int) or not low <= raw <= high:
        return None
    return raw


def _clean_id(value: str) -> str:
    cleaned = clean_text(value, limit=MAX_ID_CHARS + 1)
    if not cleaned or len(cleaned) > MAX_ID_CHARS:
        msg = "an id is empty or too long"
        raise MalformedInputError(msg)
    return cleaned


def _valid_location(location: GeoLocation | None) -> bool:
    if location is None:
        return False
    lat, lon = location.latitude, location.longitude
    return (
        math.isfinite(lat)
        and math.isfinite(lon)
        and abs(lat) <= MAX_LATITUDE
        and abs(lon) <= MAX_LONGITUDE
    )


def clean_event(event: InboundEvent) -> InboundEvent:
    """The event with storable text and ids; raises :class:`MalformedInputError` when its
    ids cannot be stored. A malformed button id or location becomes an unknown input."""
    kind = event.kind
    text = clean_text(event.text)
    if kind is EventKind.CHOICE and (
        not text.isascii() or len(text.encode()) > MAX_CHOICE_ID_BYTES
    ):
        kind, text = EventKind.UNKNOWN, ""
    location = event.location
    if kind is EventKind.LOCATION and not _valid_location(location):
        kind, location = EventKind.UNKNOWN, None
    contact = event.contact
    if contact is not None:
        contact = SharedContact(
            phone=clean_text(contact.phone, limit=MAX_ID_CHARS),
            owner_user_id=_clean_id(contact.owner_user_id) if contact.owner_user_id else None,
            first_name=clean_text(contact.first_name, limit=MAX_ID_CHARS),
        )
    reply_to = event.reply_to_message_id
    return replace(
        event,
        user_id=_clean_id(event.user_id),
        chat_id=_clean_id(event.chat_id),
        event_id=_clean_id(event.event_id),
        kind=kind,
        text=text,
        args=clean_text(event.args),
        contact=contact,
        location=location,
        reply_to_message_id=_clean_id(reply_to) if reply_to else None,
    )
