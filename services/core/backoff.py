"""Exponential backoff with jitter, shared by every retry loop."""

from __future__ import annotations

import random
from datetime import timedelta


def backoff_delay(
    attempt: int,
    *,
    base: timedelta = timedelta(seconds=1),
    cap: timedelta = timedelta(minutes=5),
    rng: random.Random | None = None,
) -> timedelta:
    """Delay before retry number `attempt` (1 = first retry).

    "Equal jitter": half of the exponential step is fixed, half random, so
    delays grow (never collapse to zero) while replicas retrying the same
    failure spread out instead of hammering in lockstep.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    step = min(cap.total_seconds(), base.total_seconds() * 2 ** min(attempt - 1, 62))
    fraction = (rng or random).random()
    return timedelta(seconds=step / 2 + fraction * step / 2)
