"""Which asyncio event loop the bot runs on.

uvloop (libuv) runs the same asyncio code with a fraction of the loop's own overhead: in
the webhook benchmark the loop, its selector and its thread wake-ups were a fifth of the
server's CPU. It is the default where it is installed (Linux, macOS); ``EVENT_LOOP=asyncio``
keeps the standard loop, for debugging or a platform without uvloop.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

EventLoopKind = Literal["auto", "asyncio", "uvloop"]
T = TypeVar("T")


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(kind: EventLoopKind = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory for ``kind``; "auto" is uvloop when installed, else the standard loop."""
    if kind == "asyncio" or (kind == "auto" and not uvloop_available()):
        return asyncio.new_event_loop
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], *, kind: EventLoopKind = "auto") -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)


__all__ = ["EventLoopKind", "loop_factory", "run", "uvloop_available"]
