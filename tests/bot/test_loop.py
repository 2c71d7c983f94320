"""The event loop ``khuyencong serve`` runs on (EVENT_LOOP)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import pytest
import uvloop

from bot.app.cli import main
from bot.core import loop
from bot.core.config import load_settings


async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_asyncio_is_the_standard_loop() -> None:
    chosen = loop.run(running_loop(), kind="asyncio")
    assert not isinstance(chosen, uvloop.Loop)
    assert isinstance(chosen, asyncio.BaseEventLoop)


@pytest.mark.parametrize("kind", ["auto", "uvloop"])
def test_auto_and_uvloop_run_on_uvloop_where_installed(kind: loop.EventLoopKind) -> None:
    assert loop.uvloop_available()
    assert isinstance(loop.run(running_loop(), kind=kind), uvloop.Loop)


def test_serve_runs_the_runtime_on_the_configured_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``serve`` hands the runtime to loop.run with EVENT_LOOP, which then really runs it."""
    seen: list[tuple[str, bool]] = []

    class StubRuntime:
        def __init__(self, _settings: object, *, clock: object) -> None: ...

        async def run_until_signal(self, *, on_ready: object = None) -> None:
            seen.append(("ran", isinstance(asyncio.get_running_loop(), uvloop.Loop)))

    monkeypatch.setattr("bot.app.runtime.BotRuntime", StubRuntime)
    monkeypatch.setenv("EVENT_LOOP", "asyncio")
    assert main(["serve"]) == 0
    monkeypatch.setenv("EVENT_LOOP", "uvloop")
    assert main(["serve"]) == 0
    assert seen == [("ran", False), ("ran", True)]


def test_serve_freezes_what_start_up_built_before_announcing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once the runtime is up, start-up's objects leave the collector's generations (a full
    collection over them stopped the loop for 80 ms), and only then is the address printed."""
    frozen_when_announced: list[int] = []

    class StubRuntime:
        def __init__(self, _settings: object, *, clock: object) -> None:
            self.settings = load_settings(host="127.0.0.1")
            self.port = 8080
            self.channels = {"web": None}

        async def run_until_signal(self, *, on_ready: Callable[[object], None]) -> None:
            on_ready(self)
            frozen_when_announced.append(gc.get_freeze_count())

    monkeypatch.setattr("bot.app.runtime.BotRuntime", StubRuntime)
    monkeypatch.setenv("EVENT_LOOP", "asyncio")
    gc.unfreeze()
    try:
        assert main(["serve"]) == 0
        assert frozen_when_announced and frozen_when_announced[0] > 0
        assert "http://127.0.0.1:8080/chat" in capsys.readouterr().out
    finally:
        gc.unfreeze()
