"""Zalo webhook and polling payloads → neutral :class:`~bot.messages.InboundEvent`.

Ids and timestamps are numeric strings larger than 2^53: they stay strings. A tap on an
``oa.query.hide`` button comes back as the user sending its payload (``#`` + choice id);
the same text typed by hand means the same. Images, stickers, locations and files get the
polite "text and buttons only" reply (kind ``unknown``). An ``oa_send_*`` echo that is not
one of the bot's own sends is a staff member answering from OA Manager (:class:`StaffEcho`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from bot.core.messages import EventKind, InboundEvent, SharedContact
from bot.nlu.normalize import fold

OA_CHANNEL: Final = "zalo_oa"
BOT_CHANNEL: Final = "zalo_bot"
#: A button's payload is this mark followed by the choice id.
CHOICE_MARK: Final = "#"
CHOICE_ID_RE: Final = re.compile(r"[A-Za-z0-9_]+:[A-Za-z0-9_:.\-]{1,63}")
COMMAND_RE: Final = re.compile(r"/(\S+)(?:\s+(.*))?", re.DOTALL)
#: ``#dangky``: a keyword the OA's own menu (set up in OA Manager) sends, read as a command.
KEYWORD_RE: Final = re.compile(r"#([A-Za-z0-9_]{1,32})")
MS_PER_SECOND: Final = 1000
#: Event ids are stored in 64 characters; longer ones are shortened to a digest.
MAX_EVENT_ID: Final = 64

USER_MEDIA_EVENTS: Final = frozenset(
    f"user_send_{kind}"
    for kind in (
        "image",
        "file",
        "location",
        "sticker",
        "link",
        "audio",
        "video",
        "gif",
        "business_card",
    )
)
IGNORED_EVENTS: Final = frozenset({"user_received_message", "user_seen_message"})
BOT_TEXT_EVENT: Final = "message.text.received"


@dataclass(frozen=True, slots=True)
class StaffEcho:
    """A message the OA sent to ``user_id``; from staff unless its id is one of ours."""

    user_id: str
    message_id: str


def _str(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        msg = "expected an id or a text"
        raise TypeError(msg)
    return str(value)


def _received(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)) / MS_PER_SECOND, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def text_event(
    *, channel: str, user_id: str, event_id: str, text: str, received_at: datetime | None
) -> InboundEvent:
    """Typed text, a ``/command``, or a button payload (``#flow:action``)."""
    text = unicodedata.normalize("NFC", text).strip()
    common: dict[str, Any] = {
        "channel": channel,
        "user_id": user_id,
        "chat_id": user_id,
        "event_id": event_id,
        "received_at": received_at,
    }
    choice = text.removeprefix(CHOICE_MARK)
    if text.startswith(CHOICE_MARK) and CHOICE_ID_RE.fullmatch(choice):
        return InboundEvent(kind=EventKind.CHOICE, text=choice, **common)
    keyword = KEYWORD_RE.fullmatch(text)
    if keyword is not None:
        return InboundEvent(kind=EventKind.COMMAND, text=fold(keyword.group(1)), **common)
    command = COMMAND_RE.fullmatch(text)
    if command is not None:
        args = (command.group(2) or "").strip()
        name = fold(command.group(1))
        return InboundEvent(kind=EventKind.COMMAND, text=name, args=args, **common)
    return InboundEvent(kind=EventKind.TEXT, text=text, **common)


def oa_event_key(payload: Mapping[str, Any]) -> tuple[str, str]:
    """(de-duplication id, user) of an OA event, read before it is stored.

    Messages carry ``msg_id``; follows and info forms do not, so their id is built from the
    event name, the user and Zalo's timestamp (a redelivery repeats all three).
    """
    name = _str(payload.get("event_name", ""))
    user = oa_user_of(payload)
    message = payload.get("message")
    if isinstance(message, dict) and message.get("msg_id"):
        return _fit_id(f"{name}:{_str(message['msg_id'])}"), user
    return _fit_id(f"{name}:{user}:{_str(payload.get('timestamp', ''))}"), user


def _fit_id(event_id: str) -> str:
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return hashlib.sha256(event_id.encode()).hexdigest()


def oa_user_of(payload: Mapping[str, Any]) -> str:
    """The person an event is about: the sender of ``user_*`` events, the recipient of
    ``oa_*`` echoes, the follower of follow/unfollow."""
    name = str(payload.get("event_name", ""))
    if name in {"follow", "unfollow"}:
        return _str(payload["follower"]["id"])
    if name.startswith("oa_") or name in IGNORED_EVENTS:
        return _str(payload["recipient"]["id"])
    return _str(payload["sender"]["id"])


def oa_event(payload: Mapping[str, Any], *, event_id: str) -> InboundEvent | StaffEcho | None:
    """The neutral event for an OA webhook body, a staff echo, or None (receipts, unknown).

    Raises KeyError or TypeError when a field the bot needs is missing.
    """
    name = str(payload.get("event_name", ""))
    if name in IGNORED_EVENTS:
        return None
    user_id = oa_user_of(payload)
    received = _received(payload.get("timestamp"))
    common: dict[str, Any] = {
        "channel": OA_CHANNEL,
        "user_id": user_id,
        "chat_id": user_id,
        "event_id": event_id,
        "received_at": received,
    }
    message = payload.get("message")
    if name.startswith("oa_send_"):
        message_id = _str(message.get("msg_id", "")) if isinstance(message, dict) else ""
        return StaffEcho(user_id=user_id, message_id=message_id)
    if name == "follow":
        return InboundEvent(kind=EventKind.UNBLOCKED, **common)
    if name == "unfollow":
        return InboundEvent(kind=EventKind.BLOCKED, **common)
    if name == "user_submit_info":
        info = payload.get("info")
        if not isinstance(info, dict) or not info.get("phone"):
            return InboundEvent(kind=EventKind.UNKNOWN, **common)
        contact = SharedContact(
            phone=_str(info["phone"]),
            owner_user_id=user_id,  # Zalo fills the form with the user's own consented data
            first_name=str(info.get("name") or ""),
        )
        return InboundEvent(kind=EventKind.CONTACT, contact=contact, **common)
    if name in USER_MEDIA_EVENTS:
        return InboundEvent(kind=EventKind.UNKNOWN, **common)
    if isinstance(message, dict) and isinstance(message.get("text"), str):
        # user_send_text, and any unknown event carrying a text (button taps included)
        return text_event(
            channel=OA_CHANNEL,
            user_id=user_id,
            event_id=event_id,
            text=message["text"],
            received_at=received,
        )
    return None


def unwrap_bot_update(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """A Bot platform update, whether wrapped in ``{"ok": true, "result": …}`` or bare."""
    result = payload.get("result")
    if "event_name" not in payload and isinstance(result, dict):
        return result
    return payload


def bot_event_key(update: Mapping[str, Any]) -> tuple[str, str]:
    """(de-duplication id, user) of a Bot platform update: ``event_name`` + ``message_id``."""
    message = update["message"]
    name = _str(update.get("event_name", ""))
    return _fit_id(f"{name}:{_str(message['message_id'])}"), _str(message["from"]["id"])


def bot_event(update: Mapping[str, Any], *, event_id: str) -> InboundEvent | None:
    """The neutral event for a Bot platform update; None for group chats."""
    message = update["message"]
    chat = message["chat"]
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None
    user_id = _str(message["from"]["id"])
    received = _received(message.get("date"))
    if update.get("event_name") == BOT_TEXT_EVENT and isinstance(message.get("text"), str):
        event = text_event(
            channel=BOT_CHANNEL,
            user_id=user_id,
            event_id=event_id,
            text=message["text"],
            received_at=received,
        )
    else:
        event = InboundEvent(
            channel=BOT_CHANNEL,
            user_id=user_id,
            chat_id=user_id,
            event_id=event_id,
            kind=EventKind.UNKNOWN,
            received_at=received,
        )
    chat_id = _str(chat["id"])
    if chat_id == user_id:
        return event
    return InboundEvent(
        channel=event.channel,
        user_id=event.user_id,
        chat_id=chat_id,
        event_id=event.event_id,
        kind=event.kind,
        text=event.text,
        args=event.args,
        received_at=event.received_at,
    )
