"""The broadcast senders of one process: one per channel that can broadcast.

``khuyencong serve`` runs them next to the bot (``BROADCAST_SENDER=true``, the default);
``khuyencong broadcast run`` runs them alone, as many processes as wanted on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from bot.app.workers.broadcasts import BroadcastSender
from bot.broadcasts.policy import policy_for
from bot.broadcasts.transport import BroadcastTransport, ChannelTransport
from bot.channels.base import Channel
from bot.channels.telegram import TelegramSettings
from bot.channels.telegram_broadcast import TelegramBroadcastTransport
from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.texts import Texts
from storage import Database
from storage.repositories import PUSH_CHANNELS

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0


class BroadcastService:
    """Starts and stops the senders and their transports together."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        texts: Texts,
        clock: Clock,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._texts = texts
        self._clock = clock
        self._channels = dict(channels or {})
        self.senders: list[BroadcastSender] = []
        self._transports: list[BroadcastTransport] = []
        self._tasks: list[asyncio.Task[None]] = []

    def _build_transports(self) -> list[BroadcastTransport]:
        settings = self._settings
        transports: list[BroadcastTransport] = []
        telegram = settings.section(TelegramSettings)
        if telegram.bot_token is not None:
            transports.append(
                TelegramBroadcastTransport(
                    telegram.bot_token,
                    base_url=telegram.api_base_url,
                    paid=settings.broadcast_paid,
                )
            )
        for name, channel in self._channels.items():
            if name in PUSH_CHANNELS and name != "telegram":
                transports.append(ChannelTransport(channel))
        return transports

    async def start(self) -> None:
        for transport in self._build_transports():
            self._transports.append(transport)  # stopped by stop() even if its start fails
            start = getattr(transport, "start", None)
            if start is not None:
                await start()
            sender = BroadcastSender(
                self._database,
                transport,
                clock=self._clock,
                policy=policy_for(self._settings, transport.name),
                texts=self._texts,
                staff_targets=self._settings.staff_targets,
            )
            self.senders.append(sender)
            self._tasks.append(asyncio.create_task(sender.run()))
            log.info("broadcast sender started", extra={"channel": transport.name})

    async def wait(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def stop(self) -> None:
        for sender in self.senders:
            sender.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        for transport in self._transports:
            stop = getattr(transport, "stop", None)
            if stop is not None:
                with contextlib.suppress(Exception):
                    await stop()
        self._tasks, self._transports, self.senders = [], [], []
