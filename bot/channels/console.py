"""A chat in the terminal (``khuyencong chat``): numbered options instead of buttons."""

from __future__ import annotations

import asyncio
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, TextIO

from aiohttp import web
from pydantic_settings import SettingsConfigDict

from bot.channels.base import (
    Channel,
    ChannelHost,
    ChannelPlugin,
    ChannelSettings,
    SendResult,
    SendStatus,
)
from bot.core.formatting import BOLD_RE
from bot.core.messages import ChannelCapabilities, EventKind, InboundEvent, OutboundMessage
from bot.core.wording import load_no_buttons_wording

CHANNEL_NAME: Final = "console"
CONSOLE_TEXT_LIMIT: Final = 100_000

#: Shown where the owner types (a symbol: no language).
PROMPT = "> "

ReadLine = Callable[[], Awaitable[str | None]]
Reword = Callable[[str], str]


def render_plain(message: OutboundMessage, *, reword: Reword | None = None) -> str:
    """Neutral text for a terminal: bold marks dropped, options numbered, links spelled out,
    and "bấm" wording turned into "gõ" (``reword``) since there are no buttons."""
    text = reword(message.text) if reword is not None else message.text
    lines = [BOLD_RE.sub(r"\1", text)]
    for number, choice in enumerate(message.choices, start=1):
        lines.append(f"  {number}. {choice.label}")
    lines.extend(f"  → {link.label}: {link.url}" for link in message.links)
    return "\n".join(lines)


class ConsoleSettings(ChannelSettings):
    """Nothing to set: the console runs only under ``khuyencong chat``."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_")


class ConsoleChannel:
    """Prints replies to ``output``; the REPL in :func:`run_console` feeds the engine.

    No buttons and no bold: the engine numbers the options and drops the marks
    (:func:`bot.channels.base.fit`), so a reply arrives here as plain text.
    """

    name: Final = CHANNEL_NAME
    capabilities: Final = ChannelCapabilities(
        max_text_length=CONSOLE_TEXT_LIMIT,
        max_buttons=0,
        supports_buttons=False,
        supports_bold=False,
    )

    def __init__(self, output: TextIO | None = None, *, reword: Reword | None = None) -> None:
        self._output = output or sys.stdout
        self._reword = reword

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        """Nothing to start: :func:`run_console` reads the terminal."""

    async def stop(self) -> None:
        """Nothing to stop."""

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
    return InboundEvent(
        channel=CHANNEL_NAME,
        user_id=user,
        chat_id=user,
        event_id=f"{counter}-{uuid.uuid4().hex}",
        kind=kind,
        text=text,
        args=args,
    )


def build(_settings: ConsoleSettings, host: ChannelHost) -> Channel | None:
    """The terminal has no buttons: "bấm" wording becomes "gõ" (``content/channels/``)."""
    wording = load_no_buttons_wording(host.settings.content_dir)
    return ConsoleChannel(reword=wording.apply)


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=ConsoleSettings, build=build)
