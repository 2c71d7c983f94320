"""Zalo error codes → what the sender does (the outbox's send statuses).

The OA answers HTTP 200 with ``{"error": <non-zero>, "message": …}`` for application errors;
the Bot platform answers ``{"ok": false, "error_code": …, "description": …}``. The table is
zalo.md section 4: window and follower errors make a person unreachable on Zalo (staff are
told, nobody retries), call limits and the night-time ban are retried later, payload bugs are
not retried, token errors trigger one refresh, configuration errors are retried slowly while
an admin fixes them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Final

from bot.channels.base import SendResult, SendStatus

#: -216 invalid / -220 expired access token: refresh once, then send again.
TOKEN_ERRORS: Final = frozenset({-216, -220})
UNREACHABLE_ERRORS: Final = frozenset({-213, -217, -227, -230, -232, -244})
BAD_CONTENT_ERRORS: Final = frozenset({-100, -201, -233, -240, -248})
#: The OA, the app or the package needs an admin: retried slowly, never given up silently.
CONFIG_ERRORS: Final = frozenset({-204, -205, -209, -212, -221, -223, -224, -320, -321})
CALL_LIMIT: Final = -32
OUT_OF_QUOTA: Final = -211
NIGHT_BAN: Final = -234
CALL_LIMIT_PAUSE_SECONDS: Final = 60.0
QUOTA_PAUSE_SECONDS: Final = 3600.0
CONFIG_PAUSE_SECONDS: Final = 900.0
#: Zalo refuses non-CS sends from 22:00 to 06:00 local time.
NIGHT_ENDS: Final = time(6, 0)

#: Bot platform HTTP-like codes.
BOT_TOO_MANY: Final = 429
BOT_UNAUTHORISED: Final = frozenset({401, 403})
BOT_NOT_FOUND: Final = 404
BOT_BAD_REQUEST: Final = 400


def seconds_until_morning(now: datetime) -> float:
    """From ``now`` (aware, local) to the next 06:00."""
    morning = now.replace(hour=NIGHT_ENDS.hour, minute=0, second=0, microsecond=0)
    if morning <= now:
        morning += timedelta(days=1)
    return (morning - now).total_seconds()


def oa_send_result(
    code: int, message: str, *, now: datetime, sent: tuple[str, ...] = ()
) -> SendResult:
    """The outcome of an OA send that answered ``error: code`` (token errors excluded:
    the caller refreshes and tries once more before it gets here)."""
    detail = f"zalo {code}: {message}"[:200]
    if code in UNREACHABLE_ERRORS:
        return SendResult(SendStatus.UNREACHABLE, message_ids=sent, detail=detail)
    if code == CALL_LIMIT:
        return SendResult(
            SendStatus.RETRY_AFTER,
            retry_after=CALL_LIMIT_PAUSE_SECONDS,
            message_ids=sent,
            detail=detail,
        )
    if code == OUT_OF_QUOTA:
        return SendResult(
            SendStatus.RETRY_AFTER,
            retry_after=QUOTA_PAUSE_SECONDS,
            message_ids=sent,
            detail=detail,
        )
    if code == NIGHT_BAN:
        return SendResult(
            SendStatus.RETRY_AFTER,
            retry_after=seconds_until_morning(now),
            message_ids=sent,
            detail=detail,
        )
    if code in BAD_CONTENT_ERRORS:
        return SendResult(SendStatus.BAD_CONTENT, message_ids=sent, detail=detail)
    if code in CONFIG_ERRORS:
        return SendResult(
            SendStatus.RETRY_AFTER,
            retry_after=CONFIG_PAUSE_SECONDS,
            message_ids=sent,
            detail=detail,
        )
    return SendResult(SendStatus.TRANSIENT, message_ids=sent, detail=detail)


def bot_send_result(code: int, description: str, *, sent: tuple[str, ...] = ()) -> SendResult:
    detail = f"zalo bot {code}: {description}"[:200]
    if code == BOT_TOO_MANY:
        return SendResult(
            SendStatus.RETRY_AFTER,
            retry_after=CALL_LIMIT_PAUSE_SECONDS,
            message_ids=sent,
            detail=detail,
        )
    if code == BOT_NOT_FOUND:
        return SendResult(SendStatus.NOT_FOUND, message_ids=sent, detail=detail)
    if code == BOT_BAD_REQUEST:
        return SendResult(SendStatus.BAD_CONTENT, message_ids=sent, detail=detail)
    return SendResult(SendStatus.TRANSIENT, message_ids=sent, detail=detail)
