"""Telegram start-up and polling trouble, said in one line instead of a traceback every 2 s.

- Two processes polling one token: Telegram ends the older long poll when a newer one
  starts, so each sees ``Conflict``. The newcomer (a conflict before any of its own polls
  has completed) says so once and stops; the process that was already running logs one
  warning and carries on.
- Two webhook processes: each ``setWebhook`` re-registers the hook. A process registers
  only when ``getWebhookInfo`` shows a different address or update list, or an error that
  a new registration can fix. The address carries a short fingerprint of the secret
  (``?v=…``), so a rotated secret is a different address and is registered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from telegram.error import Conflict, InvalidToken, TelegramError

from bot.channels.telegram_http import AiohttpRequest

log = logging.getLogger(__name__)

#: Said once when a second process polls with the same token.
SECOND_POLLER: Final = (
    "another process already receives updates for this TELEGRAM_BOT_TOKEN; "
    "this one stops (run one polling process, or set PUBLIC_URL for webhooks)"
)
#: A webhook error Telegram reports that a fresh setWebhook (with our secret) repairs.
REPAIRABLE_WEBHOOK_ERRORS: Final = ("401", "403", "unauthorized", "forbidden")

Fatal = Callable[[str], None]
FINGERPRINT_HEX: Final = 8


def webhook_url(public_url: str, path: str, secret: str) -> str:
    """The hook's address, with a fingerprint of the secret (not the secret itself)."""
    fingerprint = hashlib.sha256(f"webhook:{secret}".encode()).hexdigest()[:FINGERPRINT_HEX]
    return f"{public_url.rstrip('/')}{path}?v={fingerprint}"


class CountingPollRequest(AiohttpRequest):
    """The getUpdates transport, counting the polls that completed (any HTTP answer 200)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.completed = 0

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        if status == 200:
            self.completed += 1
        return status, body


class PollingErrors:
    """PTB's ``error_callback`` for polling: one line per kind of trouble, never a traceback."""

    def __init__(self, polls: CountingPollRequest, on_fatal: Fatal | None) -> None:
        self._polls = polls
        self._on_fatal = on_fatal
        self._said: set[str] = set()

    def __call__(self, exc: TelegramError) -> None:
        if isinstance(exc, Conflict | InvalidToken) and self._polls.completed == 0:
            reason = SECOND_POLLER if isinstance(exc, Conflict) else "token refused"
            if "fatal" not in self._said:
                self._said.add("fatal")
                if self._on_fatal is not None:
                    self._on_fatal(reason)
            return
        kind = type(exc).__name__
        if kind not in self._said:  # once per kind: PTB retries every few seconds
            self._said.add(kind)
            log.warning("telegram polling: %s (retrying quietly)", kind)


def webhook_is_current(info: Any, *, url: str, allowed_updates: Sequence[str]) -> bool:
    """True when Telegram already has this hook, so another process must not re-set it."""
    if info is None or getattr(info, "url", "") != url:
        return False
    if sorted(getattr(info, "allowed_updates", None) or ()) != sorted(allowed_updates):
        return False
    error = str(getattr(info, "last_error_message", "") or "").lower()
    return not any(marker in error for marker in REPAIRABLE_WEBHOOK_ERRORS)
