"""How fast and when a channel's broadcasts go out: the pace, quiet hours, retries.

Telegram's published limits (Bot FAQ; PTB's ``FloodLimit``): about 30 messages a second in
all, at most one a second to one chat, 20 a minute to one group; 1,000 a second with paid
broadcasts (``allow_paid_broadcast``, charged in Stars). The default pace stays a little
under the limit, because the limit is not published exactly and a 429 stops the whole bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from bot.core.config import parse_quiet_hours

__all__ = ["parse_quiet_hours"]

if TYPE_CHECKING:
    from bot.core.config import Settings

TELEGRAM_LIMIT_PER_SECOND: Final = 30.0
TELEGRAM_PAID_LIMIT_PER_SECOND: Final = 1000.0
#: 20 messages a minute to one group: one every three seconds.
GROUP_INTERVAL_SECONDS: Final = 3.0
DEFAULT_RATE: Final = 28.0
#: Sends in flight at once at 30/s: enough for slow answers, never a burst.
FREE_CONCURRENCY: Final = 64
#: Sends in flight at once in paid mode. Also the most that can pile up while the platform
#: stalls and then reach it at once: with the pace 5 % under 1,000/s, more than about 50
#: arriving together cross the limit over a sliding second (429s in bench/broadcast.py at
#: 256), so a few more than 1,000/s needs at normal latency, not more.
PAID_CONCURRENCY: Final = 24
#: After a 429 at 30/s the pace drops by a tenth: at that rate a 429 means the pace is too
#: high for the platform's count. In paid mode the pace is already 5 % under 1,000/s and a
#: 429 comes from sends that arrived bunched, so a small step is enough.
FREE_SLOWDOWN: Final = 0.9
PAID_SLOWDOWN: Final = 0.97
DEFAULT_PAID_RATE: Final = 950.0
DEFAULT_QUIET_HOURS: Final = "21:00-07:00"
CENTER_ZONE: Final = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """One channel's sending rules (Zalo brings its own: windows, quotas, night rules)."""

    rate_per_second: float = DEFAULT_RATE
    group_interval_seconds: float = GROUP_INTERVAL_SECONDS
    quiet_hours: tuple[time, time] | None = (time(21), time(7))
    timezone: tzinfo = CENTER_ZONE
    #: Network errors and 5xx: attempts before the row is failed, with doubling backoff.
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    #: A claimed row is the worker's until then; afterwards (the worker died) it is due again.
    lease_seconds: float = 60.0
    #: Rows claimed at once, in seconds of sending: the most a crash can send twice.
    batch_seconds: float = 0.5
    #: Content errors in a row (bad HTML, file too big) that pause a broadcast.
    content_error_limit: int = 5
    #: How long a recipient talking to staff waits before the sender looks again.
    hold_seconds: float = 600.0
    #: Sends in flight at once (paid mode needs many; 30/s needs few).
    concurrency: int = FREE_CONCURRENCY
    #: After a 429 the pace drops to this share of itself for a while (see the sender).
    slowdown: float = FREE_SLOWDOWN
    #: Outcomes are written at least this often (and the batch's end).
    flush_seconds: float = 0.25
    poll_seconds: float = 2.0

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=1.0 / self.rate_per_second)

    @property
    def batch_size(self) -> int:
        return max(1, int(self.rate_per_second * self.batch_seconds))

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours if ``now`` falls inside them, else None."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = now.astimezone(self.timezone)
        moment = local.time()
        inside = start <= moment < end if start <= end else moment >= start or moment < end
        if not inside:
            return None
        end_day = local.date() if moment < end else local.date() + timedelta(days=1)
        return datetime.combine(end_day, end, tzinfo=self.timezone)

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.backoff_seconds * 2 ** max(attempts - 1, 0))


def policy_for(settings: Settings, channel: str) -> SendPolicy:
    """The send policy of ``channel`` from the settings (Telegram's limits for now; other
    channels plug their own in here)."""
    rate = settings.broadcast_paid_rate if settings.broadcast_paid else settings.broadcast_rate
    if channel != "telegram":
        rate = min(rate, DEFAULT_RATE)
    return SendPolicy(
        rate_per_second=rate,
        quiet_hours=parse_quiet_hours(settings.broadcast_quiet_hours),
        timezone=ZoneInfo(settings.timezone),
        max_attempts=settings.broadcast_max_attempts,
        backoff_seconds=settings.broadcast_backoff_seconds,
        lease_seconds=settings.broadcast_lease_seconds,
        content_error_limit=settings.broadcast_content_error_limit,
        concurrency=PAID_CONCURRENCY if settings.broadcast_paid else FREE_CONCURRENCY,
        slowdown=PAID_SLOWDOWN if settings.broadcast_paid else FREE_SLOWDOWN,
    )
