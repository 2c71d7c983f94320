"""What the benchmark's processes share: the webhook address, and running a service (our
bot, a baseline, the fake API) behind one interface, in this process or in its own.

Kept apart from ``bench/updates.py`` (the driver) so the baselines import it without
importing the driver: no import cycle between the benchmark's modules.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol

WEBHOOK_PATH: Final = "/telegram/webhook"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
#: Set to a folder to run each server under cProfile (between start and stop).
PROFILE_ENV: Final = "BENCH_PROFILE_DIR"
#: Longest JSON line between the driver and a server (the recorded replies go in one).
CONFIG_LINE_LIMIT: Final = 16 * 1024 * 1024


class Service(Protocol):
    """A server under test or the fake API; ``command`` answers small JSON questions."""

    async def start(self) -> dict[str, Any]: ...

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]: ...

    async def stop(self) -> dict[str, Any]: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- running a service in its own process: one JSON line per command on stdin/stdout ---------


async def serve_stdio(make: Callable[..., Service]) -> None:
    """Read the service's arguments (first line), start it and print its details, then
    answer commands until "stop" or EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CONFIG_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    service = make(**json.loads(await reader.readline()))
    profile_dir = os.environ.get(PROFILE_ENV)
    profiler = cProfile.Profile(time.process_time) if profile_dir else None
    _reply(await service.start())
    if profiler is not None:
        profiler.enable()
    while line := await reader.readline():
        request = json.loads(line)
        if request["command"] == "stop":
            break
        try:
            answer = await service.command(request["command"], request.get("args", {}))
        except Exception as exc:
            answer = {"error": repr(exc)}
        _reply(answer)
    if profiler is not None:
        profiler.disable()
        name = f"{type(service).__name__}-{os.getpid()}.prof"
        profiler.dump_stats(Path(profile_dir or ".") / name)
    _reply(await service.stop())


def _reply(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
