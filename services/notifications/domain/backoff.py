"""When to try a failed send again, and when to give up.

The delay itself is the shared `services.core.backoff.backoff_delay` (exponential with
"equal jitter": half fixed, half random, so retries after an SMTP outage spread out yet keep
growing). This module adds the notifications policy: its base, cap and attempt limit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.core.backoff import backoff_delay


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    # Attempts in all, the first included; after the last failure a delivery is FAILED.
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if not (timedelta(0) < self.base <= self.cap) or self.max_attempts < 1:
            raise ValueError("need 0 < base <= cap and max_attempts >= 1")

    def next_attempt(self, failures: int, now: datetime, rng: random.Random) -> datetime | None:
        """When to try again after `failures` (>= 1) failed attempts, or None: give up."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        if failures >= self.max_attempts:
            return None
        return now + backoff_delay(failures, base=self.base, cap=self.cap, rng=rng)
