"""One clear line for each way ``khuyencong serve`` can fail to start, naming the setting.

A start-up failure is nearly always a setting (a wrong token, an unreachable database, a
missing folder), and a 100-line traceback hides which one; it may also print the token.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from bot.app.redact import Redactor
from bot.channels.telegram import TelegramSettings
from bot.core.config import ConfigError, Settings

#: Longer causes are cut: the line must stay one line.
MAX_DETAIL: Final = 160


class StartupError(Exception):
    """Raised by the runtime for a failure it has already described in one line."""


def secrets_of(settings: Settings) -> list[str | None]:
    """Everything that must never be printed: token, webhook secret, passwords."""
    passwords = [user.partition(":")[2] for user in settings.dashboard_users]
    try:
        telegram = settings.section(TelegramSettings)
    except ConfigError:  # reported on its own, in one line, when the channel is built
        telegram = None
    return [
        telegram.bot_token if telegram else None,
        telegram.webhook_secret if telegram else None,
        make_url(settings.database_url).password,
        *passwords,
    ]


def _detail(exc: BaseException, redact: Redactor) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)[:MAX_DETAIL]


def sqlite_folder_missing(settings: Settings) -> Path | None:
    """The folder of the SQLite file when it does not exist (the file would be lost)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    folder = Path(url.database).expanduser().resolve().parent
    return None if folder.is_dir() else folder


def describe_startup_failure(exc: BaseException, settings: Settings) -> str:
    """The one line to print for ``exc``, naming the setting to look at."""
    redact = Redactor(secrets_of(settings))
    if isinstance(exc, StartupError):
        return redact(str(exc))
    if isinstance(exc, InvalidToken):
        return "TELEGRAM_BOT_TOKEN was refused by Telegram: check the token with @BotFather"
    if isinstance(exc, Conflict):
        return (
            "another process already receives updates for this TELEGRAM_BOT_TOKEN "
            "(polling or a webhook): stop it first"
        )
    if isinstance(exc, NetworkError):
        return f"cannot reach the Telegram Bot API (TELEGRAM_API_BASE_URL): {_detail(exc, redact)}"
    if isinstance(exc, TelegramError):
        return f"Telegram refused the start-up: {_detail(exc, redact)}"
    if (folder := sqlite_folder_missing(settings)) is not None:
        return f"DATABASE_URL: the folder {folder} does not exist"
    if isinstance(exc, SQLAlchemyError | ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and exc.errno in {errno.ECONNREFUSED, errno.EHOSTUNREACH}
    ):
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        return f"cannot open the database (DATABASE_URL): {_detail(cause, redact)}"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"cannot listen on HOST:PORT {settings.host}:{settings.port}: address in use"
    return f"could not start: {type(exc).__name__}: {_detail(exc, redact)}"
