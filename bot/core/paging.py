"""One phone screen per message: a long reply shows its first part and a "Xem thêm" button.

Owners read on cheap phones: a reply longer than :data:`OWNER_MESSAGE_LIMIT` characters is
cut at a paragraph (else a line, else a word) boundary. The rest is kept in the conversation
state under :data:`PAGES_KEY` until the owner taps "Xem thêm" (``more:<key>``), so the next
part survives a restart like every other state. Flows that know better (the eligibility
verdict: outcome first, reasons and citations on demand) shape their own replies; this is the
safety net for everything else (policy pages, FAQ answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.core.messages import Choice, Conversation, OutboundMessage, Step

#: About one phone screen at 390 px with the default text size.
OWNER_MESSAGE_LIMIT = 600
#: Choice id prefix of the "Xem thêm" button; also the name of the flow that answers it.
MORE_PREFIX = "more:"
#: The label key of the "Xem thêm" button (``content/labels/core.yaml``).
MORE_LABEL = "nav.more"
#: Lines that stay on a long reply's first part ("|"-separated starts, in the same file).
MORE_KEEP_LABEL = "nav.more_keep"
#: Where the unread parts wait, in ``Conversation.data``.
PAGES_KEY = "more_pages"
NEXT_KEY = "more_pages_next"
#: Unread long replies kept per owner; older ones are dropped (their button then says so).
MAX_KEPT = 5
_PARAGRAPH = "\n\n"


def split_text(text: str, *, limit: int = OWNER_MESSAGE_LIMIT) -> list[str]:
    """Parts of at most ``limit`` characters, cut where the text itself breaks."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_at(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts


def _cut_at(text: str, limit: int) -> int:
    """The latest good break at or before ``limit``; never in the first third of a page."""
    window = text[: limit + 1]
    floor = limit // 3
    for separator in (_PARAGRAPH, "\n", ". ", " "):
        position = window.rfind(separator)
        if position > floor:
            return position + (len(separator) if separator == ". " else 0)
    return limit


def paginate(
    step: Step,
    *,
    more_label: str,
    keep_prefixes: tuple[str, ...] = (),
    limit: int = OWNER_MESSAGE_LIMIT,
) -> Step:
    """Cut every long reply of ``step``; the unread parts go into the conversation state.

    Lines starting with one of ``keep_prefixes`` (the sources of the figures: "Nguồn: …")
    stay on the first part, so a figure is never shown without its citation and date."""
    if all(len(reply.text) <= limit for reply in step.replies):
        return step
    data = dict(step.conversation.data)
    kept: dict[str, Any] = dict(_kept(data))
    stored = data.get(NEXT_KEY)
    counter = stored if isinstance(stored, int) else 0
    replies: list[OutboundMessage] = []
    for reply in step.replies:
        parts = _parts(reply.text, keep_prefixes, limit)
        if len(parts) <= 1:
            replies.append(reply)
            continue
        key = str(counter)
        counter += 1
        kept[key] = {
            "parts": parts[1:],
            "choices": [[choice.id, choice.label] for choice in reply.choices],
            "columns": reply.columns,
        }
        more = Choice(f"{MORE_PREFIX}{key}", more_label)
        replies.append(replace(reply, text=parts[0], choices=(more, *reply.choices)))
    while len(kept) > MAX_KEPT:
        kept.pop(next(iter(kept)))
    data[PAGES_KEY] = kept
    data[NEXT_KEY] = counter
    conversation = Conversation(step.conversation.flow, step.conversation.step, data)
    return Step(conversation, replies)


def _parts(text: str, keep_prefixes: tuple[str, ...], limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    lines = text.split("\n")
    kept = [line for line in lines if keep_prefixes and line.startswith(keep_prefixes)]
    block = "\n".join(kept)
    if not kept or len(block) > limit // 2:
        return split_text(text, limit=limit)
    body = "\n".join(line for line in lines if line not in kept)
    parts = split_text(body, limit=limit - len(block) - len(_PARAGRAPH))
    parts[0] = f"{parts[0]}{_PARAGRAPH}{block}"
    return parts


def next_page(conversation: Conversation, key: str, *, more_label: str) -> OutboundMessage | None:
    """The next unread part of long reply ``key`` (None when it is gone), with its buttons."""
    kept = dict(_kept(conversation.data))
    entry = kept.get(key)
    if not isinstance(entry, Mapping) or not entry.get("parts"):
        return None
    parts = [str(part) for part in entry["parts"]]
    choices = tuple(
        Choice(str(item[0]), str(item[1])) for item in entry.get("choices") or [] if len(item) > 1
    )
    columns = int(entry.get("columns") or 1)
    text, remaining = parts[0], parts[1:]
    if remaining:
        kept[key] = {**entry, "parts": remaining}
        message = _page(text, key, more_label, choices, columns)
    else:
        kept.pop(key)
        message = OutboundMessage(text=text, choices=choices, columns=columns)
    conversation.data[PAGES_KEY] = kept
    return message


def _page(
    text: str, key: str, more_label: str, choices: tuple[Choice, ...], columns: int
) -> OutboundMessage:
    more = Choice(f"{MORE_PREFIX}{key}", more_label)
    return OutboundMessage(text=text, choices=(more, *choices), columns=columns)


def _kept(data: Mapping[str, object]) -> Mapping[str, Any]:
    kept = data.get(PAGES_KEY)
    return kept if isinstance(kept, Mapping) else {}
