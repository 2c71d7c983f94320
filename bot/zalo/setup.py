"""Builds the Zalo channels for a runtime: the OA, the Bot platform bot, their inbox worker.

Kept apart from ``bot/runtime.py`` so the runtime only calls :meth:`ZaloChannels.build`,
``routes``, ``start`` and ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channels.zalo_bot import ZaloBotChannel, ZaloBotSettings
from bot.channels.zalo_oa import ZaloOAChannel, ZaloOASettings
from bot.config import Settings
from bot.engine import Engine
from bot.workers.inbox import InboxWorker

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


@dataclass
class ZaloChannels:
    inbox: InboxWorker
    oa: ZaloOAChannel | None = None
    bot: ZaloBotChannel | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        oa_settings: ZaloOASettings,
        bot_settings: ZaloBotSettings,
    ) -> ZaloChannels | None:
        """None when neither Zalo channel is configured."""
        if not oa_settings.enabled and not bot_settings.enabled:
            return None
        handlers: dict[str, Any] = {}
        inbox = InboxWorker(
            engine.database,
            handlers,
            keep=timedelta(hours=settings.dedup_retention_hours),
        )
        zalo = cls(inbox=inbox)
        if oa_settings.enabled:
            oa_settings.check()
            zalo.oa = ZaloOAChannel(
                oa_settings,
                database=engine.database,
                dispatch=engine.process,
                texts=engine.content.texts,
                clock=engine.now,
                inbox=inbox,
                staff_targets=settings.staff_targets,
            )
            handlers[zalo.oa.name] = zalo.oa.handle_stored
            engine.register_channel(zalo.oa)
        if bot_settings.enabled:
            zalo.bot = ZaloBotChannel(
                bot_settings,
                database=engine.database,
                dispatch=engine.process,
                clock=engine.now,
                inbox=inbox,
            )
            handlers[zalo.bot.name] = zalo.bot.handle_stored
            engine.register_channel(zalo.bot)
        return zalo

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        if self.oa is not None:
            routes.extend(self.oa.routes())
        if self.bot is not None:
            routes.extend(self.bot.routes())
        return routes

    async def start(self, *, public_url: str | None) -> None:
        """After the web app listens: the bot's webhook route must be up before setWebhook."""
        if self.oa is not None:
            await self.oa.start()
        if self.bot is not None:
            await self.bot.start(public_url=public_url)
        self._task = asyncio.create_task(self.inbox.run())

    async def stop(self) -> None:
        self.inbox.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for channel in (self.bot, self.oa):
            if channel is not None:
                with contextlib.suppress(Exception):
                    await channel.stop()
