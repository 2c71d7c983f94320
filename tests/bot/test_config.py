from __future__ import annotations

import pytest

from bot.app.runtime import BotRuntime
from bot.channels.telegram import TelegramSettings
from bot.channels.webchat import WebChatSettings
from bot.core.config import ConfigError, load_settings
from storage import Database


def test_defaults_run_the_web_chat_on_sqlite_without_telegram(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "PORT", "TELEGRAM_BOT_TOKEN", "PUBLIC_URL", "STAFF_CHATS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.port == 8080
    assert settings.section(TelegramSettings).bot_token is None
    assert settings.section(WebChatSettings).enabled


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PORT", "tám nghìn", "PORT"),
        ("PORT", "70000", "PORT"),
        ("PUBLIC_URL", "http://bot.example.vn", "PUBLIC_URL: Value error, platform webhooks"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("STAFF_CHATS", "telegram", "STAFF_CHATS"),
        ("DEDUP_RETENTION_HOURS", "24", "DEDUP_RETENTION_HOURS"),
        ("EVENT_LOOP", "trio", "EVENT_LOOP"),
    ],
)
def test_a_malformed_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    message = str(error.value)
    assert fragment in message
    assert "\n" not in message


def test_staff_chats_and_an_empty_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_CHATS", "telegram:-1001, telegram:42")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    settings = load_settings(_env_file=None)
    assert settings.staff_targets == [("telegram", "-1001"), ("telegram", "42")]
    assert settings.section(TelegramSettings).bot_token is None


@pytest.mark.parametrize("value", ["short", "có dấu không được dùng!!"])
def test_a_malformed_channel_setting_stops_the_runtime_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", value)
    with pytest.raises(ConfigError) as error:
        BotRuntime(load_settings(_env_file=None))
    message = str(error.value)
    assert "TELEGRAM_WEBHOOK_SECRET" in message
    assert "\n" not in message


def test_channel_settings_come_from_the_environment_or_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:from-env")
    assert load_settings(_env_file=None).section(TelegramSettings).bot_token == "1:from-env"
    given = load_settings(_env_file=None, telegram_bot_token="2:given")
    assert given.section(TelegramSettings).bot_token == "2:given"


def test_the_postgresql_pool_size_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "12")
    settings = load_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1/test")
    assert settings.database_pool_size == 12
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    assert database.engine.pool.size() == 12  # type: ignore[attr-defined]
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ConfigError, match="DATABASE_POOL_SIZE"):
        load_settings()
