"""How plans are ranked. Higher is better; the best possible plan scores 100.

    score = 40 * earliness + 25 * days + 15 * load_balance + 10 * travel + 10 * preferred_hours

Each part lies in [0, 1] and is returned by name in `Plan.score_breakdown`:

- earliness = 1 / (1 + d), d = days (fractional) from the earliest instant the search could
  use (the window start, or now + minimum notice if later) to the loop's first session. A day
  later halves it, a further day costs less: what matters most is not making the candidate wait.
- days = 1 / number of candidate-local dates the loop spans (one day beats two).
- load_balance = mean over the plan's interviewers of 1 / (1 + w), w = interviews they already
  have that ISO week (their zone): less-loaded interviewers are preferred.
- travel = mean over consecutive same-day onsite sessions of 1 (same room), 0.5 (another room
  with the same location hint), 0 (elsewhere); 1 when remote or with nothing to walk between.
- preferred_hours = share of session minutes inside the candidate's preferred hours
  (candidate zone); 1 when the candidate stated none.

Because only earliness depends on the start time, and it falls as the start moves later, the
search can stop scanning once `upper_bound(start, days)` cannot beat the plans already held.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from services.scheduling.domain.timeutil import Interval

_AFTER_ALL = float("inf")  # sorts after any interval end, for bisecting on starts

WEIGHTS = {
    "earliness": 40.0,
    "days": 25.0,
    "load_balance": 15.0,
    "travel": 10.0,
    "preferred_hours": 10.0,
}
MINUTES_PER_DAY = 1440


def earliness(first_start: int, earliest: int) -> float:
    return 1.0 / (1.0 + max(0, first_start - earliest) / MINUTES_PER_DAY)


def days_part(days: int) -> float:
    return 1.0 / max(1, days)


def load_part(week_loads: Sequence[int]) -> float:
    if not week_loads:
        return 1.0
    return sum(1.0 / (1 + w) for w in week_loads) / len(week_loads)


def travel_part(pairs: Sequence[tuple[str | None, str, str | None, str]]) -> float:
    """`pairs`: consecutive same-day sessions as (room, hint, next room, next hint)."""
    if not pairs:
        return 1.0
    total = 0.0
    for room, hint, next_room, next_hint in pairs:
        if room is None or room == next_room:
            total += 1.0
        elif hint and hint == next_hint:
            total += 0.5
    return total / len(pairs)


def preferred_part(sessions: Sequence[Interval], preferred: Sequence[Interval] | None) -> float:
    """`preferred`: the candidate's preferred hours expanded to UTC over the plan's dates.

    Runs for every layout the search reads, hence a bisect per session rather than a merge
    over every day of the window.
    """
    if preferred is None:
        return 1.0
    total = inside = 0
    for start, end in sessions:
        total += end - start
        i = max(0, bisect_right(preferred, (start, _AFTER_ALL)) - 1)
        while i < len(preferred) and preferred[i][0] < end:
            low, high = preferred[i]
            if high > start:
                inside += min(end, high) - max(start, low)
            i += 1
    return inside / total if total else 1.0


def combine(parts: dict[str, float]) -> float:
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()), 6)


def upper_bound(
    first_start: int, earliest: int, days: int, travel: float = 1.0, preferred: float = 1.0
) -> float:
    """The best score a plan starting at `first_start` over `days` days could reach.

    `travel` and `preferred` default to their maximum; pass the exact values once the
    session times (preferred) or the rooms (travel) are known, for a tighter bound.
    """
    return (
        WEIGHTS["earliness"] * earliness(first_start, earliest)
        + WEIGHTS["days"] * days_part(days)
        + WEIGHTS["load_balance"]
        + WEIGHTS["travel"] * travel
        + WEIGHTS["preferred_hours"] * preferred
    )
