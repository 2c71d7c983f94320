"""Takes secrets and personal data out of log lines and one-line error messages.

Our own call sites log ids and kinds only, but libraries do not: python-telegram-bot at
DEBUG prints every update and every request (the token is in the URL, the owner's name and
phone in the payload), and exceptions quote what they were given. So every log handler
carries :class:`RedactingFilter`, which rewrites the message, the exception text and the
extra fields before any formatter sees them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final

REDACTED: Final = "[redacted]"
#: A Telegram bot token: the bot's numeric id, a colon, then 35 URL-safe characters.
TOKEN_RE: Final = re.compile(r"\d{5,16}:[A-Za-z0-9_-]{30,}")
#: A Vietnamese phone number (0… or +84…), with or without spaces, dots or dashes.
PHONE_RE: Final = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .-]?\d){8,10}(?!\d)")
#: Fields that hold a person's name, contact or words, in JSON, dict reprs and object reprs.
PERSONAL_KEYS: Final = (
    "first_name",
    "last_name",
    "username",
    "full_name",
    "phone_number",
    "phone",
    "facility_name",
    "text",
    "caption",
    "title",
    "vcard",
    "address",
    "latitude",
    "longitude",
)
_KEYS = "|".join(PERSONAL_KEYS)
#: ``'key': 'value'`` or ``"key": "value"`` (JSON and dict reprs), and ``key='value'``.
_QUOTED_FIELD_RE: Final = re.compile(
    rf"""(?P<key>(?P<q>['"])(?:{_KEYS})(?P=q)\s*:\s*|\b(?:{_KEYS})=)"""
    r"""(?P<v>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|-?\d+(?:\.\d+)?)"""
)
MIN_SECRET_LENGTH: Final = 6


class Redactor:
    """Replaces known secrets, token-shaped strings, phone numbers and personal fields."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(
            {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = TOKEN_RE.sub(REDACTED, text)
        text = _QUOTED_FIELD_RE.sub(rf"\g<key>'{REDACTED}'", text)
        return PHONE_RE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place; attached to every handler so no output escapes it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the line
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


_STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
