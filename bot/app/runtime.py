"""Assembles and runs the whole bot: database, engine, channels, web app, workers.

Start-up applies pending migrations and loads the content (a broken content file stops it
with the file and line); shutdown finishes the update in hand before closing connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from bot.app.channels import CHANNELS
from bot.app.dashboard import mount_dashboard
from bot.app.startup import StartupError
from bot.app.web import create_app
from bot.app.workers.maintenance import MaintenanceWorker
from bot.app.workers.outbox import OutboxWorker, unreachable_reporter
from bot.channels.base import Channel, ChannelHost, ChannelPlugin, ChannelSettings
from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.content import Content
from bot.core.engine import Engine
from bot.staff.digest import DigestWorker
from handlers import build_router, warm_up
from handlers.handoff import close_idle_handoffs
from storage import Database, ensure_current

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


class BotRuntime:
    """One running bot process. ``start`` then ``stop``; or ``run_until_signal``.

    ``channels`` are the plugins to build (default: the registry, ``bot/app/channels.py``);
    their settings are read here, so a malformed one stops start-up before anything runs.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        channels: Sequence[ChannelPlugin[Any]] = CHANNELS,
    ) -> None:
        self.settings = settings
        #: The one clock of this process: engine, channels and workers all read it.
        self.clock: Clock = clock or SystemClock()
        self._sections: list[tuple[ChannelPlugin[Any], ChannelSettings]] = [
            (plugin, settings.section(plugin.settings)) for plugin in channels
        ]
        self.database: Database | None = None
        self.engine: Engine | None = None
        #: The running channels, by name.
        self.channels: dict[str, Channel] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._marks_task: asyncio.Task[None] | None = None
        self._workers: list[OutboxWorker | MaintenanceWorker | DigestWorker] = []
        self.port: int | None = None
        self.broadcasts: Any = None
        #: Why the process must stop on its own (said in one line by the CLI), if it must.
        self.failure: str | None = None
        self.stop_requested = asyncio.Event()

    async def start(self, *, serve_http: bool = True) -> None:
        settings = self.settings
        content = await asyncio.to_thread(Content, settings.content_dir)
        await asyncio.to_thread(warm_up, content)
        self.database = Database(settings.database_url, pool_size=settings.database_pool_size)
        await ensure_current(self.database)  # Alembic stays out of this process
        router = build_router()
        engine = Engine(
            database=self.database,
            content=content,
            settings=settings,
            router=router,
            clock=self.clock,
        )
        self.engine = engine
        host = ChannelHost(
            settings=settings,
            database=self.database,
            texts=content.texts,
            dispatch=engine.process,
            handle=engine.handle,
            clock=self.clock,
            commands=router.platform_commands(),
            on_fatal=self._fail,
        )
        for plugin, section in self._sections:
            channel = plugin.build(section, host)
            if channel is not None:
                self.channels[channel.name] = channel
                engine.register_channel(channel)
        if not settings.staff_chats:
            log.warning(
                "STAFF_CHATS is not set: new leads and questions for staff reach nobody; "
                "owners who ask for staff are told to contact the Center directly"
            )
        self._start_workers(engine)
        if settings.broadcast_sender:
            from bot.app.workers.broadcast_service import BroadcastService

            self.broadcasts = BroadcastService(
                settings,
                self.database,
                texts=content.texts,
                clock=self.clock,
                channels=self.channels,
            )
            await self.broadcasts.start()
        if serve_http:
            routes = [route for channel in self.channels.values() for route in channel.routes()]
            app = create_app(engine, routes)
            mount_dashboard(app, engine)
            self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
            await self._runner.setup()
            self._site = web.TCPSite(
                self._runner, settings.host, settings.port, reuse_port=settings.reuse_port or None
            )
            await self._site.start()
            self.port = _bound_port(self._runner) or settings.port
            log.info("web app listening", extra={"port": self.port})
        # Only now: a webhook route must be listening before the platform is told about it.
        for channel in self.channels.values():
            await channel.start()

    def _start_workers(self, engine: Engine) -> None:
        assert self.database is not None
        outbox = OutboxWorker(
            self.database,
            engine.channels,
            clock=self.clock,
            wake=engine.outbox_ready,
            on_unreachable=unreachable_reporter(engine),
        )
        maintenance = MaintenanceWorker(
            self.database,
            clock=self.clock,
            keep_event_hours=self.settings.dedup_retention_hours,
            handoff_idle_hours=self.settings.handoff_idle_hours,
            close_idle_handoffs=close_idle_handoffs,
            web_session_idle_days=self.settings.webchat_session_idle_days,
        )
        digest = DigestWorker(
            self.database,
            engine.content,
            clock=engine.now,
            timezone=self.settings.timezone,
            hour=self.settings.staff_digest_hour,
            after_days=self.settings.staff_digest_after_days,
            targets=self.settings.staff_targets,
            wake=engine.outbox_ready.set,
        )
        self._workers = [outbox, maintenance, digest]
        self._tasks = [asyncio.create_task(worker.run()) for worker in self._workers]
        self._marks_task = asyncio.create_task(engine.run_delivery_marks())

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, then close everything."""
        for channel in self.channels.values():
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)
        if self._runner is not None:
            await self._runner.cleanup()
        if self.broadcasts is not None:
            await self.broadcasts.stop()
        for worker in self._workers:
            worker.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        if self._marks_task is not None:
            self._marks_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._marks_task
        if self.engine is not None and self.database is not None:
            with contextlib.suppress(Exception):
                await self.engine.flush_delivered()
        if self.database is not None:
            await self.database.dispose()

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.stop_requested.set()

    async def run_until_signal(
        self, *, on_ready: Callable[[BotRuntime], None] | None = None
    ) -> None:
        try:
            await self.start()
        except BaseException:
            await self.stop()  # close what did start; the caller prints one line
            raise
        if on_ready is not None:
            on_ready(self)
        stop = self.stop_requested
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()
        if self.failure is not None:
            raise StartupError(self.failure)


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
