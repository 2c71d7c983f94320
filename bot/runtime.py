"""Assembles and runs the whole bot: database, engine, channels, web app, workers.

Start-up applies pending migrations and loads the content (a broken content file stops it
with the file and line); shutdown finishes the update in hand before closing connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.channels.console import ConsoleChannel
from bot.channels.webchat import WebChatChannel
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content import Content
from bot.engine import Engine
from bot.router import FLOW_COMMANDS
from bot.staff.digest import DigestWorker
from bot.startup import StartupError
from bot.web.app import create_app
from bot.web.dashboard import mount_dashboard
from bot.wording import load_no_buttons_wording
from bot.workers.maintenance import MaintenanceWorker
from bot.workers.outbox import OutboxWorker
from handlers import build_router, warm_up
from handlers.handoff import close_idle_handoffs
from storage import Database, upgrade

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
#: The Telegram command menu: the global commands, then one per flow.
TELEGRAM_COMMANDS = ("start", "menu", "help", "huy", *FLOW_COMMANDS)


class BotRuntime:
    """One running bot process. ``start`` then ``stop``; or ``run_until_signal``."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        with_console: bool = False,
    ) -> None:
        self.settings = settings
        #: The one clock of this process: engine, channels and workers all read it.
        self.clock: Clock = clock or SystemClock()
        self._with_console = with_console
        self.database: Database | None = None
        self.engine: Engine | None = None
        self.telegram: Any = None
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
        self.database = Database(settings.database_url)
        await upgrade(self.database)
        router = build_router()
        engine = Engine(
            database=self.database,
            content=content,
            settings=settings,
            router=router,
            clock=self.clock,
        )
        self.engine = engine
        engine.register_channel(WebChatChannel(self.database, clock=self.clock))
        if self._with_console:
            wording = content.get(load_no_buttons_wording)
            engine.register_channel(ConsoleChannel(reword=wording.apply))
        webhook_route = None
        if settings.telegram_enabled:
            webhook_route = self._make_telegram(engine)
        else:
            log.info("TELEGRAM_BOT_TOKEN is not set: Telegram is off, the web chat still runs")
        if not settings.staff_chats:
            log.warning(
                "STAFF_CHATS is not set: new leads and questions for staff reach nobody; "
                "owners who ask for staff are told to contact the Center directly"
            )
        self._start_workers(engine)
        if settings.broadcast_sender:
            from bot.broadcasts.service import BroadcastService

            self.broadcasts = BroadcastService(
                settings,
                self.database,
                texts=content.texts,
                clock=self.clock,
                channels=engine.channels,
            )
            await self.broadcasts.start()
        if serve_http:
            app = create_app(
                engine, telegram_webhook=webhook_route, webchat=settings.webchat_enabled
            )
            mount_dashboard(app, engine)
            self._runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
            await self._runner.setup()
            self._site = web.TCPSite(self._runner, settings.host, settings.port)
            await self._site.start()
            self.port = _bound_port(self._runner) or settings.port
            log.info("web app listening", extra={"port": self.port})
        if self.telegram is not None:
            # Only now: the webhook route must be listening before Telegram is told about it.
            await self._start_telegram(self.telegram)

    def _make_telegram(self, engine: Engine) -> Any:
        """Build the Telegram channel; returns the webhook route in webhook mode."""
        from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel

        settings = self.settings
        assert settings.telegram_bot_token is not None
        channel = TelegramChannel(
            settings.telegram_bot_token,
            dispatch=engine.process,
            base_url=settings.telegram_api_base_url,
            webhook_secret=settings.telegram_webhook_secret,
            texts=engine.content.texts,
            rate_limit=settings.telegram_rate_limit,
            on_fatal=self._fail,
        )
        engine.register_channel(channel)
        self.telegram = channel
        return (WEBHOOK_PATH, channel.handle_webhook) if settings.public_url else None

    async def _start_telegram(self, channel: Any) -> None:
        settings = self.settings
        if settings.public_url:
            await channel.start_webhook(settings.public_url)
            log.info("Telegram in webhook mode")
        else:
            await channel.start_polling()
            log.info("Telegram in long-polling mode (PUBLIC_URL is not set)")
        try:
            await channel.set_commands(TELEGRAM_COMMANDS)
        except Exception:  # the command menu is a nicety, never fatal
            log.warning("could not set the Telegram command menu")

    def _start_workers(self, engine: Engine) -> None:
        assert self.database is not None
        outbox = OutboxWorker(
            self.database, engine.channels, clock=self.clock, wake=engine.outbox_ready
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
        if self.telegram is not None:
            with contextlib.suppress(Exception):
                await self.telegram.stop()
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
