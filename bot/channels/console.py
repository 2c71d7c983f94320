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
from bot.core.messages import ChannelCapabilities, EventKind, InboundEvent, OutboundMessage

CHANNEL_NAME: Final = "console"
CONSOLE_TEXT_LIMIT: Final = 100_000

ReadLine = Callable[[], Awaitable[str | None]]


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

    def __init__(self, output: TextIO | None = None) -> None:
        self._output = output or sys.stdout

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        """Nothing to start: :func:`run_console` reads the terminal."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        self._output.write(message.text + "\n\n")
        self._output.flush()
        return SendResult(SendStatus.SENT)


async def read_stdin_line() -> str | None:
    """One line from standard input without blocking the event loop (None at end of input)."""
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


def build(_settings: ConsoleSettings, _host: ChannelHost) -> Channel | None:
    return ConsoleChannel()


PLUGIN: Final = ChannelPlugin(name=CHANNEL_NAME, settings=ConsoleSettings, build=build)
