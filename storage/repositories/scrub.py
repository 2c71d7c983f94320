"""Erasure's second half: copies of a person's data kept outside their own rows.

A person's name, phone and facility also travel in text the bot wrote elsewhere: replies a
staff member asked for in the staff chat (``/hoso``, logged under the officer's identity),
replies kept in ``processed_event`` for redelivery, and outbox messages. Those rows are not
linked to the person, so they are found by the values themselves and masked or dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MessageLog, OutboxMessage, ProcessedEvent

ERASED_TEXT: Final = "[erased]"
REDACTED_PAYLOAD: Final = {"text": "", "redacted": True}
#: Shorter values ("An", a two-digit number) would mask unrelated messages.
MIN_VALUE_LENGTH: Final = 4
PHONE_DIGITS: Final = 9
SENT: Final = "sent"


def value_variants(values: Iterable[str]) -> list[str]:
    """The values as stored and as shown: a phone also as ``0912 345 678``, ``+84…``…"""
    variants: set[str] = set()
    for raw in values:
        value = raw.strip()
        if len(value) < MIN_VALUE_LENGTH:
            continue
        variants.add(value)
        digits = re.sub(r"\D", "", value)
        if len(digits) >= PHONE_DIGITS and len(digits) >= len(value) - 4:
            national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
            local = f"0{national}"
            variants |= {national, local, f"+84{national}", f"84{national}"}
            for sep in (" ", ".", "-"):
                variants.add(sep.join((local[:4], local[4:7], local[7:])))
    return sorted(variants, key=len, reverse=True)


def mentions(text: str, variants: list[str]) -> bool:
    """True when ``text`` holds one of the values, a phone in any spacing included."""
    if any(variant in text for variant in variants):
        return True
    digits = re.sub(r"\D", "", text)
    return any(v.isdigit() and len(v) >= PHONE_DIGITS and v in digits for v in variants)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


async def scrub_copies(session: AsyncSession, values: Iterable[str]) -> int:
    """Mask every stored copy of ``values``; returns how many rows were changed."""
    variants = value_variants(values)
    if not variants:
        return 0
    changed = 0
    logged = await session.execute(
        update(MessageLog)
        .where(or_(*(MessageLog.text.contains(v, autoescape=True) for v in variants)))
        .values(text=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    )
    changed += int(getattr(logged, "rowcount", 0) or 0)
    kept = await session.execute(
        select(ProcessedEvent.channel, ProcessedEvent.event_id, ProcessedEvent.replies).where(
            ProcessedEvent.replies.is_not(None)
        )
    )
    for channel, event_id, replies in kept.all():
        if mentions(_json_text(replies), variants):
            await session.execute(
                update(ProcessedEvent)
                .where(ProcessedEvent.channel == channel, ProcessedEvent.event_id == event_id)
                .values(replies=None)
            )
            changed += 1
    queued = await session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload)
    )
    for row_id, status, payload in queued.all():
        if payload == REDACTED_PAYLOAD or not mentions(_json_text(payload), variants):
            continue
        if status == SENT:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(payload=REDACTED_PAYLOAD)
            )
        else:  # never deliver erased data
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))
        changed += 1
    return changed
