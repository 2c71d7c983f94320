"""Neutral replies → Zalo message bodies.

OA (``/v3.0/oa/message/cs``): plain NFC text of at most 2000 characters, cut at paragraph
boundaries; choices as ``oa.query.hide`` buttons (payload ``#`` + choice id) when they and
the links fit Zalo's five buttons, otherwise numbered lines the engine maps back; links as
``oa.open.url`` (``tel:`` links as ``oa.open.phone``); a contact request as a
``request_user_info`` card whose answer arrives as a ``user_submit_info`` event.

Bot platform (``sendMessage``): text only, so choices are always numbered lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from bot.channels.zalo.events import CHOICE_MARK
from bot.core.formatting import split_text
from bot.core.messages import Link, OutboundMessage

MAX_TEXT_LENGTH: Final = 2000
MAX_OA_BUTTONS: Final = 5
MAX_BUTTON_TITLE: Final = 100
MAX_INFO_TITLE: Final = 100
MAX_INFO_SUBTITLE: Final = 500
PHONE_SCHEME: Final = "tel:"
VN_COUNTRY_CODE: Final = "84"
_BOLD: Final = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class InfoRequest:
    """The texts of the ``request_user_info`` card (from ``content/labels/zalo.yaml``)."""

    title: str
    subtitle: str
    image_url: str | None = None


def plain_text(text: str) -> str:
    """Zalo shows no formatting: bold marks dropped, Vietnamese in NFC (as Zalo counts)."""
    return unicodedata.normalize("NFC", _BOLD.sub(r"\1", text))


def numbered(message: OutboundMessage) -> str:
    """The choices as "1. …" lines, typed back as a number or the label."""
    return "\n".join(
        f"{number}. {choice.label}"
        for number, choice in enumerate(message.choices, start=message.first_number)
    )


def _link_lines(links: tuple[Link, ...]) -> str:
    return "\n".join(f"{link.label}: {link.url.removeprefix(PHONE_SCHEME)}" for link in links)


def _with_tail(text: str, tail: str) -> list[str]:
    """``text`` cut to the limit, with ``tail`` kept whole at the end of the last part."""
    if not tail:
        return split_text(text, MAX_TEXT_LENGTH)
    combined = f"{text}\n\n{tail}" if text else tail
    if len(combined) <= MAX_TEXT_LENGTH:
        return [combined]
    return [*split_text(text, MAX_TEXT_LENGTH), *split_text(tail, MAX_TEXT_LENGTH)]


def phone_code(url: str) -> str:
    """``tel:0912 345 678`` → ``84912345678`` (Zalo's ``phone_code``)."""
    digits = "".join(ch for ch in url.removeprefix(PHONE_SCHEME) if ch.isdigit())
    if digits.startswith("0"):
        return VN_COUNTRY_CODE + digits[1:]
    return digits


def _link_button(link: Link) -> Payload:
    title = link.label[:MAX_BUTTON_TITLE]
    if link.url.startswith(PHONE_SCHEME):
        return {
            "title": title,
            "type": "oa.open.phone",
            "payload": {"phone_code": phone_code(link.url)},
        }
    return {"title": title, "type": "oa.open.url", "payload": {"url": link.url}}


def oa_messages(message: OutboundMessage, *, info: InfoRequest | None = None) -> list[Payload]:
    """The ``message`` objects to send, in order (the ``recipient`` is added by the sender)."""
    text = plain_text(message.text)
    buttons: list[Payload] = []
    tail_lines: list[str] = []
    if len(message.choices) + len(message.links) <= MAX_OA_BUTTONS:
        buttons = [
            {
                "title": choice.label[:MAX_BUTTON_TITLE],
                "type": "oa.query.hide",
                "payload": CHOICE_MARK + choice.id,
            }
            for choice in message.choices
        ]
        buttons.extend(_link_button(link) for link in message.links)
    else:
        tail_lines.append(numbered(message))
        if len(message.links) <= MAX_OA_BUTTONS:
            buttons = [_link_button(link) for link in message.links]
        else:
            tail_lines.append(_link_lines(message.links))
    parts = _with_tail(text, "\n".join(line for line in tail_lines if line))
    bodies: list[Payload] = [{"text": part} for part in parts]
    if buttons:
        bodies[-1]["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
    if message.request_contact and info is not None:
        element: Payload = {
            "title": info.title[:MAX_INFO_TITLE],
            "subtitle": info.subtitle[:MAX_INFO_SUBTITLE],
        }
        if info.image_url:
            element["image_url"] = info.image_url
        bodies.append(
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "request_user_info", "elements": [element]},
                }
            }
        )
    return bodies


def bot_texts(message: OutboundMessage) -> list[str]:
    """The Bot platform's ``sendMessage`` texts: numbered choices and spelled-out links."""
    tail = "\n".join(part for part in (numbered(message), _link_lines(message.links)) if part)
    return _with_tail(plain_text(message.text), tail)
