"""Per-caller rate limits, so one caller cannot exhaust a service.

A token bucket per principal (role + subject): `rate` calls per second on
average, bursts up to `burst`. Over the limit a call gets RESOURCE_EXHAUSTED
with a RetryInfo-style hint in ErrorInfo metadata. Limits are per process: with
N replicas a caller may reach N times the rate, which is the point of scaling
out; a shared limiter would need a shared store.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from services.core.auth import Principal, Role
from services.core.errors import ResourceExhausted

# Buckets are kept for at most this many callers; the least recently seen go first.
_MAX_TRACKED_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def try_acquire(self, key: str) -> float:
        """0.0 if allowed, else the seconds until one call would be allowed."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(tokens=self.burst, updated=now)
                self._buckets[key] = bucket
                if len(self._buckets) > _MAX_TRACKED_CALLERS:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


class CallerLimits:
    """The interceptor's `before_call`: people share one limit each; services
    (our own outbox relays and constraint look-ups) get a higher one."""

    def __init__(self, people: RateLimiter, services: RateLimiter) -> None:
        self.people = people
        self.services = services

    def __call__(self, principal: Principal, method: str) -> None:
        limiter = self.services if principal.role is Role.SERVICE else self.people
        wait = limiter.try_acquire(f"{principal.role.value}:{principal.subject}")
        if wait > 0:
            raise ResourceExhausted(
                "too many requests from this caller; slow down",
                reason="RATE_LIMITED",
                metadata={"retry_after_ms": str(max(1, round(wait * 1000)))},
            )
