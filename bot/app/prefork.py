"""``khuyencong serve --workers N``: N server processes on one port, for PostgreSQL.

The parent applies the migrations once, then starts N copies of ``khuyencong serve`` with
``REUSE_PORT=true``: each binds the same host and port with ``SO_REUSEPORT`` and the kernel
spreads the connections between them (aiohttp's documented way to run several processes
without a proxy in front). Nothing else is shared between the processes but the database:

- one owner's updates stay in order because each step locks the owner's state row
  (``SELECT … FOR UPDATE``) whichever process took the update; the in-process lock only
  spares a process from waiting on its own rows;
- the outbox rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a lease, so two processes
  never send the same row at the same time;
- maintenance runs under a PostgreSQL advisory lock: one process at a time.

SQLite has one writer per file and long polling one reader per bot, so both refuse more
than one worker. The parent forwards SIGTERM and SIGINT to the workers and waits for them;
if one worker dies on its own the parent stops the others and exits with an error, so the
service manager (systemd, Docker) restarts the whole set.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Final

from bot.core.config import ConfigError, Settings

#: Tells a worker process to bind its port with SO_REUSEPORT (Settings.reuse_port).
REUSE_PORT_ENV: Final = "REUSE_PORT"
#: The worker's number (0…N-1), for its logs.
WORKER_INDEX_ENV: Final = "KHUYENCONG_WORKER"
#: How long the workers get to finish the updates in hand after SIGTERM.
STOP_GRACE_SECONDS: Final = 30.0
POLL_SECONDS: Final = 0.2
EXIT_OK: Final = 0
EXIT_WORKER_DIED: Final = 1


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse set-ups where several processes would break an invariant."""
    if workers < 1:
        msg = "--workers must be at least 1"
        raise ConfigError(msg)
    if workers == 1:
        return
    if not settings.database_url.startswith("postgresql"):
        msg = "--workers above 1 needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://…)"
        raise ConfigError(msg)
    from bot.channels.telegram import TelegramSettings

    if settings.section(TelegramSettings).bot_token and not settings.public_url:
        msg = "--workers above 1 needs Telegram in webhook mode (set PUBLIC_URL)"
        raise ConfigError(msg)
    if not hasattr(socket, "SO_REUSEPORT"):
        msg = "--workers above 1 needs SO_REUSEPORT (Linux, BSD, macOS)"
        raise ConfigError(msg)


def worker_command() -> list[str]:
    """How a worker is started: this interpreter, ``khuyencong serve``."""
    return [
        sys.executable,
        "-c",
        "import sys; from bot.app.cli import main; sys.exit(main(['serve']))",
    ]


def serve_workers(
    settings: Settings, workers: int, *, command: Sequence[str] | None = None
) -> int:
    """Migrate once, run ``workers`` processes until a signal, return the exit code."""
    from storage import Database, ensure_current

    async def migrate() -> None:
        database = Database(settings.database_url)
        try:
            await ensure_current(database)
        finally:
            await database.dispose()

    asyncio.run(migrate())
    argv = list(command or worker_command())
    children = [
        subprocess.Popen(
            argv, env=os.environ | {REUSE_PORT_ENV: "true", WORKER_INDEX_ENV: str(index)}
        )
        for index in range(workers)
    ]
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while any(child.poll() is None for child in children):
            if not stopping and any(child.poll() is not None for child in children):
                forward(signal.SIGTERM, None)  # one died on its own: stop the set
                died = True
                break
            _pause(POLL_SECONDS)
        else:
            died = False
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(child.poll() is None for child in children) and time.monotonic() < deadline:
            _pause(POLL_SECONDS)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if died or any(child.returncode not in (0, -signal.SIGTERM) for child in children):
        return EXIT_WORKER_DIED
    return EXIT_OK


def _pause(seconds: float) -> None:
    """Wait without ``time.sleep``: its absolute-deadline ``clock_nanosleep`` fails with EINVAL
    under libfaketime, which CI uses to run the suite a year ahead; ``select`` takes a
    relative timeout and works everywhere."""
    select.select([], [], [], seconds)
