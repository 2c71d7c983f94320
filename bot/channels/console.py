"""A chat in the terminal (``khuyencong chat``): numbered options instead of buttons."""

from __future__ import annotations

import asyncio
import getpass
import re
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.channels.base import SendResult, SendStatus
from bot.messages import ChannelCapabilities, EventKind, InboundEvent, OutboundMessage

CHANNEL_NAME = "console"
CONSOLE_TEXT_LIMIT = 100_000
_BOLD = re.compile(r"\*\*(.+?)\*\*")

#: Shown where the owner types (a symbol: no language).
PROMPT = "> "

ReadLine = Callable[[], Awaitable[str | None]]
Reword = Callable[[str], str]


def render_plain(message: OutboundMessage, *, reword: Reword | None = None) -> str:
    """Neutral text for a terminal: bold marks dropped, options numbered, links spelled out,
    and "bấm" wording turned into "gõ" (``reword``) since there are no buttons."""
    text = reword(message.text) if reword is not None else message.text
    lines = [_BOLD.sub(r"\1", text)]
    for number, choice in enumerate(message.choices, start=1):
        lines.append(f"  {number}. {choice.label}")
    lines.extend(f"  → {link.label}: {link.url}" for link in message.links)
    return "\n".join(lines)


class ConsoleChannel:
    """Prints replies to ``output``; the REPL in :func:`run_console` feeds the engine."""

    def __init__(self, output: TextIO | None = None, *, reword: Reword | None = None) -> None:
        self._output = output or sys.stdout
        self._reword = reword

    @property
    def name(self) -> str:
        return CHANNEL_NAME

    @property
    def capabilities(self) -> ChannelCapabilities:
        return ChannelCapabilities(
            max_text_length=CONSOLE_TEXT_LIMIT,
            max_buttons=0,
            supports_buttons=False,
            supports_bold=False,
        )

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        self._output.write(render_plain(message, reword=self._reword) + "\n\n")
        self._output.flush()
        return SendResult(SendStatus.SENT)


async def read_stdin_line() -> str | None:
    """One line from standard input without blocking the event loop (None at end of input),
    after a prompt when a person is typing."""
    if sys.stdin.isatty():
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
    line = await asyncio.to_thread(sys.stdin.readline)
    return line.rstrip("\n") if line else None


async def run_console(
    dispatch: Callable[[InboundEvent], Awaitable[None]],
    *,
    read_line: ReadLine = read_stdin_line,
    user_id: str | None = None,
) -> int:
    """Read lines until end of input, sending each as an event; returns the count."""
    user = user_id or f"console-{getpass.getuser()}"
    counter = 0
    await dispatch(_event(user, counter, EventKind.COMMAND, "start"))
    while True:
        line = await read_line()
        if line is None:
            return counter
        text = line.strip()
        if not text:
            continue
        counter += 1
        if text.startswith("/") and len(text) > 1:
            name, _, args = text[1:].partition(" ")
            await dispatch(_event(user, counter, EventKind.COMMAND, name, args))
        else:
            await dispatch(_event(user, counter, EventKind.TEXT, text))


def _event(user: str, counter: int, kind: EventKind, text: str, args: str = "") -> InboundEvent:
    import uuid

    return InboundEvent(
        channel=CHANNEL_NAME,
        user_id=user,
        chat_id=user,
        event_id=f"{counter}-{uuid.uuid4().hex}",
        kind=kind,
        text=text,
        args=args,
    )
