"""No secret or personal data in logs at any level, and start-up failures in one line
(issue 18.4 and 18.13)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import cli
from bot.app.logs import setup_logging
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import running, telegram_settings

CANARY_TOKEN = "987654321:AAHcanaryTOKEN-abcdefghijklmnopqrstuv"
CANARY_SECRET = "canary-secret-0123456789"
CANARY_NAME = "Lê Văn Canary"
CANARY_PHONE = "0912345678"
LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _assert_clean(output: str) -> None:
    for canary in (CANARY_TOKEN, CANARY_SECRET, CANARY_NAME, CANARY_PHONE, "0912 345 678"):
        leaks = [line for line in output.splitlines() if canary in line]
        assert not leaks, leaks[:2]


def test_every_level_of_every_logger_is_redacted(restore_logging: None) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", secrets=[CANARY_SECRET], stream=stream)
    payload = {"chat": {"first_name": CANARY_NAME}, "text": f"Tôi là {CANARY_NAME}"}
    for name in ("telegram.ext.ExtBot", "bot.core.engine", "sqlalchemy", "aiohttp.server"):
        logger = logging.getLogger(name)
        for level in LEVELS:
            logger.log(level, "POST https://api.telegram.org/bot%s/sendMessage", CANARY_TOKEN)
            logger.log(level, "parameters %s", payload)
            logger.log(level, "User(first_name='%s', id=1)", CANARY_NAME)
            logger.log(level, "contact %s / +84 912 345 678", CANARY_PHONE)
            logger.log(level, "secret %s", CANARY_SECRET, extra={"header": CANARY_SECRET})
            try:
                raise ValueError(f"The token `{CANARY_TOKEN}` was rejected; phone {CANARY_PHONE}")
            except ValueError:
                logger.log(level, "failed", exc_info=True)
    output = stream.getvalue()
    _assert_clean(output)
    assert "+84 912 345 678" not in output
    assert output.count("[redacted]") >= len(LEVELS) * 4


async def test_python_telegram_bot_at_debug_leaks_nothing(
    tmp_path: Path, restore_logging: None
) -> None:
    stream = io.StringIO()
    setup_logging("DEBUG", secrets=[CANARY_TOKEN], stream=stream)
    async with FakeTelegramAPI(token=CANARY_TOKEN) as fake:
        settings = telegram_settings(tmp_path, fake, log_level="DEBUG")
        async with running(settings):
            fake.send_command(7001, "dangky", first_name=CANARY_NAME)
            await fake.wait_for_sent(7001, 1)
            fake.send_text(7001, f"Tên tôi là {CANARY_NAME}, số {CANARY_PHONE}")
            fake.share_contact(7001, CANARY_PHONE)
            await fake.wait_until_delivered()
    output = stream.getvalue()
    assert "sendMessage" in output  # PTB did log its requests at DEBUG
    _assert_clean(output)


def _serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> int:
    monkeypatch.chdir(tmp_path)  # no .env from the project
    for key in [k for k in os.environ if k.startswith(("TELEGRAM_", "PUBLIC_URL"))]:
        monkeypatch.delenv(key)
    defaults = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "HOST": "127.0.0.1",
        "PORT": "0",
    }
    for key, value in (defaults | env).items():
        monkeypatch.setenv(key, value)
    return cli.main(["serve"])


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("khuyencong:")]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


def test_a_missing_database_folder_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'bot.sqlite3'}"
    assert _serve(monkeypatch, tmp_path, DATABASE_URL=url) == cli.EXIT_PROBLEMS
    line = _one_line(capsys.readouterr().err)
    assert "DATABASE_URL" in line and "gone" in line


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    url = "postgresql+asyncpg://nobody:hunter2-password@127.0.0.1:1/none"
    assert _serve(monkeypatch, tmp_path, DATABASE_URL=url) == cli.EXIT_PROBLEMS
    err = capsys.readouterr().err
    line = _one_line(err)
    assert "DATABASE_URL" in line and "hunter2-password" not in err


def test_an_unreachable_bot_api_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    code = _serve(
        monkeypatch,
        tmp_path,
        TELEGRAM_BOT_TOKEN=CANARY_TOKEN,
        TELEGRAM_API_BASE_URL="http://127.0.0.1:1/bot",
    )
    assert code == cli.EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert "TELEGRAM_API_BASE_URL" in _one_line(err)
    assert CANARY_TOKEN not in err


def test_a_public_url_without_a_secret_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    code = _serve(
        monkeypatch, tmp_path, TELEGRAM_BOT_TOKEN=CANARY_TOKEN, PUBLIC_URL="https://bot.example"
    )
    assert code == cli.EXIT_USAGE
    assert "TELEGRAM_WEBHOOK_SECRET" in _one_line(capsys.readouterr().err)


async def test_a_wrong_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as fake:  # knows only its own token
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")},
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
            "HOST": "127.0.0.1",
            "PORT": "0",
            "TELEGRAM_BOT_TOKEN": CANARY_TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.app.cli",
            "serve",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err_bytes = await process.communicate()
    err = err_bytes.decode()
    assert process.returncode == cli.EXIT_PROBLEMS, err
    assert "TELEGRAM_BOT_TOKEN" in _one_line(err)
    assert CANARY_TOKEN not in err and CANARY_TOKEN.split(":")[1] not in err
