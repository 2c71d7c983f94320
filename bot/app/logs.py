"""Structured logs, one JSON object per line, never with personal data.

Handlers log ids and kinds, not names, phones or message texts; the formatter only copies
the ``extra`` fields a call site chose to add. Libraries are less careful, so the one handler
also carries a :class:`~bot.app.redact.RedactingFilter` (secrets, tokens, phones, names) at
every level.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from bot.app.redact import RedactingFilter, Redactor

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_text:  # already cleaned by the redacting filter
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    level: str = "INFO", *, secrets: Iterable[str | None] = (), stream: TextIO | None = None
) -> None:
    """One JSON handler on the root logger; ``secrets`` (token, webhook secret, database
    password) never appear in its output, whatever logs them."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL, which contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines are every statement with its parameters (names, phones, texts).
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


class MalformedBodyFilter(logging.Filter):
    """aiohttp logs "Unhandled exception" with a traceback when it drains a body it cannot
    decode (a false ``Content-Encoding: gzip``) after our handler already answered; that is
    the client's fault, so it becomes one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ == "RequestPayloadError":
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = f"malformed request body: {exc}".replace("\n", " "), None
            record.exc_info, record.exc_text = None, None
        return True


def quiet_malformed_bodies() -> None:
    """Install :class:`MalformedBodyFilter` on aiohttp's server logger (once)."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedBodyFilter) for f in server.filters):
        server.addFilter(MalformedBodyFilter())
