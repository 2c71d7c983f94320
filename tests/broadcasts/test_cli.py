"""``khuyencong broadcast``: count, create and send, status, pause, cancel from a shell."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app.cli import main
from storage import Database, upgrade
from tests.broadcasts.seed import load_fixture, seed_people
from tests.harness import TEST_NOW, fixed_clock

FIXTURE = load_fixture("audience.yaml")


def test_count_create_send_status_pause_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def seed() -> None:
        database = Database(url)
        await upgrade(database)
        await seed_people(database, FIXTURE["people"], now=TEST_NOW)
        await database.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", url)
    clock = fixed_clock()

    def run(*words: str) -> str:
        assert main(["broadcast", *words], clock=clock) == 0
        return capsys.readouterr().out.strip()

    assert run("count", "--topic", "trade_fair") == "5"
    assert run("count", "--province", "1", "--status", "new", "--status", "contacted") == "2"
    created = run("create", "--topic", "trade_fair", "--text", "Hội chợ {{ name }}", "--send")
    assert created.splitlines() == ["#1 created, audience 5", "#1 started (5)"]
    assert run("status", "1") == ("#1 running total=5 pending=5 unsubscribed_24h=0 clicks=0")
    assert run("pause", "1") == "#1 paused"
    assert run("cancel", "1") == "#1 cancelled"
    assert "#1\tcancelled\t5\tHội chợ {{ name }}" in run("list")
    assert main(["broadcast", "resume", "1"], clock=clock) == 1
    assert main(["broadcast", "create", "--text", "{{ oops"], clock=clock) == 1
