"""Token buckets per key, on the engine's clock: a burst, then a steady rate.

In memory, per process: a flood is stopped where it arrives; with several workers behind
a balancer each holds its own buckets, which only multiplies the allowance by the workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

#: Past this many buckets, full ones (idle long enough to refill) are forgotten.
MAX_BUCKETS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Rule:
    capacity: float
    per_second: float


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def take(self, scope: str, key: str, rule: Rule) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is free."""
        now = self._clock().timestamp()
        bucket = self._buckets.get((scope, key))
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now, rule)
            bucket = self._buckets[(scope, key)] = _Bucket(rule.capacity, now)
        elapsed = max(0.0, now - bucket.at)
        bucket.tokens = min(rule.capacity, bucket.tokens + elapsed * rule.per_second)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rule.per_second

    def _forget_full(self, now: float, rule: Rule) -> None:
        refill = rule.capacity / rule.per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < refill}
        if len(self._buckets) >= MAX_BUCKETS:  # a flood from very many addresses
            self._buckets.clear()
