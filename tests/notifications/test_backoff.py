"""The retry schedule: bounded, growing, jitter within bounds, gives up at the limit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.backoff import RetryPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
policies = st.builds(
    RetryPolicy,
    base=st.integers(1, 120).map(lambda s: timedelta(seconds=s)),
    cap=st.integers(120, 7200).map(lambda s: timedelta(seconds=s)),
    max_attempts=st.integers(1, 30),
)


@given(policy=policies, seed=st.integers(0, 2**32), failures=st.integers(1, 200))
def test_delay_is_within_jitter_bounds_and_cap(policy: RetryPolicy, seed: int, failures: int) -> None:
    at = policy.next_attempt(failures, NOW, random.Random(seed))
    if failures >= policy.max_attempts:
        assert at is None
        return
    assert at is not None
    step = min(policy.cap, policy.base * 2 ** (failures - 1))
    assert step / 2 <= at - NOW <= step <= policy.cap


@given(policy=policies, seed=st.integers(0, 2**32))
def test_delays_never_shrink_until_the_cap(policy: RetryPolicy, seed: int) -> None:
    rng = random.Random(seed)
    previous = timedelta(0)
    for failures in range(1, policy.max_attempts):
        at = policy.next_attempt(failures, NOW, rng)
        assert at is not None
        delay = at - NOW
        if policy.base * 2 ** (failures - 1) <= policy.cap:
            assert delay >= previous
        previous = delay


@given(policy=policies)
def test_gives_up_exactly_at_the_limit(policy: RetryPolicy) -> None:
    rng = random.Random(0)
    tries = [policy.next_attempt(n, NOW, rng) for n in range(1, policy.max_attempts + 1)]
    assert all(t is not None for t in tries[:-1]) and tries[-1] is None


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base=timedelta(0))
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy().next_attempt(0, NOW, random.Random(0))
