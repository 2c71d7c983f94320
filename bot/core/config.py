"""Settings from environment variables and an optional ``.env`` file.

These are the core settings; each channel owns its own (``TELEGRAM_*`` in
``bot/channels/telegram.py``…), read through :meth:`Settings.section`. A malformed value
stops start-up with one line naming the variable (see :func:`load_settings`); a missing
Telegram token only switches Telegram off.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.content import DEFAULT_CONTENT_DIR
from bot.core.loop import EventLoopKind, uvloop_available

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///khuyencong.sqlite3"
DEFAULT_PORT = 8080
#: PostgreSQL pool per process (storage.database.POSTGRES_POOL_SIZE), and a sane ceiling.
DEFAULT_POOL_SIZE = 32
MAX_POOL_SIZE = 500
MAX_PORT = 65_535
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_HANDOFF_IDLE_HOURS = 48
DEFAULT_RETENTION_DAYS = 730
DEFAULT_DEDUP_RETENTION_HOURS = 72
MIN_DEDUP_RETENTION_HOURS = 48
MIN_SECRET_LENGTH = 16
DEFAULT_WEB_SESSION_IDLE_DAYS = 30
LOCAL_HTTP_PREFIXES = ("http://127.0.0.1:", "http://localhost:")

SectionT = TypeVar("SectionT", bound=BaseSettings)


class ConfigError(Exception):
    """One clear line saying which variable is wrong and why."""


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"21:00-07:00"`` → (21:00, 07:00); empty or ``"off"`` → None."""
    value = value.strip().lower()
    if value in {"", "off", "none", "0"}:
        return None
    start, sep, end = value.partition("-")
    if not sep:
        msg = "write quiet hours as HH:MM-HH:MM, e.g. 21:00-07:00, or off"
        raise ValueError(msg)
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


class Settings(BaseSettings):
    """Every setting, with the environment variable that sets it."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    #: This computer only by default; a server sets HOST=0.0.0.0 (every interface).
    host: str = Field(default="127.0.0.1")
    port: int = Field(default=DEFAULT_PORT, ge=0, le=MAX_PORT)  # 0: any free port (tests)
    #: The bot's public https address, where platforms deliver webhooks; None: no webhooks.
    public_url: str | None = None
    #: Where new leads and hand-offs are posted: "telegram:-100123,telegram:456".
    staff_chats: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Who may use the dashboard: "admin:password" pairs, comma-separated.
    dashboard_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    content_dir: Path = DEFAULT_CONTENT_DIR
    timezone: str = DEFAULT_TIMEZONE
    handoff_idle_hours: int = Field(default=DEFAULT_HANDOFF_IDLE_HOURS, ge=1)
    lead_retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1)
    dedup_retention_hours: int = Field(
        default=DEFAULT_DEDUP_RETENTION_HOURS, ge=MIN_DEDUP_RETENTION_HOURS
    )
    log_level: str = "INFO"
    #: PostgreSQL connections each server process keeps open (storage.database): at least the
    #: updates in flight at once; N workers hold N × (this + 8) of the server's connections.
    database_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=MAX_POOL_SIZE)
    #: "auto" (uvloop when installed), "asyncio" or "uvloop": see bot/loop.py.
    event_loop: EventLoopKind = "auto"
    #: Broadcasts (bot/broadcasts): the pace, under Telegram's ~30 messages/s.
    broadcast_rate: float = Field(default=28.0, gt=0, le=30)
    #: Paid broadcasts (allow_paid_broadcast, charged in Stars): up to 1,000 messages/s.
    broadcast_paid: bool = False
    broadcast_paid_rate: float = Field(default=950.0, gt=0, le=1000)
    #: No broadcast sends in these hours (Center time); "off" to send around the clock.
    broadcast_quiet_hours: str = "21:00-07:00"
    #: A second staff member must approve a broadcast before it goes out.
    broadcast_approval_required: bool = False
    #: Run the broadcast senders inside ``serve`` (off: run ``khuyencong broadcast run``).
    broadcast_sender: bool = True
    broadcast_lease_seconds: float = Field(default=60.0, gt=0)
    broadcast_backoff_seconds: float = Field(default=30.0, ge=0)
    broadcast_max_attempts: int = Field(default=5, ge=1)
    broadcast_content_error_limit: int = Field(default=5, ge=1)
    #: Anonymous web chat sessions (no consent, lead, hand-off or subscription) idle this
    #: long are deleted with their conversation and log.
    webchat_session_idle_days: int = Field(default=DEFAULT_WEB_SESSION_IDLE_DAYS, ge=1)
    #: Morning digest to the staff chats: leads still new after this many days…
    staff_digest_after_days: int = Field(default=3, ge=1)
    #: …posted once a day at or after this local hour (0-23).
    staff_digest_hour: int = Field(default=7, ge=0, le=23)
    #: Values given to :func:`load_settings` that are not core settings: channel sections.
    _section_values: dict[str, object] = PrivateAttr(default_factory=dict)
    _env_file: Any = PrivateAttr(default=".env")
    #: Bind the port with SO_REUSEPORT: set by ``khuyencong serve --workers N`` for its workers.
    reuse_port: bool = False

    @field_validator("event_loop")
    @classmethod
    def _check_event_loop(cls, value: EventLoopKind) -> EventLoopKind:
        if value == "uvloop" and not uvloop_available():
            msg = "uvloop is not installed here; use auto or asyncio"
            raise ValueError(msg)
        return value

    @field_validator("broadcast_quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("staff_chats", "dashboard_users", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("staff_chats")
    @classmethod
    def _check_staff_chats(cls, value: list[str]) -> list[str]:
        for item in value:
            channel, _, chat = item.partition(":")
            if not channel or not chat:
                msg = f"expected channel:chat_id, got {item!r}"
                raise ValueError(msg)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            msg = "use sqlite+aiosqlite:///file.sqlite3 or postgresql+asyncpg://user@host/db"
            raise ValueError(msg)
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        local = value.startswith(LOCAL_HTTP_PREFIXES)  # a local fake API in tests
        if not value.startswith("https://") and not local:
            msg = "platform webhooks need an https:// address"
            raise ValueError(msg)
        return value.rstrip("/")

    @property
    def staff_targets(self) -> list[tuple[str, str]]:
        """Staff chats as (channel, chat_id) pairs."""
        return [tuple(item.split(":", 1)) for item in self.staff_chats]  # type: ignore[misc]

    def section(self, cls: type[SectionT]) -> SectionT:
        """A channel's settings (``cls`` sets its ``env_prefix``), from the environment and
        the values given to :func:`load_settings` under that prefix; a malformed value is a
        :class:`ConfigError` naming the variable."""
        prefix = str(cls.model_config.get("env_prefix", "")).lower()
        values = {
            key.removeprefix(prefix): value
            for key, value in self._section_values.items()
            if key.startswith(prefix)
        }
        try:
            return cls(_env_file=self._env_file, **values)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise _config_error(exc, prefix=prefix.upper()) from None


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one :class:`ConfigError` line.

    ``overrides`` that are not core settings are kept for the channel sections
    (``telegram_bot_token=`` reaches ``TelegramSettings.bot_token``).
    """
    core = {key: value for key, value in overrides.items() if key in Settings.model_fields}
    env_file = overrides.get("_env_file", ".env")
    try:
        settings = Settings(_env_file=env_file, **core)  # type: ignore[arg-type,call-arg]
    except ValidationError as exc:
        raise _config_error(exc) from None
    settings._section_values = {
        key: value
        for key, value in overrides.items()
        if key not in core and not key.startswith("_")
    }
    settings._env_file = env_file
    return settings


def _config_error(exc: ValidationError, *, prefix: str = "") -> ConfigError:
    first = exc.errors()[0]
    name = prefix + str(first["loc"][0]).upper() if first["loc"] else "?"
    return ConfigError(f"Invalid setting {name}: {first['msg']}")
